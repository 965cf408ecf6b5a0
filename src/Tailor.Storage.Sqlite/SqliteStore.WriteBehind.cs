using System.Buffers.Binary;
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
/// rows. Each slice is a short transaction taken between the log's commits (a commit waiting for the
/// writer goes first), followed by a rest as long as the slice took; then the pending rows go. Until
/// then a profile is read from its latest pending row, found through <see cref="PendingChanges"/>.
/// After a crash, opening the file reads the pending rows back and writes them behind first: the tables
/// plus the pending rows always hold every committed change.
/// </summary>
public sealed partial class SqliteStore
{
    private static readonly Meter Meter = new("Tailor.Store");
    private static readonly Counter<long> RowsWrittenBehind = Meter.CreateCounter<long>("tailor.store.writebehind.rows", "{row}",
        "Profile and identity rows written behind the log (each once per write-behind, however often it changed)");
    private static readonly Counter<long> PagesWrittenBehind = Meter.CreateCounter<long>("tailor.store.writebehind.pages", "{page}",
        "Database pages the write-behind's transactions wrote (SQLite: 4 KiB pages into the WAL)");

    /// <summary>30 s: a profile or identifier changed several times in that window is written once, and so is a page of the table changed several times.</summary>
    public static readonly TimeSpan DefaultWriteBehindAfter = TimeSpan.FromSeconds(30);

    /// <summary>Written behind sooner once this many changes are pending (bounds their memory, ~60 bytes each in memory).</summary>
    public const int MaxPendingChanges = 500_000;

    /// <summary>Rows per write-behind transaction: the log's writer waits for at most one (~64 pages).</summary>
    public const int SliceRows = 64;

    /// <summary>
    /// Rows per transaction of a write-behind that someone waits for (opening after a crash, a scan, an
    /// erasure, closing). Those transactions are not synced either (<c>synchronous=OFF</c>): the log's
    /// next commit syncs them with its own, and a crash before keeps their pending rows, as the WAL only
    /// ever recovers a prefix of its transactions. Otherwise each slice's own sync made a restart after a
    /// crash under load take a minute.
    /// </summary>
    private const int HurriedSliceRows = 1024;

    /// <summary>Pending rows deleted per transaction (a few hundred KB of rows).</summary>
    private const int DeleteRows = 1024;

    /// <summary>
    /// The background write-behind rests this many times as long as each slice took: the log's writer
    /// has the database at least half of the time (writes that must be done now do not rest).
    /// </summary>
    private const int RestPerSlice = 1;

    /// <summary>Log commits waiting for the writer connection (<see cref="CommitBatch"/>): a slice waits for them.</summary>
    private int _logWaiting;

    public TimeSpan WriteBehindAfter { get; }

    private readonly PendingChanges _pending = new();
    private readonly Lock _writeBehindLock = new();
    private readonly CancellationTokenSource _closing = new();
    private Thread? _writeBehindThread;
    /// <summary>Callers waiting for a write-behind to finish (a scan, an erasure): the one under way stops resting.</summary>
    private int _hurry;

