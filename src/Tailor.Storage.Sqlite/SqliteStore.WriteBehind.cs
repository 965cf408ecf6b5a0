using System.Buffers.Binary;
using System.Diagnostics.Metrics;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Tailor.Storage.Sqlite;

/// <summary>
/// Writing profiles behind the log. A commit of the log writes its events and, for each change, one
/// row of <c>pending_changes</c> (the new snapshot and what else the change did), appended in log
/// order: a few hundred bytes, where updating the profile and identity tables in place would write a
/// page of each per change (the rows land on random pages of large B-trees). Every
/// <see cref="WriteBehindAfter"/> the changes committed since are written into those tables, each
/// profile and identifier once with its latest state, in key order and in slices of
/// <see cref="SliceRows"/> rows, each slice its own short transaction between the log's commits; then
/// their pending rows go. Until then reads find them in memory (<see cref="PendingChanges"/>). After a
/// crash, opening the file reads the pending rows back and writes them behind first: the tables plus
/// the pending rows always hold every committed change.
/// </summary>
public sealed partial class SqliteStore
{
    private static readonly Meter Meter = new("Tailor.Store");
    private static readonly Counter<long> RowsWrittenBehind = Meter.CreateCounter<long>("tailor.store.writebehind.rows", "{row}",
        "Profile and identity rows written behind the log (each once per write-behind, however often it changed)");
    private static readonly Counter<long> PagesWrittenBehind = Meter.CreateCounter<long>("tailor.store.writebehind.pages", "{page}",
        "Database pages the write-behind's transactions wrote (SQLite: 4 KiB pages into the WAL)");

    /// <summary>10 s: a profile or identifier changed several times in that window is written once.</summary>
    public static readonly TimeSpan DefaultWriteBehindAfter = TimeSpan.FromSeconds(10);

    /// <summary>Written behind sooner once this many changes are pending (bounds their memory, ~400 bytes each).</summary>
    public const int MaxPendingChanges = 200_000;

    /// <summary>Rows per write-behind transaction: the longest the log's writer waits for one.</summary>
    public const int SliceRows = 256;

    public TimeSpan WriteBehindAfter { get; }

    private readonly PendingChanges _pending = new();
    private readonly Lock _writeBehindLock = new();

