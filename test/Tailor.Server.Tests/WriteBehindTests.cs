using Microsoft.Data.Sqlite;
using Tailor.Storage;
using Tailor.Storage.Sqlite;

namespace Tailor.Server.Tests;

/// <summary>
/// The embedded store writes profiles, identities, merges and lookup keys behind the log: reads see
/// every committed change at once, the tables get each profile's latest state, and a crash before the
/// write-behind loses nothing.
/// </summary>
public sealed class WriteBehindTests : IDisposable
{
    private readonly string _directory = TestDirectories.New("tailor-behind-");
    private readonly AudienceScope _scope = new(1, "customers");
    private string Path => System.IO.Path.Combine(_directory, "tailor.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>Never written behind on its own during a test.</summary>
    private SqliteStore Open(string? path = null) => new(path ?? Path, writeBehindAfter: TimeSpan.FromHours(1));

    private WriteItem Change(Guid profile, byte version, IdentityRecord[]? upserted = null, (string, string)[]? deleted = null, Guid[]? merged = null, byte[][]? keys = null) =>
        StoreItems.Pageview(_scope, profile, [version, version, version], upserted, deleted, merged, keys);

    /// <summary>The files as a crash would leave them: the store is still open and has written nothing behind.</summary>
    private string CrashImage()
    {
        var copy = System.IO.Path.Combine(_directory, "crashed.db");
        foreach (var (from, to) in new[] { (Path, copy), (SqliteStore.ProfilesPathOf(Path), SqliteStore.ProfilesPathOf(copy)) })
        {
            File.Copy(from, to);
            if (File.Exists(from + "-wal")) File.Copy(from + "-wal", to + "-wal");
        }
        return copy;
    }

    /// <summary>A survivor, a profile merged into it, identifiers moved and evicted, a lookup key: the changes of one store.</summary>
    private async Task<(Guid Survivor, Guid Merged, byte[] Key)> CommitHistory(SqliteStore store)
    {
        var (survivor, merged) = (Guid.CreateVersion7(), Guid.CreateVersion7());
        var key = Enumerable.Range(1, 16).Select(i => (byte)i).ToArray();
        // The merged profile's own key is written behind before the merge: it must then find the survivor.
        store.CommitBatch([
            Change(merged, 1, upserted: [new("email", "a@example.com", merged), new("td_client_id", "m", merged)], keys: [MergedKey]),
            Change(survivor, 1, upserted: [new("td_client_id", "s", survivor), new("td_client_id", "old", survivor)]),
        ], 1);
        store.WriteBehind();
        // Within one generation the latest change of an identifier wins: "twice" ends removed, b@ ends owned.
        store.CommitBatch([
            Change(survivor, 2, upserted: [new("email", "a@example.com", survivor), new("td_client_id", "m", survivor), new("td_client_id", "twice", survivor)],
                deleted: [("email", "b@example.com")], merged: [merged], keys: [key, SecondKey]),
            Change(survivor, 3, upserted: [new("email", "b@example.com", survivor)], deleted: [("td_client_id", "old"), ("td_client_id", "twice")]),
        ], 3);
        Assert.Equal(4, await store.LastSeqAsync());
        return (survivor, merged, key);
    }

    /// <summary>The rows of <c>pending_changes</c>, read on a connection of their own.</summary>
    private long PendingRows() => ReadRow(Path, "SELECT COUNT(*) FROM pending_changes", row => row.GetInt64(0));

    private static readonly byte[] MergedKey = [.. Enumerable.Repeat((byte)0xAB, 16)];

    /// <summary>A second key of the same change, with zero bytes (the keys of a change are stored one after another in one blob).</summary>
    private static readonly byte[] SecondKey = [0, 0, .. Enumerable.Range(0, 14).Select(i => (byte)(i * 17))];

    private async Task AssertHistory(SqliteStore store, Guid survivor, Guid merged, byte[] key)
    {
        var profile = await store.LoadProfileAsync(_scope, survivor);
        Assert.Equal([3, 3, 3], profile!.Snapshot);
        Assert.Equal(4, profile.AppliedSeq);
        Assert.Null(await store.LoadProfileAsync(_scope, merged));
        Assert.False(await store.ReadSnapshotAsync(_scope, merged, 0, (_, _) => throw new InvalidOperationException("merged away")));
        Assert.Equal(survivor, await store.FindAliasAsync(_scope, merged));
        Assert.Equal(
            [("email", "a@example.com", survivor), ("email", "b@example.com", survivor), ("td_client_id", "m", survivor), ("td_client_id", "s", survivor)],
            store.ScanIdentities(_scope).Select(i => (i.Key, i.Value, i.ProfileId)).Order());
        Assert.Equal([("m", survivor), ("s", survivor)], store.ScanIdentities(_scope, "td_client_id").Order());
        Assert.Equal(
            new[] { (Convert.ToHexString(key), survivor), (Convert.ToHexString(MergedKey), survivor), (Convert.ToHexString(SecondKey), survivor) }.Order(),
            store.ScanLookupKeys(_scope).Select(k => (Convert.ToHexString(k.Key), k.ProfileId)).Order());
        Assert.Equal([survivor], store.ScanProfiles(_scope).Select(p => p.Id));
    }

    [Fact]
    public async Task Committed_changes_are_read_before_they_are_written_behind_and_the_same_after()
    {
        using var store = Open();
        var (survivor, merged, key) = await CommitHistory(store);

        // Read before the write-behind: from memory.
        var profile = await store.LoadProfileAsync(_scope, survivor);
        Assert.Equal([3, 3, 3], profile!.Snapshot);
        byte[]? handed = null;
        Assert.True(await store.ReadSnapshotAsync(_scope, survivor, 0, (bytes, _) => handed = bytes.ToArray()));
        Assert.Equal([3, 3, 3], handed);
        Assert.Null(await store.LoadProfileAsync(_scope, merged));
        Assert.Equal(survivor, await store.FindAliasAsync(_scope, merged));

        // The scans read the tables through the pending rows; after the write-behind, the tables alone.
        await AssertHistory(store, survivor, merged, key);
        store.WriteBehind();
        await AssertHistory(store, survivor, merged, key);
        store.Dispose();
        using var reopened = Open();
        await AssertHistory(reopened, survivor, merged, key);
    }

    [Fact]
    public async Task A_crash_before_the_write_behind_loses_no_committed_change()
    {
        using var store = Open();
        var (survivor, merged, key) = await CommitHistory(store);
        var crashed = CrashImage();

        using (var recovered = Open(crashed))
        {
            // Only the hot reads first: they must find the changes whether or not the scans below wrote them.
            Assert.Equal([3, 3, 3], (await recovered.LoadProfileAsync(_scope, survivor))!.Snapshot);
            Assert.Equal(survivor, await recovered.FindAliasAsync(_scope, merged));
            await AssertHistory(recovered, survivor, merged, key);
            // The log goes on after the recovered changes.
            recovered.CommitBatch([Change(survivor, 5)], 5);
        }
        SqliteConnection.ClearAllPools();
        using var again = Open(crashed);
        Assert.Equal([5, 5, 5], (await again.LoadProfileAsync(_scope, survivor))!.Snapshot);
        Assert.Equal(5, await again.LastSeqAsync());
    }

    [Fact]
    public async Task A_file_with_the_profile_tables_inside_it_is_migrated_into_two_files()
    {
        var (survivor, merged, key) = await ClosedStoreWithHistory();
        // The layout of schema version 2: the four tables in tailor.db itself, no second file.
        RunSql(Path, $"""
            ATTACH '{SqliteStore.ProfilesPathOf(Path)}' AS old;
            CREATE TABLE main.profiles AS SELECT * FROM old.profiles;
            CREATE TABLE main.identities AS SELECT * FROM old.identities;
            CREATE TABLE main.aliases AS SELECT * FROM old.aliases;
            {RowPerLookupKey("main.lookup_keys", "old")}
            DETACH old;
            UPDATE schema_version SET version = 2;
            """);
        File.Delete(SqliteStore.ProfilesPathOf(Path));

        using (var migrated = Open())
            await AssertHistory(migrated, survivor, merged, key);
        SqliteConnection.ClearAllPools();
        var (version, oldTables) = ReadRow(Path,
            "SELECT (SELECT version FROM schema_version), (SELECT COUNT(*) FROM sqlite_master WHERE name IN ('profiles', 'identities', 'aliases', 'lookup_keys'))",
            row => (row.GetInt64(0), row.GetInt64(1)));
        Assert.Equal((4L, 0L), (version, oldTables));
    }

    /// <summary>The store's files after <see cref="CommitHistory"/>, written behind and closed.</summary>
    private async Task<(Guid Survivor, Guid Merged, byte[] Key)> ClosedStoreWithHistory()
    {
        var store = Open();
        var history = await CommitHistory(store);
        store.WriteBehind();
        store.Dispose();
        SqliteConnection.ClearAllPools();
        return history;
    }

    /// <summary>Runs SQL on one of the store's files, closed after.</summary>
    private static void RunSql(string file, string sql)
    {
        using var connection = OpenFile(file);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>A connection of its own (not pooled) to one of the store's files.</summary>
    private static SqliteConnection OpenFile(string file)
    {
        var connection = new SqliteConnection($"Data Source={file};Pooling=False");
        connection.Open();
        return connection;
    }

    /// <summary>Reads the one row <paramref name="sql"/> gives on one of the store's files, closed after.</summary>
    private static T ReadRow<T>(string file, string sql, Func<SqliteDataReader, T> read)
    {
        using var connection = OpenFile(file);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var row = command.ExecuteReader();
        Assert.True(row.Read());
        return read(row);
    }

    /// <summary>
    /// Version 3's table of lookup keys (a row per key) named <paramref name="table"/>, filled from the
    /// lookup_key_sets of the profile file attached as <paramref name="schema"/>.
    /// </summary>
    private static string RowPerLookupKey(string table, string schema) => $"""
        CREATE TABLE {table} (account_id INTEGER NOT NULL, audience TEXT NOT NULL, profile_id BLOB NOT NULL, key BLOB NOT NULL,
            PRIMARY KEY (account_id, audience, profile_id, key)) WITHOUT ROWID;
        INSERT INTO {table}
        WITH RECURSIVE split(account_id, audience, profile_id, key, rest) AS (
            SELECT account_id, audience, profile_id, substr(keys, 1, 16), substr(keys, 17) FROM {schema}.lookup_key_sets
            UNION ALL SELECT account_id, audience, profile_id, substr(rest, 1, 16), substr(rest, 17) FROM split WHERE length(rest) > 0)
        SELECT account_id, audience, profile_id, key FROM split;
        """;

    [Fact]
    public async Task A_file_with_a_row_per_lookup_key_is_migrated_to_a_row_per_profile_and_set_of_keys()
    {
        var (survivor, merged, key) = await ClosedStoreWithHistory();
        // The layout of schema version 3: a row per lookup key in the profile file.
        RunSql(SqliteStore.ProfilesPathOf(Path), $"""
            {RowPerLookupKey("lookup_keys", "main")}
            DROP TABLE lookup_key_sets;
            """);
        RunSql(Path, "UPDATE schema_version SET version = 3");

        using (var migrated = Open())
            await AssertHistory(migrated, survivor, merged, key);
        SqliteConnection.ClearAllPools();
        // The survivor's two keys of one change in one row, the merged profile's key in another; the old table gone.
        var (lengths, oldTables) = ReadRow(SqliteStore.ProfilesPathOf(Path),
            "SELECT (SELECT group_concat(length(keys)) FROM (SELECT keys FROM lookup_key_sets ORDER BY length(keys))), (SELECT COUNT(*) FROM sqlite_master WHERE name = 'lookup_keys')",
            row => (row.GetString(0), row.GetInt64(1)));
        Assert.Equal(("16,32", 0L), (lengths, oldTables));
    }

    [Fact]
    public void The_two_files_open_only_together()
    {
        void Delete(string file)
        {
            foreach (var suffix in new[] { "", "-wal", "-shm" }) File.Delete(file + suffix);
        }
        void MakeStore(string path)
        {
            using var store = new SqliteStore(path, writeBehindAfter: TimeSpan.FromHours(1));
            store.CommitBatch([Change(Guid.CreateVersion7(), 1)], 1);
            store.WriteBehind();
        }
        string Refusal(string path)
        {
            SqliteConnection.ClearAllPools();
            var message = Assert.Throws<InvalidOperationException>(() => new SqliteStore(path, writeBehindAfter: TimeSpan.FromHours(1)).Dispose()).Message;
            // A refused store leaves none of its connections open (once the pool's idle ones are closed).
            SqliteConnection.ClearAllPools();
            Assert.Empty(OpenFilesOf(path));
            return message;
        }
        var other = System.IO.Path.Combine(_directory, "other", "tailor.db");
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(other)!);
        MakeStore(Path);
        MakeStore(other);
        using (Open()) { } // reopened with its own profile file
        SqliteConnection.ClearAllPools();

        // Another store's profile file.
        File.Copy(SqliteStore.ProfilesPathOf(other), SqliteStore.ProfilesPathOf(Path), overwrite: true);
        Assert.Contains("belongs to another store", Refusal(Path));
        // A fresh log beside a used profile file (its accounts would take the old ones' numbers).
        Delete(Path);
        Assert.Contains("is new", Refusal(Path));
        Assert.Contains("is new", Refusal(Path)); // the refusal made nothing that would let a second start through
        // A missing profile file beside a log that wrote into one.
        Delete(SqliteStore.ProfilesPathOf(other));
        Assert.Contains("missing or new", Refusal(other));
    }

    /// <summary>
    /// Scans begun at once (a server building the lookup indexes of several accounts, each with three
    /// scans) each read on a connection of their own. Microsoft.Data.Sqlite's pool could lend one
    /// connection to two callers opening at the same moment (dotnet/efcore#39008): the second scan's read
    /// transaction then failed to begin, "cannot start a transaction within a transaction".
    /// </summary>
    [Fact]
    public void Scans_begun_at_once_each_begin_their_own_read()
    {
        using var store = Open();
        var profile = Guid.NewGuid();
        store.CommitBatch([Change(profile, 1, upserted: [new IdentityRecord("email", "a@example.com", profile)])], 1);

        const int Scanners = 12;
        var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        for (var wave = 0; wave < 600 && failures.IsEmpty; wave++)
        {
            // Each wave finds no idle connection (the pool is emptied), as a burst of first scans does.
            SqliteConnection.ClearAllPools();
            using var start = new Barrier(Scanners);
            using var held = new Barrier(Scanners);
            var threads = Enumerable.Range(0, Scanners).Select(_ => new Thread(() =>
            {
                try
                {
                    start.SignalAndWait();
                    // A scan opens its connection and begins its read transaction on its first step.
                    using var scan = store.ScanIdentities(_scope, "email").GetEnumerator();
                    Assert.True(scan.MoveNext());
                    Assert.Equal(("a@example.com", profile), scan.Current);
                    held.SignalAndWait(TimeSpan.FromSeconds(10));
                }
                catch (Exception e)
                {
                    failures.Enqueue(e);
                    held.RemoveParticipant();
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
        }
        Assert.Empty(failures);
    }

    [Fact]
    public async Task Identity_scans_leave_out_a_profile_whose_erasure_has_begun()
    {
        using var store = Open();
        var (kept, erased) = (Guid.CreateVersion7(), Guid.CreateVersion7());
        // One identity written behind (in the table), one still pending, for the profile to erase.
        store.CommitBatch([Change(kept, 1, upserted: [new("email", "kept@example.com", kept)]), Change(erased, 1, upserted: [new("email", "gone@example.com", erased)])], 1);
        store.WriteBehind();
        store.CommitBatch([Change(erased, 2, upserted: [new("td_client_id", "gone-phone", erased)])], 3);

        store.BeginErasure(_scope, erased);
        // An identity index loaded now (between the identity grain's turn and the rows' erasure) cannot lead to it.
        Assert.Equal([("email", "kept@example.com", kept)], store.ScanIdentities(_scope).Select(i => (i.Key, i.Value, i.ProfileId)));
        Assert.Equal([("kept@example.com", kept)], store.ScanIdentities(_scope, "email"));
        Assert.Empty(store.ScanIdentities(_scope, "td_client_id"));

        Assert.Equal(2, await store.EraseProfileAsync(_scope, erased));
        Assert.Null(await store.LoadProfileAsync(_scope, erased));
        Assert.Equal([("email", "kept@example.com", kept)], store.ScanIdentities(_scope).Select(i => (i.Key, i.Value, i.ProfileId)));
    }

    [Fact]
    public async Task A_profile_changed_many_times_keeps_its_latest_state_and_an_erased_one_does_not_come_back()
    {
        using var store = Open();
        var (kept, erased) = (Guid.CreateVersion7(), Guid.CreateVersion7());
        var seq = 1L;
        for (byte version = 1; version <= 50; version++)
            store.CommitBatch([Change(kept, version), Change(erased, version, upserted: version == 1 ? [new("email", "gone@example.com", erased)] : null)], (seq += 2) - 2);

        // Erasing deletes what is pending of the profile: afterwards nothing pending may restore the profile or its identifier.
        await store.EraseProfileAsync(_scope, erased);
        store.WriteBehind();
        Assert.Null(await store.LoadProfileAsync(_scope, erased));
        Assert.Empty(store.ScanIdentities(_scope));
        var profile = await store.LoadProfileAsync(_scope, kept);
        Assert.Equal([50, 50, 50], profile!.Snapshot);
        Assert.Equal(99, profile.AppliedSeq);

        store.Dispose();
        using var reopened = Open();
        Assert.Null(await reopened.LoadProfileAsync(_scope, erased));
        Assert.Equal([50, 50, 50], (await reopened.LoadProfileAsync(_scope, kept))!.Snapshot);
    }

    [Fact]
    public async Task A_background_write_behind_that_fails_is_reported_keeps_its_changes_and_is_tried_again()
    {
        var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        using var store = new SqliteStore(Path, writeBehindAfter: TimeSpan.FromMilliseconds(200), writeBehindFailed: failures.Enqueue);
        void OnProfileFile(string sql) => RunSql(SqliteStore.ProfilesPathOf(Path), sql);

        // The profile file refuses writes (as a full disk would): the background write-behind cannot write the change.
        OnProfileFile("CREATE TRIGGER refuse BEFORE INSERT ON profiles BEGIN SELECT RAISE(ABORT, 'refused'); END");
        var profile = Guid.CreateVersion7();
        store.CommitBatch([Change(profile, 7)], 1);
        Assert.True(SpinWait.SpinUntil(() => !failures.IsEmpty, TimeSpan.FromSeconds(30)), "the failure was not reported");
        Assert.IsType<SqliteException>(failures.First());
        Assert.Equal([7, 7, 7], (await store.LoadProfileAsync(_scope, profile))!.Snapshot);
        Assert.Equal(1, PendingRows());

        // Writable again: a later attempt writes it and its pending row goes.
        OnProfileFile("DROP TRIGGER refuse");
        Assert.True(SpinWait.SpinUntil(() => PendingRows() == 0, TimeSpan.FromSeconds(30)), "the change was not written behind after the repair");
        Assert.Equal([7, 7, 7], (await store.LoadProfileAsync(_scope, profile))!.Snapshot);
    }

    [Fact]
    public async Task A_background_write_behind_deletes_every_pending_row_in_steps_while_the_log_goes_on_committing()
    {
        using var store = new SqliteStore(Path, writeBehindAfter: TimeSpan.FromMilliseconds(200));
        // Thousands of changes: their pending rows go in many resting steps, each a transaction of the log's file.
        var profiles = Enumerable.Range(0, 3_000).Select(_ => Guid.CreateVersion7()).ToArray();
        var seq = 1L;
        foreach (var chunk in profiles.Chunk(500))
        {
            store.CommitBatch([.. chunk.Select(p => Change(p, 1))], seq);
            seq += chunk.Length;
        }
        // The log commits on while they are written behind and deleted: the latest change of each is what stays.
        foreach (var chunk in profiles.Take(1_000).Chunk(100))
        {
            store.CommitBatch([.. chunk.Select(p => Change(p, 2))], seq);
            seq += chunk.Length;
            await Task.Delay(20);
        }

        Assert.True(SpinWait.SpinUntil(() => PendingRows() == 0, TimeSpan.FromSeconds(60)), $"{PendingRows()} pending rows were left");
        var read = store.ScanProfiles(_scope).ToDictionary(p => p.Id, p => p.Snapshot);
        Assert.Equal(profiles.Length, read.Count);
        Assert.All(profiles.Take(1_000), p => Assert.Equal([2, 2, 2], read[p]));
        Assert.All(profiles.Skip(1_000), p => Assert.Equal([1, 1, 1], read[p]));
    }

    [Fact]
    public async Task A_long_write_behind_copies_its_WAL_into_the_file_as_it_goes_and_keeps_every_change()
    {
        using var store = Open();
        // 28 slices of profiles with 2 KB snapshots, and their identifiers, in one write-behind.
        var profiles = Enumerable.Range(0, SqliteStore.SliceRows * (3 * SqliteStore.SlicesPerCheckpoint + 4)).Select(_ => Guid.CreateVersion7()).ToArray();
        var seq = 1L;
        foreach (var chunk in profiles.Chunk(1000))
        {
            store.CommitBatch([.. chunk.Select(p => StoreItems.Pageview(_scope, p, Snapshot(p), upserted: [new("email", $"{p}@example.com", p)]))], seq);
            seq += chunk.Length;
        }
        store.WriteBehind();

        // The WAL started over after each checkpoint: it held a few slices at a time, never the whole
        // write-behind (each 2 KB snapshot has a 4 KiB page of its own: ~117 MB of pages in all).
        var tablePages = profiles.Length * 4096L;
        Assert.InRange(new FileInfo(SqliteStore.ProfilesPathOf(Path) + "-wal").Length, 0, tablePages / 2);
        store.Dispose();
        using var reopened = Open();
        var read = reopened.ScanProfiles(_scope).ToDictionary(p => p.Id, p => p.Snapshot);
        Assert.Equal(profiles.Length, read.Count);
        Assert.All(profiles, p => Assert.Equal(Snapshot(p), read[p]));
        Assert.Equal(profiles.Length, reopened.ScanIdentities(_scope).Count());

        static byte[] Snapshot(Guid profile) => [.. Enumerable.Repeat(profile.ToByteArray(), 128).SelectMany(b => b)];
    }

    /// <summary>This process's open files among the store's (Linux: /proc/self/fd).</summary>
    private static List<string> OpenFilesOf(string path)
    {
        if (!Directory.Exists("/proc/self/fd")) return [];
        var files = new[] { path, SqliteStore.ProfilesPathOf(path) }.SelectMany(f => new[] { f, f + "-wal", f + "-shm" }).Select(System.IO.Path.GetFullPath).ToHashSet();
        var open = new List<string>();
        foreach (var fd in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget is { } target && files.Contains(target)) open.Add(target);
            }
            catch (IOException)
            {
                // A descriptor closed while listed.
            }
        }
        return open;
    }
}
