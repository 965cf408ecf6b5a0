namespace Tailor.Core.Profiles;

/// <summary>One identifier of a profile: a stitching key's name and value.</summary>
public readonly record struct Identifier(string Key, string Value)
{
    public override string ToString() => $"{Key}={Value}";
}

/// <summary>An identifier held by a profile, with when it was first seen (for eviction of the oldest).</summary>
public readonly record struct ProfileIdentifier(Identifier Identifier, long AddedMs);

/// <summary>
/// Everything Tailor holds about one customer in real time. Attribute states sit in an array by
/// slot of the audience's <see cref="AttributeLayout"/>; segment memberships are a bit set.
/// </summary>
public sealed class ProfileState
{
    public const int MaxIdentifiers = 200;

    private readonly List<ProfileIdentifier> _identifiers = [];

    public ProfileState(Guid id, long createdMs, AttributeLayout layout)
    {
        Id = id;
        CreatedMs = createdMs;
        Layout = layout;
        Attributes = new AttributeState?[layout.Count];
        SegmentBits = new ulong[(layout.SegmentCount + 63) / 64];
    }

    /// <summary>
    /// Makes this state another profile's, empty, keeping its objects for reuse: a partition reads a
    /// profile into objects on every call, and reusing a finished call's objects saves most of a
    /// kilobyte per call. The previous profile's attribute objects become spares that
    /// <see cref="Spare{T}"/> hands out again. Only for a state that nothing else refers to any more.
    /// </summary>
    internal void Reset(Guid id, long createdMs)
    {
        Id = id;
        CreatedMs = createdMs;
        UpdatedMs = 0;
        EventCount = 0;
        BatchSegments = [];
        _identifiers.Clear();
        Array.Clear(SegmentBits);
        var leftovers = _spares is { } kept && kept.Length == Attributes.Length ? kept : new AttributeState?[Attributes.Length];
        // A spare the previous profile did not take stays one: profiles differ in which attributes they
        // have, and a slot's object was otherwise made again whenever two in a row did not share it.
        for (var i = 0; i < Attributes.Length; i++) Attributes[i] ??= leftovers[i];
        (_spares, Attributes) = (Attributes, leftovers);
        Array.Clear(Attributes);
    }

    private AttributeState?[]? _spares;

    /// <summary>A spare attribute object of this kind for <paramref name="slot"/> (taken, so that it is handed out once), or null.</summary>
    internal T? Spare<T>(int slot) where T : AttributeState
    {
        if (_spares is null || _spares[slot] is not T spare) return null;
        _spares[slot] = null;
        return spare;
    }

    /// <summary>A UUIDv7: creation order is id order.</summary>
    public Guid Id { get; private set; }
    public long CreatedMs { get; private set; }
    public long UpdatedMs { get; set; }
    /// <summary>Key events applied so far (all time).</summary>
    public long EventCount { get; set; }

    /// <summary>The layout the <see cref="Attributes"/> array follows; a new configuration remaps it.</summary>
    public AttributeLayout Layout { get; internal set; }
    public AttributeState?[] Attributes { get; internal set; }
    public ulong[] SegmentBits { get; internal set; }
    /// <summary>Ids of the batch segments the profile belongs to (from profile import), sorted.</summary>
    public string[] BatchSegments { get; set; } = [];

    public IReadOnlyList<ProfileIdentifier> Identifiers => _identifiers;

    public bool InSegment(int index) => (uint)(index >> 6) < (uint)SegmentBits.Length && (SegmentBits[index >> 6] & (1UL << index)) != 0;

    public void SetSegment(int index, bool member)
    {
        if (member) SegmentBits[index >> 6] |= 1UL << index;
        else SegmentBits[index >> 6] &= ~(1UL << index);
    }

    public bool InBatchSegment(string id) => Array.BinarySearch(BatchSegments, id, StringComparer.Ordinal) >= 0;

    public void SetBatchSegments(IEnumerable<string> ids) =>
        BatchSegments = ids.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();

    public bool HasIdentifier(Identifier identifier)
    {
        foreach (var held in _identifiers)
            if (held.Identifier == identifier) return true;
        return false;
    }

    /// <summary>
    /// Adds identifiers not held yet. Beyond <see cref="MaxIdentifiers"/> the oldest are evicted and
    /// returned, so that the identity index can forget them.
    /// </summary>
    public IReadOnlyList<Identifier> AddIdentifiers(IEnumerable<Identifier> identifiers, long nowMs)
    {
        foreach (var identifier in identifiers) AddIfNew(identifier, nowMs);
        return EvictOldestIdentifiers();
    }

    /// <summary>The same for identifiers in another form (a grain message's), converted one by one: no iterator per call.</summary>
    public IReadOnlyList<Identifier> AddIdentifiers<T>(T[] identifiers, Func<T, Identifier> convert, long nowMs)
    {
        foreach (var item in identifiers) AddIfNew(convert(item), nowMs);
        return EvictOldestIdentifiers();
    }

    private void AddIfNew(Identifier identifier, long nowMs)
    {
        if (!HasIdentifier(identifier)) _identifiers.Add(new ProfileIdentifier(identifier, nowMs));
    }

    /// <summary>Room for this many identifiers (a snapshot read knows its count; a call usually adds one or two).</summary>
    internal void ReserveIdentifiers(int count) => _identifiers.EnsureCapacity(Math.Clamp(count, 0, MaxIdentifiers + 1));

    internal void AddIdentifier(ProfileIdentifier identifier)
    {
        if (!HasIdentifier(identifier.Identifier)) _identifiers.Add(identifier);
    }

    internal IReadOnlyList<Identifier> EvictOldestIdentifiers()
    {
        if (_identifiers.Count <= MaxIdentifiers) return [];
        // Stable: among equal times the first added is older.
        var ordered = _identifiers.Select((id, index) => (id, index)).OrderBy(p => p.id.AddedMs).ThenBy(p => p.index).ToList();
        var evicted = ordered.Take(_identifiers.Count - MaxIdentifiers).Select(p => p.id).ToList();
        _identifiers.RemoveAll(evicted.Contains);
        return evicted.Select(e => e.Identifier).ToList();
    }
}
