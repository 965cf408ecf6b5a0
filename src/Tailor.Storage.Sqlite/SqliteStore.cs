using System.Globalization;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Tailor.Storage.Sqlite;

/// <summary>
/// The embedded backend: two SQLite files in WAL mode, the log's (<c>tailor.db</c>, <c>synchronous=FULL</c>,
/// so a committed transaction is on disk) and the profile tables' written behind it
/// (<c>tailor-profiles.db</c>, attached to every connection). Batches are committed by one writer
/// connection, the write-behind by another; reads use pooled connections and see committed data only.
/// </summary>
public sealed partial class SqliteStore : IAccountStore, IEventStore, IProfileStore, IDisposable
{
    private readonly string _connectionString;
    private readonly SqliteConnection _writer;
    private readonly Lock _writerLock = new();
    private readonly Action<Exception>? _writeBehindFailed;

    /// <param name="walRestartFrames">WAL size (in frames of one page) from which <see cref="Maintain"/> makes the WAL start over.</param>
    /// <param name="writeBehindAfter">How long committed changes may wait to be written into the profile tables (<see cref="DefaultWriteBehindAfter"/>).</param>
    /// <param name="writeBehindFailed">Told, on the write-behind's thread, of each background write-behind that failed (it is tried again one window later).</param>
    public SqliteStore(string path, int walRestartFrames = DefaultWalRestartFrames, TimeSpan? writeBehindAfter = null, Action<Exception>? writeBehindFailed = null)
    {
        _writeBehindFailed = writeBehindFailed;
        Path = path;
        ProfilesPath = ProfilesPathOf(path);
        _walRestartFrames = walRestartFrames;
        WriteBehindAfter = writeBehindAfter ?? DefaultWriteBehindAfter;
        // Readers: pooled, waiting up to 30 s on a lock (DefaultTimeout), nothing to set per open.
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true, DefaultTimeout = 30, ForeignKeys = true }.ToString();
        _hotReaders = new ThreadLocal<ReaderStatements>(() => new ReaderStatements(Open()), trackAllValues: true);
        _writer = Open();
        try
        {
            Execute(_writer, $"PRAGMA synchronous=FULL; PRAGMA {ProfileStore}.synchronous=FULL;");
            Execute(_writer, "PRAGMA journal_mode=WAL;");
            // Checkpoints run beside the writer (Checkpoint), not inside its commits.
            Execute(_writer, "PRAGMA wal_autocheckpoint=0;");
            // The batch's BEGIN runs through the C API (RawStatement), without Microsoft.Data.Sqlite's retries:
            // SQLite itself waits up to 30 s for a write lock held elsewhere (another process on the file).
            Execute(_writer, "PRAGMA busy_timeout=30000;");
            // The log writer's page cache. Its commits append (events, pending rows, their indexes' right
            // edges) and delete pending rows from the front: a few hot pages. Not larger: a commit after a
            // B-tree page split walks the whole cache's hash table (SQLite's balance_nonroot moves pages
            // through a temporary number past the end of the file, and pager_end_transaction truncates the
            // cache back), 8.6% of the writer thread's samples with 32 MiB.
            Execute(_writer, $"PRAGMA cache_size=-{LogWriterCacheKiB};");
            PairFiles(path, migrated: Migrate(path));
            _statements = new BatchStatements(_writer);
            _behind = Open();
            // Its transactions are not synced at their commits; its WAL is, before each checkpoint (CheckpointProfileStore).
            Execute(_behind, $"PRAGMA {ProfileStore}.synchronous=NORMAL; PRAGMA wal_autocheckpoint=0; PRAGMA busy_timeout=30000; PRAGMA {ProfileStore}.cache_size=-{WriteBehindCacheKiB};");
            _behindStatements = new ProfileTableStatements(_behind);
            StartWriteBehind();
        }
        catch
        {
            // A store that refuses its files (or fails to open them) leaves no connection open: one dropped
            // unclosed stays with the pool as it was, its file open, perhaps inside a migration's transaction.
            _behindStatements?.Dispose();
            _behind?.Dispose();
            _statements?.Dispose();
            _writer.Dispose();
            throw;
        }
    }

    /// <summary>Brings the files to <see cref="Schema.Version"/>; true when the profile file was made now from the tables inside the log's (version 2).</summary>
    private bool Migrate(string path)
    {
        Execute(_writer, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);");
        using var version = _writer.CreateCommand();
        version.CommandText = "SELECT version FROM schema_version";
        var existing = version.ExecuteScalar();
        if (existing is null)
        {
            // Refused before anything is created, so that a second start refuses too (PairFiles).
            using (var paired = Command(_writer, $"SELECT 1 FROM {ProfileStore}.sqlite_master WHERE name = 'store_pair'"))
                if (paired.ExecuteScalar() is not null && PairOf(ProfileStore) is not null)
                    throw new InvalidOperationException($"{path} is new, but {ProfilesPath} beside it holds another store's profiles: restore both files from the same backup, or move {ProfilesPath} away to start empty.");
            Execute(_writer, Schema.Create);
            Execute(_writer, Schema.ProfileTables);
            Execute(_writer, $"INSERT INTO schema_version VALUES ({Schema.Version})");
            return false;
        }
        var found = Convert.ToInt32(existing, CultureInfo.InvariantCulture);
        if (found == 1)
        {
            Write((c, _) =>
            {
                Execute(c, Schema.Version1To2);
                Execute(c, Schema.Version2);
                Execute(c, "UPDATE schema_version SET version = 2");
                return 0;
            });
            found = 2;
        }
        var migrated = found == 2;
        if (found == 2)
        {
            MoveProfileTables();
            found = 3;
        }
        if (found == 3)
        {
            GatherLookupKeys();
            found = 4;
        }
        if (found != Schema.Version)
            throw new InvalidOperationException($"{path} has schema version {existing}; this build reads version {Schema.Version}");
        // Tables added within the version (all CREATE ... IF NOT EXISTS).
        Execute(_writer, Schema.Version2);
        Execute(_writer, Schema.ProfileTables);
        return migrated;
    }

    /// <summary>
    /// Version 3 to 4: a profile's lookup keys gathered into one row (<see cref="Schema.Version3To4"/>),
    /// committed in the profile file first, then the version raised: a crash between the two leaves a
    /// version 3 file whose old table is gone, and the next open only raises the version.
    /// </summary>
    private void GatherLookupKeys()
    {
        Execute(_writer, Schema.ProfileTables);
        using (var exists = Command(_writer, $"SELECT 1 FROM {ProfileStore}.sqlite_master WHERE type = 'table' AND name = 'lookup_keys'"))
            if (exists.ExecuteScalar() is not null)
                Write((c, _) =>
                {
                    Execute(c, Schema.Version3To4);
                    return 0;
                });
        Write((c, _) =>
        {
            Execute(c, "UPDATE schema_version SET version = 4");
            return 0;
        });
    }

    private byte[]? PairOf(string schema)
    {
        using var read = Command(_writer, $"SELECT pair FROM {schema}.store_pair WHERE id = 1");
        return read.ExecuteScalar() as byte[];
    }

    /// <summary>
    /// The two files are one store: both hold the same random id, written into the profile file first
    /// (so a crash in between leaves the log's file without it, which the next open completes). A
    /// profile file beside a log it does not belong to would mix two stores' profiles (another server's,
    /// or a fresh <c>tailor.db</c> whose new accounts would take the old ones' numbers): refused, as is
    /// a missing profile file beside a log that wrote into one. Files made before the pairing get a new id.
    /// </summary>
    private void PairFiles(string path, bool migrated)
    {
        void WritePair(string schema, byte[] pair)
        {
            using var write = Command(_writer, $"INSERT OR REPLACE INTO {schema}.store_pair (id, pair) VALUES (1, $p)", ("$p", pair));
            write.ExecuteNonQuery();
        }
        var (log, profiles) = (PairOf("main"), PairOf(ProfileStore));
        switch (log, profiles)
        {
            case ({ } a, { } b) when a.AsSpan().SequenceEqual(b):
                return;
            case ({ }, { }):
                throw new InvalidOperationException($"{ProfilesPath} belongs to another store than {path}: restore both files from the same backup (docs/operations.md).");
            case (null, { } existing):
                WritePair("main", existing);
                return;
            case ({ } existing, null) when migrated:
                WritePair(ProfileStore, existing);
                return;
            case ({ }, null):
                throw new InvalidOperationException($"{ProfilesPath} is missing or new, but {path} wrote profiles into one: restore both files from the same backup (docs/operations.md).");
            default:
                var pair = Guid.NewGuid().ToByteArray();
                WritePair(ProfileStore, pair);
                WritePair("main", pair);
                return;
        }
    }

    /// <summary>
    /// Version 2 to 3: the profile tables move from the log's file into their own. The copy is committed
    /// in the new file first, then the old tables are dropped with the version raised: a crash between
    /// the two leaves a version 2 file, and the next open copies again over what it had copied.
    /// </summary>
    private void MoveProfileTables()
    {
        Execute(_writer, Schema.ProfileTables);
        Execute(_writer, Schema.Version3LookupKeys);
        string[] tables = ["profiles", "identities", "aliases", "lookup_keys"];
        var existing = tables.Where(table =>
        {
            using var exists = Command(_writer, "SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = $n", ("$n", table));
            return exists.ExecuteScalar() is not null;
        }).ToList();
        Write((c, _) =>
        {
            foreach (var table in existing)
                Execute(c, $"DELETE FROM {ProfileStore}.{table}; INSERT INTO {ProfileStore}.{table} SELECT * FROM main.{table};");
            return 0;
        });
        Write((c, _) =>
        {
            foreach (var table in existing) Execute(c, $"DROP TABLE main.{table}");
            Execute(c, "UPDATE schema_version SET version = 3");
            return 0;
        });
    }

    public string Path { get; }

    public const int LogWriterCacheKiB = 4 * 1024;

    /// <summary>The write-behind's page cache: the profile tables' interior pages, which every slice walks.</summary>
    public const int WriteBehindCacheKiB = 32 * 1024;

    /// <summary>
    /// Held while a pooled connection is taken from Microsoft.Data.Sqlite's pool. Two callers opening at
    /// the same moment could be lent the same connection (dotnet/efcore#39008, in the 10.0 packages:
    /// the pool publishes a connection as active before naming its new owner, and a concurrent checkout
    /// reclaims it as leaked); the second one's read transaction then failed to begin. The pool is the
    /// process's, hence one lock for every store. An open from the pool takes microseconds, and the
    /// calls' hot reads use connections opened once per thread.
    /// </summary>
    private static readonly Lock PoolCheckout = new();

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        lock (PoolCheckout) connection.Open();
        // Pooled connections come back with it attached already.
        if (raw.sqlite3_db_filename(connection.Handle, ProfileStore).utf8_to_string() is null)
        {
            using var attach = connection.CreateCommand();
            attach.CommandText = $"ATTACH DATABASE $file AS {ProfileStore}";
            attach.Parameters.AddWithValue("$file", ProfilesPath);
            attach.ExecuteNonQuery();
        }
        return connection;
    }

    /// <summary>The schema name of the profile tables' file on every connection.</summary>
    private const string ProfileStore = "profile_store";

    /// <summary>The file of the tables written behind the log: <c>tailor.db</c> → <c>tailor-profiles.db</c>.</summary>
    public static string ProfilesPathOf(string path) =>
        System.IO.Path.Combine(System.IO.Path.GetDirectoryName(path) ?? "", System.IO.Path.GetFileNameWithoutExtension(path) + "-profiles.db");

    public string ProfilesPath { get; }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static SqliteCommand Command(SqliteConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return command;
    }

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    private static DateTimeOffset Time(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);
    private static byte[] Bytes(Guid id) => id.ToByteArray(bigEndian: true);
    private static Guid Id(SqliteDataReader r, int i) => new((byte[])r[i], bigEndian: true);

    private async Task<T> ReadAsync<T>(string sql, Func<SqliteDataReader, T> map, CancellationToken cancellationToken, params (string, object?)[] parameters)
    {
        await using var connection = Open();
        await using var command = Command(connection, sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return map(reader);
    }

    private static List<T> All<T>(SqliteDataReader reader, Func<SqliteDataReader, T> row)
    {
        var list = new List<T>();
        while (reader.Read()) list.Add(row(reader));
        return list;
    }

    /// <summary>Runs a small write on the writer connection (admin changes are rare and tiny).</summary>
    private T Write<T>(Func<SqliteConnection, SqliteTransaction, T> work)
    {
        lock (_writerLock)
        {
            using var transaction = _writer.BeginTransaction();
            var result = work(_writer, transaction);
            transaction.Commit();
            return result;
        }
    }

    // ---- accounts, keys, tokens, configuration --------------------------------------------------

    public Task<AccountRecord> CreateAccountAsync(string name, CancellationToken cancellationToken = default) => Task.FromResult(Write((c, t) =>
    {
        var now = Now();
        using var command = Command(c, "INSERT INTO accounts (name, created_at) VALUES ($name, $now) RETURNING id", ("$name", name), ("$now", now));
        command.Transaction = t;
        return new AccountRecord((long)command.ExecuteScalar()!, name, Time(now));
    }));

    public Task<IReadOnlyList<AccountRecord>> ListAccountsAsync(CancellationToken cancellationToken = default) =>
        ReadAsync<IReadOnlyList<AccountRecord>>("SELECT id, name, created_at FROM accounts ORDER BY id",
            r => All(r, x => new AccountRecord(x.GetInt64(0), x.GetString(1), Time(x.GetInt64(2)))), cancellationToken);

    public Task<ApiKeyRecord> AddKeyAsync(long accountId, KeyKind kind, string label, byte[] hash, LookupGrant? grant = null, CancellationToken cancellationToken = default) => Task.FromResult(Write((c, t) =>
    {
        var now = Now();
        using var command = Command(c, "INSERT INTO api_keys (account_id, kind, label, hash, created_at, lookup_grant) VALUES ($a, $k, $l, $h, $now, $g) RETURNING id",
            ("$a", accountId), ("$k", kind.ToString().ToLowerInvariant()), ("$l", label), ("$h", hash), ("$now", now), ("$g", GrantJson.Write(grant)));
        command.Transaction = t;
        return new ApiKeyRecord((long)command.ExecuteScalar()!, accountId, kind, label, hash, Time(now), null) { Grant = grant };
    }));

    public Task<bool> SetKeyGrantAsync(long accountId, long keyId, LookupGrant? grant, CancellationToken cancellationToken = default) => Task.FromResult(Write((c, t) =>
    {
        using var command = Command(c, "UPDATE api_keys SET lookup_grant = $g WHERE id = $id AND account_id = $a AND revoked_at IS NULL", ("$g", GrantJson.Write(grant)), ("$id", keyId), ("$a", accountId));
        command.Transaction = t;
        return command.ExecuteNonQuery() == 1;
    }));

    public Task<IReadOnlyList<ApiKeyRecord>> ListKeysAsync(long? accountId = null, CancellationToken cancellationToken = default) =>
        ReadAsync<IReadOnlyList<ApiKeyRecord>>("SELECT id, account_id, kind, label, hash, created_at, revoked_at, lookup_grant FROM api_keys WHERE $a IS NULL OR account_id = $a ORDER BY id",
            r => All(r, x => new ApiKeyRecord(x.GetInt64(0), x.GetInt64(1), Enum.Parse<KeyKind>(x.GetString(2), ignoreCase: true), x.GetString(3), (byte[])x[4],
                Time(x.GetInt64(5)), x.IsDBNull(6) ? null : Time(x.GetInt64(6)))
            { Grant = x.IsDBNull(7) ? null : GrantJson.Read(x.GetString(7)) }), cancellationToken, ("$a", accountId));

    public Task<bool> RevokeKeyAsync(long accountId, long keyId, CancellationToken cancellationToken = default) => Task.FromResult(Write((c, t) =>
    {
        using var command = Command(c, "UPDATE api_keys SET revoked_at = $now WHERE id = $id AND account_id = $a AND revoked_at IS NULL", ("$now", Now()), ("$id", keyId), ("$a", accountId));
        command.Transaction = t;
        return command.ExecuteNonQuery() == 1;
    }));

    public Task<TokenRecord> AddTokenAsync(long accountId, string service, string name, byte[] hash, CancellationToken cancellationToken = default) => Task.FromResult(Write((c, t) =>
    {
        var now = Now();
        using var command = Command(c, "INSERT INTO tokens (account_id, service, name, hash, created_at) VALUES ($a, $s, $n, $h, $now) RETURNING instance_id",
            ("$a", accountId), ("$s", service), ("$n", name), ("$h", hash), ("$now", now));
        command.Transaction = t;
        return new TokenRecord((long)command.ExecuteScalar()!, accountId, service, name, hash, Time(now), null);
    }));

    public Task<IReadOnlyList<TokenRecord>> ListTokensAsync(long? accountId = null, CancellationToken cancellationToken = default) =>
        ReadAsync<IReadOnlyList<TokenRecord>>("SELECT instance_id, account_id, service, name, hash, created_at, revoked_at FROM tokens WHERE $a IS NULL OR account_id = $a ORDER BY instance_id",
            r => All(r, x => new TokenRecord(x.GetInt64(0), x.GetInt64(1), x.GetString(2), x.GetString(3), (byte[])x[4], Time(x.GetInt64(5)), x.IsDBNull(6) ? null : Time(x.GetInt64(6)))),
            cancellationToken, ("$a", accountId));

    public Task<bool> RevokeTokenAsync(long accountId, long instanceId, CancellationToken cancellationToken = default) => Task.FromResult(Write((c, t) =>
    {
        using var command = Command(c, "UPDATE tokens SET revoked_at = $now WHERE instance_id = $id AND account_id = $a AND revoked_at IS NULL", ("$now", Now()), ("$id", instanceId), ("$a", accountId));
        command.Transaction = t;
        return command.ExecuteNonQuery() == 1;
    }));

    public Task<ConfigVersionRecord> SaveConfigAsync(long accountId, string text, string format, CancellationToken cancellationToken = default) => Task.FromResult(Write((c, t) =>
    {
        var now = Now();
        using var command = Command(c, """
            INSERT INTO config_versions (account_id, version, format, text, created_at)
            VALUES ($a, (SELECT COALESCE(MAX(version), 0) + 1 FROM config_versions WHERE account_id = $a), $f, $t, $now) RETURNING version
            """, ("$a", accountId), ("$f", format), ("$t", text), ("$now", now));
        command.Transaction = t;
        return new ConfigVersionRecord(accountId, Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture), text, format, Time(now));
    }));

    public Task<ConfigVersionRecord?> GetConfigAsync(long accountId, int? version = null, CancellationToken cancellationToken = default) =>
        ReadAsync("""
            SELECT account_id, version, text, format, created_at FROM config_versions
            WHERE account_id = $a AND ($v IS NULL OR version = $v) ORDER BY version DESC LIMIT 1
            """, r => r.Read() ? new ConfigVersionRecord(r.GetInt64(0), r.GetInt32(1), r.GetString(2), r.GetString(3), Time(r.GetInt64(4))) : null,
            cancellationToken, ("$a", accountId), ("$v", version));

    public Task<IReadOnlyList<ConfigVersionRecord>> ListConfigVersionsAsync(long accountId, CancellationToken cancellationToken = default) =>
        ReadAsync<IReadOnlyList<ConfigVersionRecord>>("SELECT account_id, version, text, format, created_at FROM config_versions WHERE account_id = $a ORDER BY version",
            r => All(r, x => new ConfigVersionRecord(x.GetInt64(0), x.GetInt32(1), x.GetString(2), x.GetString(3), Time(x.GetInt64(4)))), cancellationToken, ("$a", accountId));

    public Task<AuditRecord> AppendAuditAsync(long accountId, string actor, string action, string detail, CancellationToken cancellationToken = default) => Task.FromResult(Write((c, t) =>
    {
        var now = Now();
        using var command = Command(c, "INSERT INTO audit_log (account_id, at, actor, action, detail) VALUES ($a, $at, $actor, $action, $detail) RETURNING id",
            ("$a", accountId), ("$at", now), ("$actor", actor), ("$action", action), ("$detail", detail));
        command.Transaction = t;
        return new AuditRecord((long)command.ExecuteScalar()!, accountId, Time(now), actor, action, detail);
    }));

    public Task<IReadOnlyList<AuditRecord>> ListAuditAsync(long accountId, long afterId, int limit, CancellationToken cancellationToken = default) =>
        ReadAsync<IReadOnlyList<AuditRecord>>("SELECT id, account_id, at, actor, action, detail FROM audit_log WHERE account_id = $a AND id > $after ORDER BY id LIMIT $limit",
            r => All(r, x => new AuditRecord(x.GetInt64(0), x.GetInt64(1), Time(x.GetInt64(2)), x.GetString(3), x.GetString(4), x.GetString(5))),
            cancellationToken, ("$a", accountId), ("$after", afterId), ("$limit", limit));

    public Task<IReadOnlyList<UsageRecord>> LoadUsageAsync(CancellationToken cancellationToken = default) =>
        ReadAsync<IReadOnlyList<UsageRecord>>("SELECT key_id, period, records FROM key_usage",
            r => All(r, x => new UsageRecord(x.GetInt64(0), x.GetString(1), x.GetInt64(2))), cancellationToken);

    public Task SaveUsageAsync(IReadOnlyList<UsageRecord> usage, CancellationToken cancellationToken = default)
    {
        if (usage.Count == 0) return Task.CompletedTask;
        Write((c, t) =>
        {
            using var command = Command(c, "INSERT OR REPLACE INTO key_usage (key_id, period, records) VALUES ($k, $p, $r)", ("$k", 0L), ("$p", ""), ("$r", 0L));
            command.Transaction = t;
            foreach (var record in usage)
            {
                command.Parameters[0].Value = record.KeyId;
                command.Parameters[1].Value = record.Period;
                command.Parameters[2].Value = record.Records;
                command.ExecuteNonQuery();
            }
            return 0;
        });
        return Task.CompletedTask;
    }

    // ---- event log --------------------------------------------------------------------------------

    public Task<long> LastSeqAsync(CancellationToken cancellationToken = default) =>
        ReadAsync("SELECT MAX(COALESCE((SELECT MAX(seq) FROM events), 0), COALESCE((SELECT last_seq FROM log_state), 0))", r => r.Read() ? r.GetInt64(0) : 0, cancellationToken);

    /// <summary>Commits of the log waiting for the writer lock, which the write-behind's deletions hand over to them (<see cref="LetWaitingCommitsIn"/>).</summary>
    private int _commitsWaiting;

    public int CommitBatch(IReadOnlyList<WriteItem> items, long firstSeq)
    {
        Interlocked.Increment(ref _commitsWaiting);
        lock (_writerLock)
        {
            Interlocked.Decrement(ref _commitsWaiting);
            var statements = _statements;
            // The transaction through the C API too: Microsoft.Data.Sqlite's makes a command, a reader and
            // their statements for BEGIN and COMMIT, on every batch.
            PagesWrittenSinceLastAsked(_writer); // (what the connection wrote for anything else, admin writes, is not the batch's)
            statements.Transaction.Run((this, statements, items, firstSeq), static a => a.Item1.WriteBatch(a.statements, a.items, a.firstSeq));
            _pending.Add(items, firstSeq);
            return PagesWrittenSinceLastAsked(_writer);
        }
    }

    /// <summary>The pages a writing connection's cache wrote out (to its WALs) since the last time it was asked.</summary>
    private static int PagesWrittenSinceLastAsked(SqliteConnection connection)
    {
        var ok = raw.sqlite3_db_status(connection.Handle, raw.SQLITE_DBSTATUS_CACHE_WRITE, out var written, out _, 1);
        return ok == raw.SQLITE_OK ? written : 0;
    }

    /// <summary>The batch's events and its changes' pending rows (the profile tables get them later, <see cref="WriteBehind"/>).</summary>
    private void WriteBatch(BatchStatements statements, IReadOnlyList<WriteItem> items, long firstSeq)
    {
        var seq = firstSeq;
        var lastWithoutEvent = 0L;
        Span<byte> madeUuid = stackalloc byte[36];
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            var account = item.Scope.AccountId;
            var audience = item.Scope.Audience;
            var profileId = item.ProfileId;
            if (item.Body is null) lastWithoutEvent = seq;
            else
            {
                var insert = statements.InsertEvent.Bind(1, seq).Bind(2, account).Bind(3, item.Database).Bind(4, item.Table)
                    .Bind(6, item.ClientUuid ? 1 : 0).Bind(7, item.Time).Bind(8, audience).Bind(9, profileId).BindText(10, item.Body.Value.Span);
                if (item.Uuid.Length > 0) insert.Bind(5, item.Uuid);
                else insert.BindText(5, madeUuid[..(item.MadeUuid.TryFormat(madeUuid, out var length) ? length : 0)]);
                insert.Run();
            }
            var pending = statements.InsertPending.Bind(1, seq).Bind(2, account).Bind(3, audience).Bind(4, profileId).BindBlob(5, item.Snapshot.Span);
            if (ChangeEffects.Any(item))
            {
                _effects.ResetWrittenCount();
                ChangeEffects.Encode(item, _effects);
                pending.BindBlob(6, _effects.WrittenSpan);
            }
            else pending.BindNull(6);
            pending.Run();
            seq++;
        }
        if (lastWithoutEvent > 0) statements.SetLastSeq.Bind(1, lastWithoutEvent).Run();
    }

    /// <summary>Prepared once the schema is there (the log's writer and the write-behind thread share them, under the writer lock).</summary>
    private readonly BatchStatements _statements;

    /// <summary>The writer's buffer for a change's encoded effects (used under the writer lock).</summary>
    private readonly System.Buffers.ArrayBufferWriter<byte> _effects = new(256);

    private const string PendingSnapshotSql = "SELECT snapshot FROM pending_changes WHERE seq = ?1";

    /// <summary>The log's statements, prepared once for the writer connection's lifetime.</summary>
    private sealed class BatchStatements(SqliteConnection connection) : IDisposable
    {
        public RawStatement InsertEvent { get; } = new(connection,
            "INSERT INTO events (seq, account_id, db, tbl, uuid, client_uuid, time, audience, profile_id, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
        public RawStatement InsertPending { get; } = new(connection,
            "INSERT INTO pending_changes (seq, account_id, audience, profile_id, snapshot, effects) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
        public RawStatement DeletePending { get; } = new(connection, "DELETE FROM pending_changes WHERE seq <= ?1");
        public RawStatement SetLastSeq { get; } = new(connection,
            "INSERT OR REPLACE INTO log_state (id, last_seq) VALUES (1, ?1)");
        public RawStatement SyncOff { get; } = new(connection, "PRAGMA main.synchronous=OFF");
        public RawStatement SyncFull { get; } = new(connection, "PRAGMA main.synchronous=FULL");
        public TransactionStatements Transaction { get; } = new(connection);

        public void Dispose()
        {
            foreach (var statement in (RawStatement[])[InsertEvent, InsertPending, DeletePending, SetLastSeq, SyncOff, SyncFull]) statement.Dispose();
            Transaction.Dispose();
        }
    }

    /// <summary>
    /// BEGIN, COMMIT and ROLLBACK through the C API (Microsoft.Data.Sqlite's transaction makes a command,
    /// a reader and their statements for each). Not BEGIN IMMEDIATE, which takes the write lock of every
    /// attached file: the log's commits and the write-behind's slices would wait for each other. Each
    /// file's lock is taken by the first statement that writes it.
    /// </summary>
    private sealed class TransactionStatements(SqliteConnection connection) : IDisposable
    {
        private readonly RawStatement _begin = new(connection, "BEGIN");
        private readonly RawStatement _commit = new(connection, "COMMIT");
        private readonly RawStatement _rollback = new(connection, "ROLLBACK");

        /// <summary>Runs <paramref name="write"/> in one transaction, rolled back if it throws.</summary>
        public void Run<TArg>(TArg arg, Action<TArg> write)
        {
            _begin.Run();
            try
            {
                write(arg);
                _commit.Run();
            }
            catch
            {
                if (raw.sqlite3_get_autocommit(connection.Handle) == 0) _rollback.Run();
                throw;
            }
        }

        public void Dispose()
        {
            _begin.Dispose();
            _commit.Dispose();
            _rollback.Dispose();
        }
    }

    /// <summary>
    /// Moves committed WAL pages into the database file (PASSIVE checkpoints on its own connection,
    /// beside the writer). Under sustained load a checkpoint never catches up with the writer, and
    /// SQLite starts the WAL over only when a write transaction begins with every frame copied: left
    /// alone, the WAL grows for as long as the load lasts (gigabytes in a few minutes), and every commit
    /// extends the file (new blocks, zeroed by the file system: a tenth of the server's CPU under load).
    /// So once the WAL passes the size given to the constructor, the checkpoint catches up in passes while
    /// the writer goes on, writes the database file's pages back, then copies the last frames with the
    /// writer held between two batches; the writer's next transaction then writes the WAL from its start
    /// again. Below that size, each pass is followed by the write-back of the pages it copied, so that
    /// it is spread over the passes instead of waiting for the restart.
    /// </summary>
    public void Maintain()
    {
        if (Interlocked.Exchange(ref _maintaining, 1) == 1) return;
        try
        {
            using var connection = Open();
            var (frames, copied) = Checkpoint(connection);
            if (frames < _walRestartFrames)
            {
                // SQLite syncs the database file only after a pass that copied the whole WAL, which under
                // load never happens: the copied pages would stay dirty until the restart and then be
                // written all at once (~100 MB of scattered pages at 3,000 calls/s), with the log's commits
                // queued behind them. Written back after each pass, they go to disk a second's worth at a
                // time. This paces the writeback; durability does not depend on it.
                if (copied != _writtenBackCopied) WriteBack(connection);
                _writtenBackCopied = copied;
                return;
            }
            // The pass that completes a checkpoint syncs the database file, and with it every page the
            // passes before it copied (they do not sync it). So the pages are written back first, and
            // the frames the writer added meanwhile copied and written back in turn, until a write-back
            // lets only a few frames in: the writer is then held for those few frames' pages. When a
            // write-back lets in as many frames as the one before it (a disk at its limit), or the WAL
            // has doubled past the restart size, it stops there: more passes would only let the WAL grow.
            var added = long.MaxValue;
            for (var pass = 0; pass < 8; pass++)
            {
                WriteBack(connection);
                var (now, _) = Checkpoint(connection);
                var before = added;
                added = now - frames;
                frames = now;
                if (added < CatchUpFrames || added >= before || frames >= 2L * _walRestartFrames) break;
            }
            WriteBack(connection);
            lock (_writerLock) Checkpoint(connection);
        }
        finally
        {
            Volatile.Write(ref _maintaining, 0);
        }
    }

    /// <summary>
    /// 256 MiB of 4 KiB pages: at 4,200 calls/s the writer is held (12–30 ms on the development machine,
    /// 2–6 ms at 1,600/s) about once every five seconds. A restart after a crash reads about this much WAL:
    /// the WAL keeps growing while a restart's passes run, which stop once it has doubled.
    /// </summary>
    public const int DefaultWalRestartFrames = 64 * 1024;

    private readonly int _walRestartFrames;

    /// <summary>A pass that found fewer new frames than this is close enough to hold the writer for the rest.</summary>
    private const int CatchUpFrames = 256;

    private int _maintaining;

    /// <summary>The copied-frame count at the last pass, whose pages are written back.</summary>
    private long _writtenBackCopied;

    /// <summary>
    /// Writes the database file's dirty pages to the disk, one slice of the file at a time, each written
    /// and waited for before the next (Linux's <c>sync_file_range</c>). Every commit of the log ends with
    /// an fsync, which on a disk with a write cache flushes that cache whole: one fsync of the database
    /// file after a pass puts a second's worth of scattered pages (tens of MB) ahead of the commits that
    /// come during it, and they wait (8 ms each, for 80 ms a second at 1,600 calls/s, on the development
    /// machine). A slice at a time, a commit waits for at most one slice's pages. Where
    /// <c>sync_file_range</c> is not available, the database file is fsynced instead.
    /// </summary>
    private static void WriteBack(SqliteConnection connection)
    {
        if (!WriteBackInSlices(connection)) SyncDatabaseFile(connection);
    }

    /// <summary>1 MiB: measured against 4 MiB (and a whole-file fsync) at 1,600 calls/s, the smaller slice gave the shorter tail.</summary>
    private const long WriteBackSlice = 1 << 20;

    /// <param name="wal">The file's WAL rather than the file itself (in WAL mode, SQLite's journal file).</param>
    /// <param name="afterSlice">Called with each slice's time (the write-behind rests as long, to leave the disk to the log half of the time).</param>
    private static unsafe bool WriteBackInSlices(SqliteConnection connection, string schema = "main", bool wal = false, Action<TimeSpan>? afterSlice = null)
    {
        if (!OperatingSystem.IsLinux()) return false;
        var file = wal ? JournalFile(connection, schema) : DatabaseFile(connection, schema);
        if (file == IntPtr.Zero) return false;
        // SQLite's unix VFS: struct unixFile { sqlite3_io_methods const *pMethod; sqlite3_vfs *pVfs;
        // unixInodeInfo *pInode; int h; ... }. The descriptor must name the database file (or its WAL), so
        // another layout (another VFS) is caught instead of trusted; by name only, as the data directory may
        // be reached through a symbolic link (and sync_file_range writes back, it changes no data).
        var descriptor = *(int*)((byte*)file + (3 * IntPtr.Size));
        var opened = new FileInfo($"/proc/self/fd/{descriptor}").LinkTarget;
        var path = raw.sqlite3_db_filename(connection.Handle, schema).utf8_to_string() + (wal ? "-wal" : "");
        if (opened is null || path is null || System.IO.Path.GetFileName(opened) != System.IO.Path.GetFileName(path)) return false;
        var length = new FileInfo(path).Length;
        try
        {
            for (long offset = 0; offset < length; offset += WriteBackSlice)
            {
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                if (NativeSqlite.SyncFileRange(descriptor, offset, WriteBackSlice, NativeSqlite.SyncFileRangeWaitAndWrite) != 0) return false;
                afterSlice?.Invoke(System.Diagnostics.Stopwatch.GetElapsedTime(started));
            }
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
        return true;
    }

    /// <summary>
    /// The database file's <c>sqlite3_file</c> in the connection's own SQLite handle
    /// (<c>SQLITE_FCNTL_FILE_POINTER</c>), or zero. Opening the file separately is not an option: closing
    /// any descriptor of it would drop the process's POSIX locks on it.
    /// </summary>
    private static IntPtr DatabaseFile(SqliteConnection connection, string schema = "main") =>
        FileOf(connection, schema, NativeSqlite.FileControlFilePointer);

    /// <summary>The WAL's <c>sqlite3_file</c> (<c>SQLITE_FCNTL_JOURNAL_POINTER</c>; zero before the connection first opened it).</summary>
    private static IntPtr JournalFile(SqliteConnection connection, string schema) =>
        FileOf(connection, schema, NativeSqlite.FileControlJournalPointer);

    private static IntPtr FileOf(SqliteConnection connection, string schema, int control)
    {
        try
        {
            return NativeSqlite.sqlite3_file_control(connection.Handle!.DangerousGetHandle(), schema, control, out var file) == 0
                ? file
                : IntPtr.Zero;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            // Another SQLite provider than e_sqlite3: the held pass then does the whole fsync (slower, as correct).
            return IntPtr.Zero;
        }
    }

    /// <summary>Fsyncs the database file (or its WAL) through the connection's own SQLite file handle (the VFS's <c>xSync</c>).</summary>
    private static unsafe void SyncDatabaseFile(SqliteConnection connection, string schema = "main", bool wal = false)
    {
        var file = wal ? JournalFile(connection, schema) : DatabaseFile(connection, schema);
        if (file == IntPtr.Zero) return;
        // sqlite3_file starts with its sqlite3_io_methods*: { int iVersion; xClose, xRead, xWrite, xTruncate, xSync, ... }.
        var methods = *(IntPtr**)file;
        var xSync = (delegate* unmanaged[Cdecl]<IntPtr, int, int>)methods[5];
        var rc = xSync(file, NativeSqlite.SyncNormal);
        if (rc != 0) throw new SqliteException($"syncing {raw.sqlite3_db_filename(connection.Handle, schema).utf8_to_string()}{(wal ? "-wal" : "")} failed", rc);
    }

    /// <summary>A PASSIVE checkpoint; returns the frames in the WAL (0 after it started over) and how many of them are copied.</summary>
    private static (long Frames, long Copied) Checkpoint(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA main.wal_checkpoint(PASSIVE);";
        using var result = command.ExecuteReader();
        // Columns: busy, frames in the WAL, frames copied (-1 when the file is not in WAL mode).
        return result.Read() ? (result.GetInt64(1), result.GetInt64(2)) : (0, 0);
    }

    public Task<IReadOnlyList<EventRecord>> ReadEventsAsync(long accountId, string database, string table, long afterSeq, int limit, CancellationToken cancellationToken = default) =>
        ReadAsync<IReadOnlyList<EventRecord>>("""
            SELECT seq, account_id, db, tbl, uuid, time, profile_id, body FROM events
            WHERE account_id = $a AND db = $db AND tbl = $t AND seq > $after ORDER BY seq LIMIT $limit
            """, r => All(r, ReadEvent), cancellationToken, ("$a", accountId), ("$db", database), ("$t", table), ("$after", afterSeq), ("$limit", limit));

    public Task<EventRecord?> FindEventByUuidAsync(long accountId, string uuid, CancellationToken cancellationToken = default) =>
        ReadAsync("SELECT seq, account_id, db, tbl, uuid, time, profile_id, body FROM events WHERE account_id = $a AND uuid = $u AND client_uuid = 1 ORDER BY seq DESC LIMIT 1",
            r => r.Read() ? ReadEvent(r) : null, cancellationToken, ("$a", accountId), ("$u", uuid));

    private static EventRecord ReadEvent(SqliteDataReader r) =>
        new(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetInt64(5), Id(r, 6), r.GetString(7));

    // ---- profiles and identities -----------------------------------------------------------------

    // A profile with changes not yet written behind is read from its latest pending row. That row goes
    // only once the write-behind has put the snapshot into profiles, so when it is gone the table has it.

    public ValueTask<ProfileRecord?> LoadProfileAsync(AudienceScope scope, Guid profileId, CancellationToken cancellationToken = default)
    {
        var pending = _pending.Find(new(scope.AccountId, scope.Audience, profileId));
        if (pending is { Removed: true }) return ValueTask.FromResult<ProfileRecord?>(null);
        if (pending is { } change && HotReaders.PendingSnapshot.Bind(1, change.Seq).First(r => new ProfileRecord(profileId, change.Seq, r.Blob(0))) is { } record)
            return ValueTask.FromResult<ProfileRecord?>(record);
        return ValueTask.FromResult(HotReaders.LoadSnapshot.Bind(1, scope.AccountId).Bind(2, scope.Audience).Bind(3, profileId)
            .First(r => new ProfileRecord(profileId, r.Int64(1), r.Blob(0))));
    }

    public ValueTask<bool> ReadSnapshotAsync<TArg>(AudienceScope scope, Guid profileId, TArg arg, System.Buffers.ReadOnlySpanAction<byte, TArg> read, CancellationToken cancellationToken = default)
    {
        var pending = _pending.Find(new(scope.AccountId, scope.Audience, profileId));
        if (pending is { Removed: true }) return ValueTask.FromResult(false);
        if (pending is { } change && HotReaders.PendingSnapshot.Bind(1, change.Seq).TryFirstBlob(0, arg, read)) return ValueTask.FromResult(true);
        return ValueTask.FromResult(HotReaders.LoadSnapshot.Bind(1, scope.AccountId).Bind(2, scope.Audience).Bind(3, profileId).TryFirstBlob(0, arg, read));
    }

    public ValueTask<Guid?> FindAliasAsync(AudienceScope scope, Guid profileId, CancellationToken cancellationToken = default) =>
        _pending.Alias(new(scope.AccountId, scope.Audience, profileId)) is { } pending ? ValueTask.FromResult<Guid?>(pending) : ValueTask.FromResult(HotReaders.FindAlias.Bind(1, scope.AccountId).Bind(2, scope.Audience).Bind(3, profileId)
            .First(r => (Guid?)r.Id(0)));

    /// <summary>
    /// The reads every grain activation makes, on a connection of the calling thread with the
    /// statements prepared once (a pooled connection and a fresh statement per call cost more than the read).
    /// </summary>
    private sealed class ReaderStatements(SqliteConnection connection) : IDisposable
    {
        public RawStatement LoadSnapshot { get; } = new(connection,
            "SELECT snapshot, applied_seq FROM profiles WHERE account_id = ?1 AND audience = ?2 AND id = ?3");
        public RawStatement FindAlias { get; } = new(connection,
            "SELECT to_id FROM aliases WHERE account_id = ?1 AND audience = ?2 AND from_id = ?3");
        public RawStatement PendingSnapshot { get; } = new(connection, PendingSnapshotSql);

        public void Dispose()
        {
            LoadSnapshot.Dispose();
            FindAlias.Dispose();
            PendingSnapshot.Dispose();
            connection.Dispose();
        }
    }

    private readonly ThreadLocal<ReaderStatements> _hotReaders;
    private ReaderStatements HotReaders => _hotReaders.Value!;

    public IEnumerable<IdentityRecord> ScanIdentities(AudienceScope scope)
    {
        using var read = BeginSnapshot(scope, PendingOverlay.Parts.Identities);
        // Rows come in key order: a key name is one shared string for all its rows, not one per row.
        var key = "";
        using (var command = read.Command("SELECT key, value, profile_id FROM identities WHERE account_id = $a AND audience = $aud"))
        using (var reader = command.ExecuteReader())
            while (reader.Read())
            {
                var name = reader.GetString(0);
                if (name != key) key = name;
                var value = reader.GetString(1);
                if (!read.Overlay.Identities.ContainsKey((key, value)) && Id(reader, 2) is var owner && !Erasing(scope, owner))
                    yield return new IdentityRecord(key, value, owner);
            }
        foreach (var ((pendingKey, value), owner) in read.Overlay.Identities)
            if (owner is { } profile && !Erasing(scope, profile)) yield return new IdentityRecord(pendingKey, value, profile);
    }

    /// <summary>The identities in the table (those still pending are not counted: this sizes the index, which the scan then fills).</summary>
    public Task<int> CountIdentitiesAsync(AudienceScope scope, CancellationToken cancellationToken = default) =>
        ReadAsync("SELECT COUNT(*) FROM identities WHERE account_id = $a AND audience = $aud",
            r => r.Read() ? r.GetInt32(0) : 0, cancellationToken, ("$a", scope.AccountId), ("$aud", scope.Audience));

    // The profile and every profile merged into it (aliases always name the final survivor).
    private const string ProfileAndMerged = "(profile_id = $id OR profile_id IN (SELECT from_id FROM aliases WHERE account_id = $a AND audience = $aud AND to_id = $id))";

    /// <summary>
    /// Off the caller's thread (a grain's turn): on a large store the erasure takes a while, mostly
    /// reading the events table whole (below).
    /// </summary>
    public Task<int> EraseProfileAsync(AudienceScope scope, Guid profileId, CancellationToken cancellationToken = default) =>
        Task.Run(() => EraseProfile(scope, profileId), CancellationToken.None);

    public void BeginErasure(AudienceScope scope, Guid profileId) => _erasing.TryAdd((scope.AccountId, scope.Audience, profileId), 0);

    /// <summary>Profiles whose erasure has begun and not completed (<see cref="BeginErasure"/>); one that failed stays until the process ends.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(long Account, string Audience, Guid Id), byte> _erasing = new();

    private bool Erasing(AudienceScope scope, Guid profileId) => !_erasing.IsEmpty && _erasing.ContainsKey((scope.AccountId, scope.Audience, profileId));

    private int EraseProfile(AudienceScope scope, Guid profileId)
    {
        // Erased from the tables and from what is pending, so that nothing writes it back later. One
        // transaction over both files: each commits on its own (WAL), so a crash in between can leave the
        // erasure half done, and erasing again completes it. A background write-behind under way stops
        // resting meanwhile (it holds the lock for its whole window's changes).
        Interlocked.Increment(ref _hurry);
        try
        {
            lock (_writeBehindLock) return EraseProfileNow(scope, profileId);
        }
        finally
        {
            Interlocked.Decrement(ref _hurry);
        }
    }

    private int EraseProfileNow(AudienceScope scope, Guid profileId)
    {
        // Pending merges (rare) are written first: the profiles merged into this one are found through
        // the aliases table. Otherwise the profile's pending rows are deleted with the rest, without a
        // write-behind of everything pending (seconds after a busy window).
        if (_pending.AnyMerges || _pending.Unfinished) WriteBehind();
        // The rows are found on a reader, and only deleted by their keys in the writer's transaction: no
        // index leads from a profile to its events (one would cost every event a random page of the
        // log), so finding them reads the whole table, which held the log's commits (every call) for as
        // long (docs/performance.md). Nothing of the profile is committed meanwhile: its partition
        // erased it before.
        var rows = FindProfileRows(scope, profileId);
        lock (_stepLock)
        {
            Write((c, t) => DeleteProfileRows(c, t, scope, profileId, rows));
            _pending.Forget(new PendingChanges.ProfileKey(scope.AccountId, scope.Audience, profileId));
        }
        _erasing.TryRemove((scope.AccountId, scope.Audience, profileId), out _);
        return rows.Events.Count;
    }

    /// <summary>A profile's rows to erase: the log positions of its pending changes and of its events (and of those merged into it), its identities' keys and values.</summary>
    private sealed record ProfileRows(List<long> Pending, List<long> Events, List<(string Key, string Value)> Identities);

    /// <summary>Deletes the profile's rows in the writer's transaction (a value for <see cref="Write{T}"/>: nothing).</summary>
    private static bool DeleteProfileRows(SqliteConnection connection, SqliteTransaction transaction, AudienceScope scope, Guid profileId, ProfileRows rows)
    {
        SqliteCommand Delete(string sql)
        {
            var command = Command(connection, sql, ("$a", scope.AccountId), ("$aud", scope.Audience), ("$id", Bytes(profileId)));
            command.Transaction = transaction;
            return command;
        }
        foreach (var (sql, seqs) in (ReadOnlySpan<(string, List<long>)>)[
            ("DELETE FROM pending_changes WHERE seq = $seq", rows.Pending), ("DELETE FROM events WHERE seq = $seq", rows.Events)])
            using (var delete = Delete(sql))
            {
                var seq = delete.Parameters.Add("$seq", SqliteType.Integer);
                foreach (var row in seqs)
                {
                    seq.Value = row;
                    delete.ExecuteNonQuery();
                }
            }
        using (var delete = Delete("DELETE FROM identities WHERE account_id = $a AND audience = $aud AND key = $key AND value = $value AND profile_id = $id"))
        {
            var (key, value) = (delete.Parameters.Add("$key", SqliteType.Text), delete.Parameters.Add("$value", SqliteType.Text));
            foreach (var identity in rows.Identities)
            {
                (key.Value, value.Value) = identity;
                delete.ExecuteNonQuery();
            }
        }
        foreach (var sql in (string[])[
            $"DELETE FROM lookup_key_sets WHERE account_id = $a AND audience = $aud AND {ProfileAndMerged}",
            "DELETE FROM profiles WHERE account_id = $a AND audience = $aud AND id = $id",
            "DELETE FROM aliases WHERE account_id = $a AND audience = $aud AND to_id = $id"])
            using (var delete = Delete(sql))
                delete.ExecuteNonQuery();
        return true;
    }

    private ProfileRows FindProfileRows(AudienceScope scope, Guid profileId)
    {
        using var connection = Open();
        (string, object?)[] parameters = [("$a", scope.AccountId), ("$aud", scope.Audience), ("$id", Bytes(profileId))];
        List<long> Seqs(string sql)
        {
            var seqs = new List<long>();
            using var command = Command(connection, sql, parameters);
            using var reader = command.ExecuteReader();
            while (reader.Read()) seqs.Add(reader.GetInt64(0));
            return seqs;
        }
        var pending = Seqs("SELECT seq FROM pending_changes WHERE account_id = $a AND audience = $aud AND profile_id = $id");
        var events = Seqs($"SELECT seq FROM events WHERE account_id = $a AND audience = $aud AND {ProfileAndMerged}");
        var identities = new List<(string, string)>();
        using (var command = Command(connection, "SELECT key, value FROM identities WHERE account_id = $a AND audience = $aud AND profile_id = $id", parameters))
        using (var reader = command.ExecuteReader())
            while (reader.Read()) identities.Add((reader.GetString(0), reader.GetString(1)));
        return new ProfileRows(pending, events, identities);
    }

    public Task<IReadOnlyList<EventRecord>> ReadProfileEventsAsync(AudienceScope scope, Guid profileId, CancellationToken cancellationToken = default)
    {
        // The profiles merged into this one are found through the aliases table.
        if (_pending.AnyMerges) WriteBehind();
        return ReadAsync<IReadOnlyList<EventRecord>>(
            $"SELECT seq, account_id, db, tbl, uuid, time, profile_id, body FROM events WHERE account_id = $a AND audience = $aud AND {ProfileAndMerged} ORDER BY seq",
            r => All(r, ReadEvent), cancellationToken, ("$a", scope.AccountId), ("$aud", scope.Audience), ("$id", Bytes(profileId)));
    }

    public IEnumerable<ProfileRecord> ScanProfiles(AudienceScope scope)
    {
        using var read = BeginSnapshot(scope, PendingOverlay.Parts.Profiles);
        using (var command = read.Command("SELECT id, applied_seq, snapshot FROM profiles WHERE account_id = $a AND audience = $aud ORDER BY id"))
        using (var reader = command.ExecuteReader())
            while (reader.Read())
            {
                var id = Id(reader, 0);
                if (!read.Overlay.Profiles.ContainsKey(id)) yield return new ProfileRecord(id, reader.GetInt64(1), (byte[])reader[2]);
            }
        // The pending profiles from their latest rows, read in log order (one pass, not a lookup each).
        if (read.Overlay.Profiles.Count == 0) yield break;
        using (var command = read.Command("SELECT seq, profile_id, snapshot FROM pending_changes WHERE account_id = $a AND audience = $aud ORDER BY seq"))
        using (var reader = command.ExecuteReader())
            while (reader.Read())
            {
                var (seq, id) = (reader.GetInt64(0), Id(reader, 1));
                if (read.Overlay.Profiles[id] == seq) yield return new ProfileRecord(id, seq, (byte[])reader[2]);
            }
    }

    /// <summary>A lookup key's length: a <c>lookup_key_sets</c> row holds its keys one after another.</summary>
    public const int LookupKeyBytes = 16;

    public IEnumerable<(byte[] Key, Guid ProfileId)> ScanLookupKeys(AudienceScope scope)
    {
        using var read = BeginSnapshot(scope, PendingOverlay.Parts.LookupKeys);
        var overlay = read.Overlay;
        var pending = overlay.LookupKeys.Select(k => PendingOverlay.KeyOf(k.Key, k.Profile)).ToHashSet();
        // A key of a merged profile finds the survivor (aliases always name the final one, then the pending merges).
        using (var command = read.Command("""
            SELECT k.keys, k.profile_id, COALESCE(a.to_id, k.profile_id) FROM lookup_key_sets k
            LEFT JOIN aliases a ON a.account_id = k.account_id AND a.audience = k.audience AND a.from_id = k.profile_id
            WHERE k.account_id = $a AND k.audience = $aud
            """))
        using (var reader = command.ExecuteReader())
            while (reader.Read())
            {
                var keys = (byte[])reader[0];
                var (profile, survivor) = (Id(reader, 1), overlay.Survivor(Id(reader, 2)));
                for (var at = 0; at < keys.Length; at += LookupKeyBytes)
                {
                    var key = keys.Length == LookupKeyBytes ? keys : keys.AsSpan(at, Math.Min(LookupKeyBytes, keys.Length - at)).ToArray();
                    if (pending.Count == 0 || !pending.Contains(PendingOverlay.KeyOf(key, profile))) yield return (key, survivor);
                }
            }
        foreach (var (key, profile) in overlay.LookupKeys) yield return (key, overlay.Survivor(profile));
    }

    public IEnumerable<(string Value, Guid ProfileId)> ScanIdentities(AudienceScope scope, string key)
    {
        using var read = BeginSnapshot(scope, PendingOverlay.Parts.Identities, key);
        using (var command = read.Command("SELECT value, profile_id FROM identities WHERE account_id = $a AND audience = $aud AND key = $k", ("$k", key)))
        using (var reader = command.ExecuteReader())
            while (reader.Read())
            {
                var value = reader.GetString(0);
                if (!read.Overlay.Identities.ContainsKey((key, value)) && Id(reader, 1) is var owner && !Erasing(scope, owner)) yield return (value, owner);
            }
        foreach (var ((pendingKey, value), owner) in read.Overlay.Identities)
            if (pendingKey == key && owner is { } profile && !Erasing(scope, profile)) yield return (value, profile);
    }

    /// <summary>
    /// A read transaction over both files for a scan: a consistent view of the tables and the pending
    /// rows, begun between two steps of the write-behind (<see cref="_stepLock"/>), with the scope's
    /// pending rows read as an overlay (the <paramref name="parts"/> the scan needs; identifiers only named
    /// <paramref name="key"/> when given). Streams from that one snapshot however long the scan takes.
    /// </summary>
    private ScanSnapshot BeginSnapshot(AudienceScope scope, PendingOverlay.Parts parts, string? key = null)
    {
        var connection = Open();
        try
        {
            var transaction = BeginReadOfBothFiles(connection);
            return new ScanSnapshot(connection, transaction, scope, PendingOverlay.Read(connection, transaction, scope, parts, key));
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Begins a read transaction on both files at once, with no write-behind step under way.</summary>
    private SqliteTransaction BeginReadOfBothFiles(SqliteConnection connection)
    {
        var transaction = connection.BeginTransaction(deferred: true);
        lock (_stepLock)
        {
            // A read of each file starts its read transaction: both now.
            using var start = Command(connection, $"SELECT (SELECT COUNT(*) FROM main.sqlite_master), (SELECT COUNT(*) FROM {ProfileStore}.sqlite_master)");
            start.Transaction = transaction;
            start.ExecuteScalar();
        }
        return transaction;
    }

    private sealed class ScanSnapshot(SqliteConnection connection, SqliteTransaction transaction, AudienceScope scope, PendingOverlay overlay) : IDisposable
    {
        public PendingOverlay Overlay => overlay;

        /// <summary>A command in the snapshot's transaction, with the scope bound as <c>$a</c> and <c>$aud</c>.</summary>
        public SqliteCommand Command(string sql, params (string Name, object? Value)[] parameters)
        {
            var command = SqliteStore.Command(connection, sql, [("$a", scope.AccountId), ("$aud", scope.Audience), .. parameters]);
            command.Transaction = transaction;
            return command;
        }

        public void Dispose()
        {
            transaction.Dispose();
            connection.Dispose();
        }
    }

    /// <summary>
    /// Copies the store, as of one moment, into <paramref name="directory"/> (the two files under their
    /// names, <see cref="Path"/>'s and <see cref="ProfilesPath"/>'s), while it goes on working: one
    /// read transaction over both files, begun between two write-behind steps, so every change is in
    /// the copied tables or in the copied log's pending rows (SQLite's online backup, from that
    /// transaction). Returns the files written.
    /// </summary>
    /// <exception cref="IOException">The directory already holds a backup's files.</exception>
    public IReadOnlyList<string> BackupTo(string directory)
    {
        Directory.CreateDirectory(directory);
        var main = System.IO.Path.Combine(directory, System.IO.Path.GetFileName(Path));
        var profiles = ProfilesPathOf(main);
        foreach (var file in new[] { main, profiles })
            if (File.Exists(file)) throw new IOException($"{file} exists already; back up into an empty directory.");
        using var source = Open();
        using var snapshot = BeginReadOfBothFiles(source);
        foreach (var (file, schema) in new[] { (main, "main"), (profiles, ProfileStore) })
        {
            using var target = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false }.ToString());
            target.Open();
            source.BackupDatabase(target, "main", schema);
        }
        return [main, profiles];
    }

    private int _disposed;

    /// <summary>Idempotent: the host disposes this once per interface it is registered under.</summary>
    public void Dispose()
    {
        if (!WriteBehindBeforeClosing()) return;
        _statements.Dispose();
        _behindStatements.Dispose();
        _behind.Dispose();
        foreach (var readers in _hotReaders.Values) readers.Dispose();
        _hotReaders.Dispose();
        _writer.Dispose();
        _closing.Dispose();
    }
}
