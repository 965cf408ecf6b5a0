using System.Diagnostics;

namespace Tailor.Storage.Sqlite;

/// <summary>
/// The committed changes that the profile tables do not hold yet (they are written behind, see
/// <see cref="SqliteStore.WriteBehind"/>), coalesced as the tables will hold them: each profile's
/// latest snapshot (or its removal by a merge), each identifier's latest owner (or its removal), the
/// merges in order, the lookup keys. Their durable copy is the <c>pending_changes</c> table, written in
/// the log's own transaction. Two generations: the one commits add to, and the one being written
/// behind; reads look in both, newest first, before the tables. Thread-safe.
/// </summary>
internal sealed class PendingChanges
{
    internal readonly record struct ProfileKey(long Account, string Audience, Guid Id);
    internal readonly record struct IdentityKey(long Account, string Audience, string Key, string Value);

    internal enum Found { No, Removed, Yes }

    internal sealed class Generation
    {
        /// <summary>A null snapshot: the profile was merged into another, its row goes.</summary>
        public Dictionary<ProfileKey, (long Seq, byte[]? Snapshot)> Profiles { get; } = [];
        /// <summary>A null profile: the identifier was evicted, its row goes.</summary>
        public Dictionary<IdentityKey, Guid?> Identities { get; } = [];
        public List<(ProfileKey Merged, Guid Into)> Merges { get; } = [];
        /// <summary>The merges as the aliases table will have them (earlier aliases to a merged profile lead on to its survivor).</summary>
        public Dictionary<ProfileKey, Guid> Aliases { get; } = [];
        public List<(ProfileKey Profile, byte[] Key)> LookupKeys { get; } = [];
        /// <summary>The last change's log position: the generation holds every change up to it since the one before.</summary>
        public long LastSeq { get; private set; }
        public long FirstAdded { get; private set; }
        public int Changes { get; private set; }

        public void Add(WriteItem item, long seq)
        {
            if (Changes++ == 0) FirstAdded = Stopwatch.GetTimestamp();
            LastSeq = seq;
            var (account, audience) = (item.Scope.AccountId, item.Scope.Audience);
            var key = new ProfileKey(account, audience, item.ProfileId);
            ref var entry = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(Profiles, key, out _);
            // The array is reused when the size is the same (it often is): readers copy out under the lock.
            var snapshot = item.Snapshot.Span;
            var bytes = entry.Snapshot is { } held && held.Length == snapshot.Length ? held : new byte[snapshot.Length];
            snapshot.CopyTo(bytes);
            entry = (seq, bytes);
            for (var i = 0; i < item.IdentitiesUpserted.Count; i++)
            {
                var identity = item.IdentitiesUpserted[i];
                Identities[new IdentityKey(account, audience, identity.Key, identity.Value)] = identity.ProfileId;
            }
            for (var i = 0; i < item.IdentitiesDeleted.Count; i++)
                Identities[new IdentityKey(account, audience, item.IdentitiesDeleted[i].Key, item.IdentitiesDeleted[i].Value)] = null;
            for (var i = 0; i < item.MergedProfiles.Count; i++)
            {
                var merged = new ProfileKey(account, audience, item.MergedProfiles[i]);
                Profiles[merged] = (seq, null);
                Merges.Add((merged, item.ProfileId));
                foreach (var (from, to) in Aliases)
                    if (to == merged.Id && from.Account == account && from.Audience == audience) Aliases[from] = item.ProfileId;
                Aliases[merged] = item.ProfileId;
            }
            for (var i = 0; i < item.LookupKeys.Count; i++) LookupKeys.Add((key, item.LookupKeys[i]));
        }
    }

    private readonly Lock _lock = new();
    private Generation _active = new();
    private Generation? _writing;

    /// <summary>Adds a committed change (the log's writer, in log order).</summary>
    public void Add(WriteItem item, long seq)
    {
        lock (_lock) _active.Add(item, seq);
    }

    /// <summary>Whether the changes added since the last write-behind are as many as <paramref name="most"/>, or the first of them is as old as <paramref name="after"/>.</summary>
    public bool Due(TimeSpan after, int most)
    {
        lock (_lock)
            return _writing is not null || _active.Changes > 0 && (_active.Changes >= most || Stopwatch.GetElapsedTime(_active.FirstAdded) >= after);
    }

    public bool AnyMerges
    {
        get
        {
            lock (_lock) return _active.Merges.Count > 0 || _writing?.Merges.Count > 0;
        }
    }

    /// <summary>
    /// The generation to write behind: one that failed to be written before, else the changes added so
    /// far (later ones go to a new generation); null when there are none.
    /// </summary>
    public Generation? StartWriting()
    {
        lock (_lock)
        {
            if (_writing is not null) return _writing;
            if (_active.Changes == 0) return null;
            (_writing, _active) = (_active, new Generation());
            return _writing;
        }
    }

    /// <summary>The generation is in the tables: reads find it there.</summary>
    public void Written(Generation generation)
    {
        lock (_lock)
            if (_writing == generation) _writing = null;
    }

    /// <summary>Hands a pending snapshot to <paramref name="read"/> (under the lock: the caller copies what it keeps).</summary>
    public Found TryRead<TArg>(ProfileKey key, TArg arg, System.Buffers.ReadOnlySpanAction<byte, TArg> read)
    {
        lock (_lock)
        {
            if (!_active.Profiles.TryGetValue(key, out var entry) && _writing?.Profiles.TryGetValue(key, out entry) != true) return Found.No;
            if (entry.Snapshot is null) return Found.Removed;
            read(entry.Snapshot, arg);
            return Found.Yes;
        }
    }

    /// <summary>A pending snapshot (a copy) and its log position.</summary>
    public Found TryGet(ProfileKey key, out ProfileRecord? record)
    {
        lock (_lock)
        {
            record = null;
            if (!_active.Profiles.TryGetValue(key, out var entry) && _writing?.Profiles.TryGetValue(key, out entry) != true) return Found.No;
            if (entry.Snapshot is null) return Found.Removed;
            record = new ProfileRecord(key.Id, entry.Seq, entry.Snapshot.ToArray());
            return Found.Yes;
        }
    }

    /// <summary>The profile a pending merge moved this one into.</summary>
    public Guid? Alias(ProfileKey key)
    {
        lock (_lock)
        {
            if (_active.Aliases.TryGetValue(key, out var into)) return into;
            return _writing is not null && _writing.Aliases.TryGetValue(key, out into) ? into : null;
        }
    }
}
