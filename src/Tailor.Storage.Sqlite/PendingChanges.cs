using System.Diagnostics;

namespace Tailor.Storage.Sqlite;

/// <summary>
/// What reads need of the committed changes that the profile tables do not hold yet (they are written
/// behind, see <see cref="SqliteStore.WriteBehind"/>): for each profile the log position of its latest
/// change, whose <c>pending_changes</c> row holds the snapshot, or its removal by a merge; and the
/// merges, in order. (Identity changes and lookup keys are read back from the pending rows when they
/// are written behind, and by the scans that load the identity and lookup indexes.) Two
/// generations: the one commits add to, and the one being written behind; reads look in both, newest
/// first, before the tables. About 60 bytes per pending profile. Thread-safe.
/// </summary>
internal sealed class PendingChanges
{
    internal readonly record struct ProfileKey(long Account, string Audience, Guid Id);

    /// <summary>A profile's pending state: the log position of its latest snapshot, or removed (merged into another).</summary>
    internal readonly record struct ProfileChange(long Seq, bool Removed);

    /// <summary>Sharded: the log's writer adds to them, and one large dictionary doubling at once would hold it up.</summary>
    internal sealed class Generation(int capacity)
    {
        public ShardedDictionary<ProfileKey, ProfileChange> Profiles { get; } = new(capacity);
        public List<(ProfileKey Merged, Guid Into)> Merges { get; } = [];
        /// <summary>The merges as the aliases table will have them (earlier aliases to a merged profile lead on to its survivor).</summary>
        public Dictionary<ProfileKey, Guid> Aliases { get; } = [];
        /// <summary>The generation holds every change from FirstSeq to LastSeq, each a row of <c>pending_changes</c>.</summary>
        public long FirstSeq { get; private set; }
        public long LastSeq { get; private set; }
        public long FirstAdded { get; private set; }
        public int Changes { get; private set; }

        public void Add(WriteItem item, long seq)
        {
            if (Changes++ == 0) (FirstAdded, FirstSeq) = (Stopwatch.GetTimestamp(), seq);
            LastSeq = seq;
            var (account, audience) = (item.Scope.AccountId, item.Scope.Audience);
            Profiles[new ProfileKey(account, audience, item.ProfileId)] = new ProfileChange(seq, Removed: false);
            for (var i = 0; i < item.MergedProfiles.Count; i++)
            {
                var merged = new ProfileKey(account, audience, item.MergedProfiles[i]);
                Profiles[merged] = new ProfileChange(seq, Removed: true);
                Merges.Add((merged, item.ProfileId));
                foreach (var (from, to) in Aliases)
                    if (to == merged.Id && from.Account == account && from.Audience == audience) Aliases[from] = item.ProfileId;
                Aliases[merged] = item.ProfileId;
            }
        }
    }

    private readonly Lock _lock = new();
    private Generation _active = new(0);
    private Generation? _writing;

    /// <summary>Adds committed changes, at log positions <paramref name="firstSeq"/>, <paramref name="firstSeq"/>+1, ... (the log's writer, in log order).</summary>
    public void Add(IReadOnlyList<WriteItem> items, long firstSeq)
    {
        lock (_lock)
            for (var i = 0; i < items.Count; i++) _active.Add(items[i], firstSeq + i);
    }

    /// <summary>Whether the changes added since the last write-behind are as many as <paramref name="most"/>, or the first of them is as old as <paramref name="after"/>.</summary>
    public bool Due(TimeSpan after, int most)
    {
        lock (_lock)
            return _writing is not null || _active.Changes > 0 && (_active.Changes >= most || Stopwatch.GetElapsedTime(_active.FirstAdded) >= after);
    }

    /// <summary>Changes added since the last write-behind started.</summary>
    public int Added
    {
        get
        {
            lock (_lock) return _active.Changes;
        }
    }

    public bool AnyMerges
    {
        get
        {
            lock (_lock) return _active.Merges.Count > 0 || _writing?.Merges.Count > 0;
        }
    }

    /// <summary>
    /// The generation to write behind: one that failed to be written before (<paramref name="again"/>),
    /// else the changes added so far (later ones go to a new generation); null when there are none.
    /// </summary>
    public Generation? StartWriting(out bool again)
    {
        // Made outside the lock (it may be large), which the log's writer takes. Sized for as many profiles
        // as the last one has, not its changes: a profile changed again and again is one entry.
        int profiles;
        lock (_lock) profiles = _active.Profiles.Count;
        var next = _writing is null ? new Generation(profiles) : null;
        lock (_lock)
        {
            again = _writing is not null;
            if (again) return _writing;
            if (_active.Changes == 0) return null;
            (_writing, _active) = (_active, next!);
            return _writing;
        }
    }

    /// <summary>The generation is in the tables: reads find it there.</summary>
    public void Written(Generation generation)
    {
        lock (_lock)
            if (_writing == generation) _writing = null;
    }

    /// <summary>
    /// An erased profile is no longer pending (its rows are gone): the write-behind must not look for
    /// them. Only while no generation is being written (the caller holds the write-behind's lock).
    /// </summary>
    public void Forget(ProfileKey key)
    {
        lock (_lock)
        {
            if (_writing is not null) throw new InvalidOperationException("a generation is being written");
            _active.Profiles.Remove(key);
        }
    }

    /// <summary>Whether a generation failed part way and waits to be written again.</summary>
    public bool Unfinished
    {
        get
        {
            lock (_lock) return _writing is not null;
        }
    }

    /// <summary>The profile's pending change, if it has one.</summary>
    public ProfileChange? Find(ProfileKey key)
    {
        lock (_lock)
        {
            if (_active.Profiles.TryGetValue(key, out var change)) return change;
            return _writing is not null && _writing.Profiles.TryGetValue(key, out change) ? change : null;
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
