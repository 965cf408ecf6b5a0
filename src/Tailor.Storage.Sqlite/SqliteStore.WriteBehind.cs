using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Tailor.Storage.Sqlite;

/// <summary>
/// Writing profiles behind the log (DESIGN.md's profile store, "written behind (batched)"). A commit of
/// the log writes its events and, for each change, one row of <c>pending_changes</c> (the new snapshot
/// and what else the change did), appended in log order: a few hundred bytes, where updating the
/// profile and identity tables in place wrote a 4 KiB page of each per change (their rows land on
/// random pages of large B-trees). A background thread writes the changes into those tables once the
/// oldest is <see cref="WriteBehindAfter"/> old (or <see cref="MaxPendingChanges"/> are waiting): each
/// profile and identifier once, with its latest state, in key order, in slices of <see cref="SliceRows"/>
/// rows. The tables are in a file of their own, written on a connection of its own, so a slice never
/// holds up the log's commits; each is followed by a rest as long as it took, and every few slices the
/// file's WAL is copied into it (<see cref="CheckpointProfileStore"/>). Once the file holds the whole
/// generation durably, the pending rows go. Until then a profile is
/// read from its latest pending row, found through <see cref="PendingChanges"/>.
/// After a crash, opening the file reads the pending rows back into memory, and they are written behind
/// in the background: the tables plus the pending rows always hold every committed change, and scans read
/// both (<see cref="PendingOverlay"/>).
/// </summary>
public sealed partial class SqliteStore
{
    private static readonly Meter Meter = new("Tailor.Store");
    private static readonly Counter<long> RowsWrittenBehind = Meter.CreateCounter<long>("tailor.store.writebehind.rows", "{row}",
        "Profile and identity rows written behind the log (each once per write-behind, however often it changed)");
    private static readonly Counter<long> PagesWrittenBehind = Meter.CreateCounter<long>("tailor.store.writebehind.pages", "{page}",
        "Database pages the write-behind's transactions wrote (SQLite: 4 KiB pages into the WAL)");
    private static readonly Counter<long> WriteBehindFailures = Meter.CreateCounter<long>("tailor.store.writebehind.failures", "{failure}",
        "Background write-behinds that failed (their changes stay pending and are written again one window later)");

    /// <summary>30 s: a profile or identifier changed several times in that window is written once, and so is a page of the table changed several times.</summary>
    public static readonly TimeSpan DefaultWriteBehindAfter = TimeSpan.FromSeconds(30);

    /// <summary>Written behind sooner once this many changes are pending (bounds their memory, ~60 bytes each in memory).</summary>
    public const int MaxPendingChanges = 500_000;

    /// <summary>
    /// Rows per write-behind transaction. The profile tables have a file of their own and the
    /// write-behind its own connection to it, so the log's commits never wait for a slice; each slice's
    /// commit makes the readers of that file start over with an empty page cache, so slices are not small.
    /// None is synced at its commit: the WAL is, before each checkpoint (<see cref="CheckpointProfileStore"/>).
    /// </summary>
    public const int SliceRows = 1024;

    /// <summary>Pending rows deleted per transaction (~150 KB of rows), each holding the log's writer lock (1,024 rows held it 2–10 ms).</summary>
    private const int DeleteRows = 256;

    /// <summary>
    /// The background write-behind rests this many times as long as each slice took, so that it takes
    /// at most half of a core from the calls (writes that must be done now do not rest).
    /// </summary>
    private const int RestPerSlice = 1;

    public TimeSpan WriteBehindAfter { get; }

    private readonly PendingChanges _pending = new();
    /// <summary>The write-behind's connection (the profile tables' only writer but for erasures), used under <see cref="_writeBehindLock"/>.</summary>
    private readonly SqliteConnection _behind;
    private readonly ProfileTableStatements _behindStatements;
    private readonly Lock _writeBehindLock = new();
    /// <summary>
    /// Held by each step that changes the profile tables or deletes pending rows (a slice, a deletion, an
    /// erasure), so that a scan or a backup can begin its read of both files between two steps: it then
    /// sees every change once, in the tables or in a pending row (<see cref="BeginReadOfBothFiles"/>).
    /// </summary>
    private readonly Lock _stepLock = new();
    private readonly CancellationTokenSource _closing = new();
    private Thread? _writeBehindThread;
    /// <summary>Callers waiting for a write-behind to finish (an erasure, a merge's event history): the one under way stops resting.</summary>
    private int _hurry;