    /// <summary>Reads the changes a crash left pending back into memory and writes them behind.</summary>
    private void RecoverPending()
    {
        using (var command = _writer.CreateCommand())
        {
            command.CommandText = "SELECT seq, account_id, audience, profile_id, snapshot, effects FROM pending_changes ORDER BY seq";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var scope = new AudienceScope(reader.GetInt64(1), reader.GetString(2));
                var effects = reader.IsDBNull(5) ? null : (byte[])reader[5];
                _pending.Add(ChangeEffects.Decode(scope, Id(reader, 3), (byte[])reader[4], effects), reader.GetInt64(0));
            }
        }
        WriteBehind();
    }

    private void WriteBehindIfDue()
    {
        if (_pending.Due(WriteBehindAfter, MaxPendingChanges)) WriteBehind();
    }

    /// <summary>
    /// Writes every change committed so far into the profile tables (see the class comment). Runs beside
    /// the log's writer; anything that reads the tables directly (scans, erasures, imports) calls it first.
    /// </summary>
    public void WriteBehind()
    {
        lock (_writeBehindLock)
            if (_disposed == 0) WriteAllPending();
    }

    private void WriteAllPending()
    {
        // A generation that failed part way is written again whole: each row is its latest state.
        while (_pending.StartWriting() is { } generation)
        {
            Write(generation);
            _pending.Written(generation);
        }
    }

    /// <summary>
    /// Closing: writes what is pending (a failure leaves it in <c>pending_changes</c> for the next open)
    /// and stops any later write-behind. False when the store was closed already.
    /// </summary>
    private bool WriteBehindBeforeClosing()
    {
        lock (_writeBehindLock)
        {
            if (_disposed == 1) return false;
            try
            {
                WriteAllPending();
            }
            catch (SqliteException)
            {
                // Recovered on the next open, from the pending rows.
            }
            _disposed = 1;
            return true;
        }
    }

    private void Write(PendingChanges.Generation generation)
    {
        var statements = _statements ??= new BatchStatements(_writer);
        var profiles = generation.Profiles.ToArray();
        Array.Sort(profiles, (a, b) => CompareProfiles(a.Key, b.Key));
        var identities = generation.Identities.ToArray();
        Array.Sort(identities, (a, b) => CompareIdentities(a.Key, b.Key));
        for (var start = 0; start < profiles.Length; start += SliceRows)
        {
            var slice = profiles.AsMemory(start, Math.Min(SliceRows, profiles.Length - start));
            InSliceTransaction(statements, () =>
            {
                foreach (var (key, (seq, snapshot)) in slice.Span)
                    if (snapshot is null) statements.DeleteProfile.Bind(1, key.Account).Bind(2, key.Audience).Bind(3, key.Id).Run();
                    else statements.UpsertProfile.Bind(1, key.Account).Bind(2, key.Audience).Bind(3, key.Id).Bind(4, seq).BindBlob(5, snapshot).Run();
            }, slice.Length);
        }
        for (var start = 0; start < identities.Length; start += SliceRows)
        {
            var slice = identities.AsMemory(start, Math.Min(SliceRows, identities.Length - start));
            InSliceTransaction(statements, () =>
            {
                foreach (var (key, owner) in slice.Span)
                    if (owner is { } profile) statements.UpsertIdentity.Bind(1, key.Account).Bind(2, key.Audience).Bind(3, key.Key).Bind(4, key.Value).Bind(5, profile).Run();
                    else statements.DeleteIdentity.Bind(1, key.Account).Bind(2, key.Audience).Bind(3, key.Key).Bind(4, key.Value).Run();
            }, slice.Length);
        }
        // Last, with the merges and lookup keys (few): the pending rows go once everything they hold is in the tables.
        InSliceTransaction(statements, () =>
        {
            foreach (var (merged, into) in generation.Merges)
            {
                statements.InsertAlias.Bind(1, merged.Account).Bind(2, merged.Audience).Bind(3, merged.Id).Bind(4, into).Run();
                // Earlier aliases to the merged profile now lead to the survivor directly.
                statements.RetargetAliases.Bind(1, merged.Account).Bind(2, merged.Audience).Bind(3, merged.Id).Bind(4, into).Run();
            }
            foreach (var (profile, key) in generation.LookupKeys)
                statements.UpsertLookupKey.Bind(1, profile.Account).Bind(2, profile.Audience).BindBlob(3, key).Bind(4, profile.Id).Run();
            statements.DeletePending.Bind(1, generation.LastSeq).Run();
        }, generation.Merges.Count + generation.LookupKeys.Count);
    }

    /// <summary>One write-behind transaction, taken between two of the log's commits.</summary>
    private void InSliceTransaction(BatchStatements statements, Action write, int rows)
    {
        lock (_writerLock)
        {
            PagesWrittenSinceLastAsked();
            statements.Begin.Run();
            try
            {
                write();
                statements.Commit.Run();
            }
            catch
            {
                if (raw.sqlite3_get_autocommit(_writer.Handle) == 0) statements.Rollback.Run();
                throw;
            }
            PagesWrittenBehind.Add(PagesWrittenSinceLastAsked());
        }
        RowsWrittenBehind.Add(rows);
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

    private static int CompareIdentities(PendingChanges.IdentityKey a, PendingChanges.IdentityKey b)
    {
        var order = a.Account.CompareTo(b.Account);
        if (order == 0) order = string.CompareOrdinal(a.Audience, b.Audience);
        if (order == 0) order = string.CompareOrdinal(a.Key, b.Key);
        return order != 0 ? order : string.CompareOrdinal(a.Value, b.Value);
    }
}