    /// <summary>Reads the changes a crash left pending back into memory, writes them behind, and starts the background write-behind.</summary>
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
            }
        }
        WriteBehind();
        _writeBehindThread = new Thread(WriteBehindWhenDue) { Name = "tailor-write-behind", IsBackground = true };
        _writeBehindThread.Start();
    }

    private void WriteBehindWhenDue()
    {
        while (!_closing.Token.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(100)))
        {
            if (!_pending.Due(WriteBehindAfter, MaxPendingChanges)) continue;
            try
            {
                lock (_writeBehindLock)
                    if (_disposed == 0) WriteAllPending(rest: true);
            }
            catch (SqliteException)
            {
                // Retried when next due (the generation stays pending, in memory and in its rows).
            }
        }
    }

    /// <summary>
    /// Writes every change committed so far into the profile tables (see the class comment), without
    /// resting. Anything that reads or changes the tables directly (scans, erasures, imports) calls it first.
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
        var statements = _statements;
        var sliceRows = rest ? SliceRows : HurriedSliceRows;
        var profiles = generation.Profiles.Pairs.ToArray();
        Array.Sort(profiles, (a, b) => CompareProfiles(a.Key, b.Key));
        var (identities, keys) = ReadEffects(generation);
        for (var start = 0; start < profiles.Length; start += sliceRows)
        {
            var slice = profiles.AsMemory(start, Math.Min(sliceRows, profiles.Length - start));
            InSliceTransaction(statements, rest, () =>
            {
                foreach (var (key, change) in slice.Span)
                    if (change.Removed) statements.DeleteProfile.Bind(1, key.Account).Bind(2, key.Audience).Bind(3, key.Id).Run();
                    else if (!statements.PendingSnapshot.Bind(1, change.Seq).TryFirstBlob(0, (statements, key, change.Seq), UpsertFromPending))
                        throw new InvalidOperationException($"the pending change {change.Seq} of profile {key.Id} is missing");
            }, slice.Length);
        }
        for (var start = 0; start < identities.Length; start += sliceRows)
        {
            var slice = identities.AsMemory(start, Math.Min(sliceRows, identities.Length - start));
            InSliceTransaction(statements, rest, () =>
            {
                foreach (var (key, owner) in slice.Span)
                    if (owner is { } profile) statements.UpsertIdentity.Bind(1, key.Account).Bind(2, key.Audience).Bind(3, key.Key).Bind(4, key.Value).Bind(5, profile).Run();
                    else statements.DeleteIdentity.Bind(1, key.Account).Bind(2, key.Audience).Bind(3, key.Key).Bind(4, key.Value).Run();
            }, slice.Length);
        }
        // The merges in their order (few: one transaction).
        InSliceTransaction(statements, rest, () =>
        {
            foreach (var (merged, into) in generation.Merges)
            {
                statements.InsertAlias.Bind(1, merged.Account).Bind(2, merged.Audience).Bind(3, merged.Id).Bind(4, into).Run();
                // Earlier aliases to the merged profile now lead to the survivor directly.
                statements.RetargetAliases.Bind(1, merged.Account).Bind(2, merged.Audience).Bind(3, merged.Id).Bind(4, into).Run();
            }
        }, generation.Merges.Count);
        // Lookup keys (an import's: one or more per profile), in key order too.
        for (var start = 0; start < keys.Length; start += sliceRows)
        {
            var slice = keys.AsMemory(start, Math.Min(sliceRows, keys.Length - start));
            InSliceTransaction(statements, rest, () =>
            {
                foreach (var (profile, key) in slice.Span)
                    statements.UpsertLookupKey.Bind(1, profile.Account).Bind(2, profile.Audience).BindBlob(3, key).Bind(4, profile.Id).Run();
            }, slice.Length);
        }
        // Last the pending rows, once everything they hold is in the tables.
        // The generation's changes have the log positions FirstSeq..LastSeq, each one row.
        for (var upTo = generation.FirstSeq + DeleteRows - 1; ; upTo += DeleteRows)
        {
            var bound = Math.Min(upTo, generation.LastSeq);
            InSliceTransaction(statements, rest, () => statements.DeletePending.Bind(1, bound).Run(), 0);
            if (bound == generation.LastSeq) break;
        }
    }

    /// <summary>
    /// The identity changes and lookup keys of the generation's changes, read back from their pending rows
    /// (memory keeps only what reads need), each identifier once with its latest owner or its removal (a
    /// null owner), both sorted in their table's key order.
    /// </summary>
    private (KeyValuePair<IdentityKey, Guid?>[] Identities, (PendingChanges.ProfileKey Profile, byte[] Key)[] LookupKeys) ReadEffects(PendingChanges.Generation generation)
    {
        var scan = new EffectsScan();
        using (var connection = Open())
        using (var rows = new RawStatement(connection, "SELECT account_id, audience, profile_id, effects FROM pending_changes WHERE seq BETWEEN ?1 AND ?2 AND effects IS NOT NULL ORDER BY seq"))
            rows.Bind(1, generation.FirstSeq).Bind(2, generation.LastSeq).ForEach(scan, static (row, scan) => scan.Add(row));
        return scan.Sorted();
    }

    /// <summary>An identifier as the identities table keys it.</summary>
    private readonly record struct IdentityKey(long Account, string Audience, string Key, string Value);

    /// <summary>Identity changes coalesced in log order (the latest wins) and lookup keys, with key names and audiences shared.</summary>
    private sealed class EffectsScan
    {
        private readonly Dictionary<IdentityKey, Guid?> _identities = [];
        private readonly List<(PendingChanges.ProfileKey, byte[])> _keys = [];
        private readonly Dictionary<string, string> _names = [];

        public void Add(RawStatement row)
        {
            var account = row.Int64(0);
            var audience = Shared(row.Span(1));
            var profile = row.Id(2);
            var effects = new ChangeEffects.Reader(row.Span(3));
            for (var n = effects.Count(); n > 0; n--)
            {
                var (key, value) = (Shared(effects.Bytes()), effects.Text());
                _identities[new(account, audience, key, value)] = effects.Id();
            }
            for (var n = effects.Count(); n > 0; n--)
            {
                var (key, value) = (Shared(effects.Bytes()), effects.Text());
                _identities[new(account, audience, key, value)] = null;
            }
            // The merges are in memory (reads need them): skipped here.
            for (var n = effects.Count(); n > 0; n--) effects.Id();
            for (var n = effects.Count(); n > 0; n--) _keys.Add((new(account, audience, profile), effects.Bytes().ToArray()));
        }

        /// <summary>One string per distinct name (identifier keys and audiences are few).</summary>
        private string Shared(ReadOnlySpan<byte> utf8)
        {
            Span<char> chars = utf8.Length <= 256 ? stackalloc char[utf8.Length] : new char[utf8.Length];
            chars = chars[..Encoding.UTF8.GetChars(utf8, chars)];
            var names = _names.GetAlternateLookup<ReadOnlySpan<char>>();
            if (names.TryGetValue(chars, out var name)) return name;
            name = new string(chars);
            _names[name] = name;
            return name;
        }

        public (KeyValuePair<IdentityKey, Guid?>[], (PendingChanges.ProfileKey, byte[])[]) Sorted()
        {
            var identities = _identities.ToArray();
            Array.Sort(identities, (a, b) => CompareIdentities(a.Key, b.Key));
            var keys = _keys.ToArray();
            Array.Sort(keys, (a, b) => CompareLookupKeys(a, b));
            return (identities, keys);
        }
    }

    /// <summary>The profile's row from its pending row's snapshot, bound where SQLite holds it.</summary>
    private static readonly System.Buffers.ReadOnlySpanAction<byte, (BatchStatements Statements, PendingChanges.ProfileKey Key, long Seq)> UpsertFromPending =
        static (snapshot, p) => p.Statements.UpsertProfile.Bind(1, p.Key.Account).Bind(2, p.Key.Audience).Bind(3, p.Key.Id).Bind(4, p.Seq).BindBlob(5, snapshot).Run();

    /// <summary>One write-behind transaction, taken between two of the log's commits; then, resting, it leaves the database to the log a while.</summary>
    private void InSliceTransaction(BatchStatements statements, bool rest, Action write, int rows)
    {
        // The log goes first: a commit waiting for the writer connection gets it before the next slice.
        while (Volatile.Read(ref _logWaiting) > 0) Thread.Yield();
        var started = Stopwatch.GetTimestamp();
        lock (_writerLock)
        {
            PagesWrittenSinceLastAsked();
            if (!rest) statements.SyncOff.Run();
            try
            {
                statements.Begin.Run();
                write();
                statements.Commit.Run();
            }
            catch
            {
                if (raw.sqlite3_get_autocommit(_writer.Handle) == 0) statements.Rollback.Run();
                throw;
            }
            finally
            {
                if (!rest) statements.SyncFull.Run();
            }
            PagesWrittenBehind.Add(PagesWrittenSinceLastAsked());
        }
        RowsWrittenBehind.Add(rows);
        // Not while someone waits for the write-behind, nor once changes pile up faster than it writes them.
        if (rest && Volatile.Read(ref _hurry) == 0 && _pending.Added < MaxPendingChanges / 2)
            _closing.Token.WaitHandle.WaitOne(Stopwatch.GetElapsedTime(started) * RestPerSlice);
    }

    /// <summary>The primary key's order (account, audience, id as its 16 stored bytes): a slice's rows are neighbours in the table.</summary>
    private static int CompareProfiles(PendingChanges.ProfileKey a, PendingChanges.ProfileKey b)
    {
        var order = a.Account.CompareTo(b.Account);
        if (order == 0) order = string.CompareOrdinal(a.Audience, b.Audience);
        return order != 0 ? order : StoredOrder(a.Id).CompareTo(StoredOrder(b.Id));
    }

    private static UInt128 StoredOrder(Guid id)
    {
        Span<byte> bytes = stackalloc byte[16];
        id.TryWriteBytes(bytes, bigEndian: true, out _);
        return BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }

    private static int CompareLookupKeys((PendingChanges.ProfileKey Profile, byte[] Key) a, (PendingChanges.ProfileKey Profile, byte[] Key) b)
    {
        var order = CompareProfiles(a.Profile, b.Profile);
        return order != 0 ? order : a.Key.AsSpan().SequenceCompareTo(b.Key);
    }

    private static int CompareIdentities(IdentityKey a, IdentityKey b)
    {
        var order = a.Account.CompareTo(b.Account);
        if (order == 0) order = string.CompareOrdinal(a.Audience, b.Audience);
        if (order == 0) order = string.CompareOrdinal(a.Key, b.Key);
        return order != 0 ? order : string.CompareOrdinal(a.Value, b.Value);
    }
}