    /// <summary>
    /// Reads the changes a crash left pending back into memory and starts the background write-behind,
    /// which writes them in its time: reads and scans see them meanwhile (the scans through
    /// <see cref="PendingOverlay"/>), so the server serves without waiting for them.
    /// </summary>
    private void StartWriteBehind()
    {
        using (var command = _writer.CreateCommand())
        {
            command.CommandText = "SELECT seq, account_id, audience, profile_id, effects FROM pending_changes ORDER BY seq";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var change = new WriteItem
                {
                    Scope = new AudienceScope(reader.GetInt64(1), reader.GetString(2)),
                    Body = null,
                    ProfileId = Id(reader, 3),
                    Snapshot = ReadOnlyMemory<byte>.Empty,
                    MergedProfiles = ChangeEffects.MergedProfiles(reader.IsDBNull(4) ? [] : (byte[])reader[4]),
                };
                _pending.Add([change], reader.GetInt64(0));
                _recovered++;
            }
        }
        _opened = Stopwatch.GetTimestamp();
        _writeBehindThread = new Thread(WriteBehindWhenDue) { Name = "tailor-write-behind", IsBackground = true };
        _writeBehindThread.Start();
    }

    /// <summary>Changes found pending on opening (a crash left them), and when that was.</summary>
    private int _recovered;
    private long _opened;

    private void WriteBehindWhenDue()
    {
        var retryAt = 0L;
        while (!_closing.Token.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(100)))
        {
            // What a crash left pending waits one window like any change, however much it is: meanwhile
            // the server loads its indexes (which read through the pending rows) and serves.
            var most = Stopwatch.GetElapsedTime(_opened) < WriteBehindAfter ? _recovered + MaxPendingChanges : MaxPendingChanges;
            if (Stopwatch.GetTimestamp() < retryAt || !_pending.Due(WriteBehindAfter, most)) continue;
            try
            {
                lock (_writeBehindLock)
                    if (_disposed == 0) WriteAllPending(rest: true);
            }
            catch (Exception ex)
            {
                // The generation stays pending, in memory and in its rows, and is written again whole one
                // window later (a full disk, a damaged file): reported, not thrown on this thread, whose
                // exception would end the process.
                WriteBehindFailures.Add(1);
                retryAt = Stopwatch.GetTimestamp() + (long)(WriteBehindAfter.TotalSeconds * Stopwatch.Frequency);
                _writeBehindFailed?.Invoke(ex);
            }
        }
    }

    /// <summary>
    /// Writes every change committed so far into the profile tables (see the class comment), without
    /// resting. What changes the tables directly (an erasure) calls it first: a change
    /// still pending would bring back what it erased. (Scans read through the pending rows instead.)
    /// </summary>
    /// <exception cref="StorageUnavailableException">The write failed (a full disk); what was pending still is.</exception>
    public void WriteBehind()
    {
        Interlocked.Increment(ref _hurry);
        try
        {
            lock (_writeBehindLock)
                if (_disposed == 0) WriteAllPending(rest: false);
        }
        catch (SqliteException ex)
        {
            throw new StorageUnavailableException("Writing the pending profile changes failed; they stay pending.", ex);
        }
        finally
        {
            Interlocked.Decrement(ref _hurry);
        }
    }

    /// <summary>Writes behind every change committed before the call (not those committed meanwhile: under load there always are some).</summary>
    private void WriteAllPending(bool rest)
    {
        // A generation that failed part way is written again whole (each row is its latest state), then the changes since.
        while (_pending.StartWriting(out var again) is { } generation)
        {
            Write(generation, rest);
            _pending.Written(generation);
            if (!again) return;
        }
    }

    /// <summary>
    /// Closing: stops the background write-behind, writes what is pending (a failure leaves it in
    /// <c>pending_changes</c> for the next open). False when the store was closed already.
    /// </summary>
    private bool WriteBehindBeforeClosing()
    {
        if (Volatile.Read(ref _disposed) == 1) return false;
        _closing.Cancel();
        _writeBehindThread?.Join();
        lock (_writeBehindLock)
        {
            if (_disposed == 1) return false;
            try
            {
                WriteAllPending(rest: false);
            }
            catch (SqliteException)
            {
                // Recovered on the next open, from the pending rows.
            }
            _disposed = 1;
            return true;
        }
    }

    private void Write(PendingChanges.Generation generation, bool rest)
    {
        var statements = _behindStatements;
        using var profiles = new RentedRows<KeyValuePair<PendingChanges.ProfileKey, PendingChanges.ProfileChange>>(generation.Profiles.Count);
        foreach (var pair in generation.Profiles.Pairs) profiles.Add(pair);
        profiles.Span.Sort(static (a, b) => CompareProfiles(a.Key, b.Key));
        using var effects = ReadEffects(generation);
        InSlices(profiles, rest, statements, static (statements, rows) =>
        {
            foreach (var (key, change) in rows)
                if (change.Removed) statements.DeleteProfile.Bind(1, key.Account).Bind(2, key.Audience).Bind(3, key.Id).Run();
                else if (!statements.PendingSnapshot.Bind(1, change.Seq).TryFirstBlob(0, (statements, key, change.Seq), UpsertFromPending))
                    throw new InvalidOperationException($"the pending change {change.Seq} of profile {key.Id} is missing");
        });
        InSlices(effects.Identities, rest, statements, static (statements, rows) =>
        {
            foreach (var (key, owner, _) in rows)
                if (owner is { } profile) statements.UpsertIdentity.Bind(1, key.Account).Bind(2, key.Audience).Bind(3, key.Key).Bind(4, key.Value).Bind(5, profile).Run();
                else statements.DeleteIdentity.Bind(1, key.Account).Bind(2, key.Audience).Bind(3, key.Key).Bind(4, key.Value).Run();
        });
        // Lookup keys (an import's: a set of one or more per profile), in key order too.
        InSlices(effects.LookupKeySets, rest, statements, static (statements, rows) =>
        {
            foreach (var (profile, keys) in rows)
                statements.UpsertLookupKeySet.Bind(1, profile.Account).Bind(2, profile.Audience).Bind(3, profile.Id).BindBlob(4, keys).Run();
        });
        // Last the merges in their order (few); the checkpoint after them syncs the WAL before it copies.
        WriteSlice(statements, (statements, generation.Merges), static a =>
        {
            foreach (var (merged, into) in a.Merges)
            {
                a.statements.InsertAlias.Bind(1, merged.Account).Bind(2, merged.Audience).Bind(3, merged.Id).Bind(4, into).Run();
                // Earlier aliases to the merged profile now lead to the survivor directly.
                a.statements.RetargetAliases.Bind(1, merged.Account).Bind(2, merged.Audience).Bind(3, merged.Id).Bind(4, into).Run();
            }
        }, generation.Merges.Count);
        CheckpointProfileStore(rest);
        // Last the pending rows, once everything they hold is in the tables, on the disk. The
        // generation's changes have the log positions FirstSeq..LastSeq, each one row. Not synced: the
        // log's next commit syncs them with its own, and a crash before brings back rows that are
        // written again, unchanged. Each deletion holds the log's writer lock, and hands it to the
        // commits that waited for it before taking it again.
        for (var upTo = generation.FirstSeq + DeleteRows - 1; ; upTo += DeleteRows)
        {
            var bound = Math.Min(upTo, generation.LastSeq);
            var started = Stopwatch.GetTimestamp();
            lock (_stepLock) DeletePendingUpTo(bound);
            if (bound == generation.LastSeq) break;
            LetWaitingCommitsIn();
            if (rest) Rest(Stopwatch.GetElapsedTime(started));
        }
    }

    /// <summary>
    /// Waits (10 ms at most) until the log's commits that were waiting for the writer lock have taken
    /// it. The lock is not fair: deletions back to back took it again before a waiting commit woke, and
    /// kept the log's commits, and every call behind them, waiting for up to 100 ms. (Their rest does
    /// not cover it: a background write-behind stops resting once changes pile up, and one that is
    /// waited for never rests.)
    /// </summary>
    private void LetWaitingCommitsIn()
    {
        var spinner = new SpinWait();
        var until = Environment.TickCount64 + 10;
        while (Volatile.Read(ref _commitsWaiting) > 0 && Environment.TickCount64 < until) spinner.SpinOnce();
    }

    /// <summary>Deletes the pending rows up to <paramref name="bound"/> in one unsynced transaction of the log's writer.</summary>
    private void DeletePendingUpTo(long bound)
    {
        lock (_writerLock)
        {
            _statements.SyncOff.Run();
            try
            {
                _statements.Transaction.Run((_statements, bound), static a => a._statements.DeletePending.Bind(1, a.bound).Run());
            }
            finally
            {
                _statements.SyncFull.Run();
            }
        }
    }

    /// <summary>Writes one slice of rows into the profile tables.</summary>
    private delegate void SliceWrite<TArg, TRow>(TArg arg, ReadOnlySpan<TRow> rows);

    /// <summary>Writes <paramref name="rows"/> in transactions of <see cref="SliceRows"/> rows, resting after each when <paramref name="rest"/>.</summary>
    private void InSlices<TRow, TArg>(RentedRows<TRow> rows, bool rest, TArg arg, SliceWrite<TArg, TRow> write)
    {
        for (var start = 0; start < rows.Count; start += SliceRows)
        {
            var count = Math.Min(SliceRows, rows.Count - start);
            var started = Stopwatch.GetTimestamp();
            WriteSlice(_behindStatements, (arg, write, rows.Array, start, count), static a => a.write(a.arg, a.Array.AsSpan(a.start, a.count)), count);
            if (rest) Rest(Stopwatch.GetElapsedTime(started));
            AfterSlice(rest);
        }
    }

    /// <summary>
    /// Slices between two checkpoints of the profile file within one write-behind: its WAL stays about
    /// this many slices long (12–14 MB at 4,600 calls/s over 1M profiles) instead of holding the whole
    /// write-behind (240–340 MB), which then had to be synced, copied and written back in one burst.
    /// </summary>
    public const int SlicesPerCheckpoint = 8;

    private int _slicesSinceCheckpoint;

    /// <summary>
    /// After each slice its WAL pages are written to the disk (1 MiB at a time, resting as the slices do),
    /// so that the sync before the checkpoint has little left; every <see cref="SlicesPerCheckpoint"/>
    /// slices the WAL is copied into the file (<see cref="CheckpointProfileStore"/>) and starts over.
    /// </summary>
    private void AfterSlice(bool rest)
    {
        WriteBackInSlices(_behind, ProfileStore, wal: true, rest ? Rest : null);
        if (++_slicesSinceCheckpoint >= SlicesPerCheckpoint) CheckpointProfileStore(rest);
    }

    /// <summary>A background write-behind's rest after a step that took <paramref name="step"/>: not while someone waits for it, nor once changes pile up faster than it writes them.</summary>
    private void Rest(TimeSpan step)
    {
        if (Volatile.Read(ref _hurry) == 0 && _pending.Added < MaxPendingChanges / 2)
            _closing.Token.WaitHandle.WaitOne(step * RestPerSlice);
    }

    private void WriteSlice<TArg>(ProfileTableStatements statements, TArg arg, Action<TArg> write, int rows)
    {
        PagesWrittenSinceLastAsked(statements.Connection);
        lock (_stepLock) statements.Transaction.Run(arg, write);
        PagesWrittenBehind.Add(PagesWrittenSinceLastAsked(statements.Connection));
        RowsWrittenBehind.Add(rows);
    }

    /// <summary>
    /// The identity changes and lookup keys of the generation's changes, read back from their pending rows
    /// (memory keeps only what reads need), each identifier once with its latest owner or its removal (a
    /// null owner), both sorted in their table's key order.
    /// </summary>
    private EffectsScan ReadEffects(PendingChanges.Generation generation)
    {
        var scan = new EffectsScan();
        using (var connection = Open())
        using (var rows = new RawStatement(connection, "SELECT account_id, audience, profile_id, effects FROM pending_changes WHERE seq BETWEEN ?1 AND ?2 AND effects IS NOT NULL ORDER BY seq"))
            rows.Bind(1, generation.FirstSeq).Bind(2, generation.LastSeq).ForEach(scan, static (row, scan) => scan.Add(row));
        scan.Sort();
        return scan;
    }

    /// <summary>An identifier as the identities table keys it.</summary>
    private readonly record struct IdentityKey(long Account, string Audience, string Key, string Value);

    /// <summary>An identifier's change: its new owner, or null when it was removed; <see cref="Order"/> is its place in the log.</summary>
    private readonly record struct IdentityChange(IdentityKey Key, Guid? Owner, int Order);

    /// <summary>Identity changes and lookup keys read in log order, with key names and audiences shared.</summary>
    private sealed class EffectsScan : IDisposable
    {
        private readonly SharedNames _names = new();

        public RentedRows<IdentityChange> Identities { get; } = new(1024);
        /// <summary>Each change's lookup keys, one after another (a row of <c>lookup_key_sets</c>).</summary>
        public RentedRows<(PendingChanges.ProfileKey Profile, byte[] Keys)> LookupKeySets { get; } = new(16);

        public void Add(RawStatement row)
        {
            var account = row.Int64(0);
            var audience = _names.Of(row.Span(1));
            var profile = row.Id(2);
            var effects = new ChangeEffects.Reader(row.Span(3));
            for (var n = effects.Count(); n > 0; n--)
            {
                var (key, value) = (_names.Of(effects.Bytes()), effects.Text());
                Identities.Add(new(new(account, audience, key, value), effects.Id(), Identities.Count));
            }
            for (var n = effects.Count(); n > 0; n--)
            {
                var (key, value) = (_names.Of(effects.Bytes()), effects.Text());
                Identities.Add(new(new(account, audience, key, value), null, Identities.Count));
            }
            // The merges are in memory (reads need them): skipped here.
            for (var n = effects.Count(); n > 0; n--) effects.Id();
            var keys = effects.Count();
            if (keys == 0) return;
            var set = new byte[keys * LookupKeyBytes];
            for (var i = 0; i < keys; i++)
            {
                var key = effects.Bytes();
                if (key.Length != LookupKeyBytes) throw new InvalidDataException($"a lookup key of {key.Length} bytes");
                key.CopyTo(set.AsSpan(i * LookupKeyBytes));
            }
            LookupKeySets.Add((new(account, audience, profile), set));
        }

        /// <summary>Both in their table's key order; of an identifier's changes only the latest is kept.</summary>
        public void Sort()
        {
            var identities = Identities.Span;
            identities.Sort(static (a, b) =>
            {
                var order = CompareIdentities(a.Key, b.Key);
                return order != 0 ? order : a.Order.CompareTo(b.Order);
            });
            var kept = 0;
            for (var i = 0; i < identities.Length; i++)
                if (i + 1 == identities.Length || CompareIdentities(identities[i].Key, identities[i + 1].Key) != 0) identities[kept++] = identities[i];
            Identities.Truncate(kept);
            LookupKeySets.Span.Sort(static (a, b) => CompareLookupKeySets(a, b));
        }

        public void Dispose()
        {
            Identities.Dispose();
            LookupKeySets.Dispose();
        }
    }

    /// <summary>The profile's row from its pending row's snapshot, bound where SQLite holds it.</summary>
    private static readonly System.Buffers.ReadOnlySpanAction<byte, (ProfileTableStatements Statements, PendingChanges.ProfileKey Key, long Seq)> UpsertFromPending =
        static (snapshot, p) => p.Statements.UpsertProfile.Bind(1, p.Key.Account).Bind(2, p.Key.Audience).Bind(3, p.Key.Id).Bind(4, p.Seq).BindBlob(5, snapshot).Run();

    /// <summary>
    /// The primary key's order (account, audience, id as its 16 stored bytes): a slice's rows are
    /// neighbours in the table. Ids are stored big-endian, the order <see cref="Guid.CompareTo(Guid)"/> has.
    /// </summary>
    private static int CompareProfiles(PendingChanges.ProfileKey a, PendingChanges.ProfileKey b)
    {
        var order = a.Account.CompareTo(b.Account);
        if (order == 0) order = string.CompareOrdinal(a.Audience, b.Audience);
        return order != 0 ? order : a.Id.CompareTo(b.Id);
    }

    private static int CompareLookupKeySets((PendingChanges.ProfileKey Profile, byte[] Keys) a, (PendingChanges.ProfileKey Profile, byte[] Keys) b)
    {
        var order = CompareProfiles(a.Profile, b.Profile);
        return order != 0 ? order : a.Keys.AsSpan().SequenceCompareTo(b.Keys);
    }

    private static int CompareIdentities(IdentityKey a, IdentityKey b)
    {
        var order = a.Account.CompareTo(b.Account);
        if (order == 0) order = string.CompareOrdinal(a.Audience, b.Audience);
        if (order == 0) order = string.CompareOrdinal(a.Key, b.Key);
        return order != 0 ? order : string.CompareOrdinal(a.Value, b.Value);
    }

    /// <summary>The write-behind's statements on its connection (<see cref="_behind"/>).</summary>
    private sealed class ProfileTableStatements(SqliteConnection connection) : IDisposable
    {
        public SqliteConnection Connection => connection;
        public RawStatement UpsertProfile { get; } = new(connection, """
            INSERT INTO profiles (account_id, audience, id, applied_seq, snapshot) VALUES (?1, ?2, ?3, ?4, ?5)
            ON CONFLICT (account_id, audience, id) DO UPDATE SET applied_seq = excluded.applied_seq, snapshot = excluded.snapshot
            """);
        public RawStatement UpsertIdentity { get; } = new(connection,
            "INSERT OR REPLACE INTO identities (account_id, audience, key, value, profile_id) VALUES (?1, ?2, ?3, ?4, ?5)");
        public RawStatement DeleteIdentity { get; } = new(connection,
            "DELETE FROM identities WHERE account_id = ?1 AND audience = ?2 AND key = ?3 AND value = ?4");
        public RawStatement DeleteProfile { get; } = new(connection,
            "DELETE FROM profiles WHERE account_id = ?1 AND audience = ?2 AND id = ?3");
        public RawStatement InsertAlias { get; } = new(connection,
            "INSERT OR REPLACE INTO aliases (account_id, audience, from_id, to_id) VALUES (?1, ?2, ?3, ?4)");
        public RawStatement RetargetAliases { get; } = new(connection,
            "UPDATE aliases SET to_id = ?4 WHERE account_id = ?1 AND audience = ?2 AND to_id = ?3");
        public RawStatement UpsertLookupKeySet { get; } = new(connection,
            "INSERT OR IGNORE INTO lookup_key_sets (account_id, audience, profile_id, keys) VALUES (?1, ?2, ?3, ?4)");
        public RawStatement PendingSnapshot { get; } = new(connection, PendingSnapshotSql);
        public TransactionStatements Transaction { get; } = new(connection);

        public void Dispose()
        {
            foreach (var statement in (RawStatement[])[UpsertProfile, UpsertIdentity, DeleteIdentity, DeleteProfile, InsertAlias, RetargetAliases, UpsertLookupKeySet, PendingSnapshot])
                statement.Dispose();
            Transaction.Dispose();
        }
    }

    /// <summary>
    /// Copies the profile file's WAL into it and puts the copied pages on the disk, before the pending
    /// rows they came from go. The write-behind's transactions are not synced at their commits, so the
    /// WAL is synced first: a page may reach the file only once the WAL that holds it is durable. The
    /// checkpoint itself does not sync (<c>synchronous=NORMAL</c> would sync the whole file at once, and
    /// every commit of the log would wait behind that flush); the pages are written back a slice at a
    /// time (<see cref="WriteBack"/>), then the file is synced, which then has little left to write.
    /// Only then may the WAL start over (the next transaction of this connection, the file's only
    /// writer), so a crash finds every page either in the WAL or on the disk.
    /// </summary>
    private void CheckpointProfileStore(bool rest)
    {
        _slicesSinceCheckpoint = 0;
        // Without the files' handles (another SQLite provider) SQLite's checkpoint syncs the WAL and the file itself.
        var syncedHere = DatabaseFile(_behind, ProfileStore) != IntPtr.Zero && JournalFile(_behind, ProfileStore) != IntPtr.Zero;
        if (!syncedHere)
        {
            Execute(_behind, $"PRAGMA {ProfileStore}.wal_checkpoint(PASSIVE);");
            return;
        }
        SyncDatabaseFile(_behind, ProfileStore, wal: true);
        Execute(_behind, $"PRAGMA {ProfileStore}.synchronous=OFF; PRAGMA {ProfileStore}.wal_checkpoint(PASSIVE); PRAGMA {ProfileStore}.synchronous=NORMAL;");
        WriteBackInSlices(_behind, ProfileStore, afterSlice: rest ? Rest : null);
        SyncDatabaseFile(_behind, ProfileStore);
    }
}
