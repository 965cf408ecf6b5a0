namespace Tailor.Server.Grains;

/// <summary>
/// The profiles of one partition of an audience (key <c>{account}/{audience}/{partition}</c>, a profile's
/// partition fixed by its id): their state in memory as snapshot bytes, the single writer of each.
/// Reentrant, so that the partition's profiles progress together, but a profile's own calls run one
/// at a time, in order (<see cref="KeyedTurns{TKey}"/>): its events are applied, and logged, in order.
/// One activation holds thousands of profiles; an activation per profile cost about a kilobyte of
/// memory and its creation and collection work on every first touch.
/// </summary>
public interface IProfilePartitionGrain : IGrainWithStringKey
{
    /// <summary>Applies the event and commits it, as <paramref name="stitch"/> decided (or the edge's hint).</summary>
    /// <remarks>
    /// The stitching decision comes apart from the call, which then goes to the grain as the handler made
    /// it (no copy per call). A ValueTask: Orleans then hands the caller its pooled completion source
    /// instead of a Task wrapping it.
    /// </remarks>
    ValueTask<PersonalizeReply> Personalize(Guid id, PersonalizeCall call, StitchReply stitch);
    /// <summary>The offers for the profile as it is, without applying the event (a repeated uuid).</summary>
    Task<PersonalizeReply> Evaluate(Guid id, PersonalizeCall call);
    /// <summary>Hands the profile's state over to <paramref name="into"/> (a merge); the profile becomes an alias of it.</summary>
    Task<byte[]?> Absorb(Guid id, Guid into);
    /// <summary>The profile's snapshot (ProfileSnapshot bytes), or null when it has no state.</summary>
    Task<byte[]?> Snapshot(Guid id);
    /// <summary>Drops the profile's state for an erasure; the identity grain then erases it from the store.</summary>
    Task<EraseReply> Erase(Guid id);
    /// <summary>Applies an import row (attributes, batch segments, identifiers, lookup keys).</summary>
    Task<PersonalizeReply> Import(Guid id, ImportCall call);
}

/// <summary>One profile: its partition grain and its id, with the partition's calls for it.</summary>
public readonly record struct ProfileRef(IProfilePartitionGrain Partition, Guid Id)
{
    public ValueTask<PersonalizeReply> Personalize(PersonalizeCall call, StitchReply stitch) => Partition.Personalize(Id, call, stitch);
    public Task<PersonalizeReply> Evaluate(PersonalizeCall call) => Partition.Evaluate(Id, call);
    public Task<byte[]?> Absorb(Guid into) => Partition.Absorb(Id, into);
    public Task<byte[]?> Snapshot() => Partition.Snapshot(Id);
    public Task<EraseReply> Erase() => Partition.Erase(Id);
    public Task<PersonalizeReply> Import(ImportCall call) => Partition.Import(Id, call);
}
