using Tailor.Core.Profiles;

namespace Tailor.Core.Identity;

/// <summary>What ID stitching decided for one event.</summary>
public abstract record StitchPlan(IReadOnlyList<Identifier> Identifiers)
{
    /// <summary>No identifier is known: a new profile with this id.</summary>
    public sealed record NewProfile(Guid ProfileId, IReadOnlyList<Identifier> Identifiers) : StitchPlan(Identifiers);

    /// <summary>All known identifiers point to one profile; <see cref="Added"/> are new to it.</summary>
    public sealed record Existing(Guid ProfileId, IReadOnlyList<Identifier> Added, IReadOnlyList<Identifier> Identifiers) : StitchPlan(Identifiers);

    /// <summary>The identifiers span several profiles: they merge into <see cref="Target"/>, the oldest.</summary>
    public sealed record Merge(Guid Target, IReadOnlyList<Guid> Sources, IReadOnlyList<Identifier> Added, IReadOnlyList<Identifier> Identifiers) : StitchPlan(Identifiers);

    /// <summary>The profile the event belongs to once the plan is carried out.</summary>
    public Guid Profile => this switch
    {
        NewProfile n => n.ProfileId,
        Existing e => e.ProfileId,
        Merge m => m.Target,
        _ => Guid.Empty,
    };
}

/// <summary>What stitching decided: the profile, whether it is new, and the profiles that merge into it (oldest first; null when none).</summary>
public readonly record struct StitchDecision(Guid Profile, bool IsNew, IReadOnlyList<Guid>? MergeSources);

/// <summary>
/// ID stitching as pure functions over an identity view (identifier → profile id). Storage and
/// concurrency belong to the host; this decides what should happen.
/// </summary>
public static class IdentityStitcher
{
    /// <summary>Plans the stitching of an event's identifiers (from <c>CompiledAudience.TryGetIdentifiers</c>).</summary>
    public static StitchPlan Plan(IReadOnlyList<Identifier> identifiers, Func<Identifier, Guid?> lookup, Func<Guid> newProfileId)
    {
        var owners = new Guid?[identifiers.Count];
        for (var i = 0; i < owners.Length; i++) owners[i] = lookup(identifiers[i]);
        return Plan(identifiers, owners, newProfileId);
    }

    /// <summary>
    /// The same with each identifier's current profile given (<paramref name="owners"/>, in the same
    /// order): only what the plan holds is allocated, nothing for the usual single profile or when no
    /// identifier is new.
    /// </summary>
    public static StitchPlan Plan(IReadOnlyList<Identifier> identifiers, ReadOnlySpan<Guid?> owners, Func<Guid> newProfileId)
    {
        if (owners.Length != identifiers.Count) throw new ArgumentException("one owner per identifier", nameof(owners));
        var decision = Decide(owners, newProfileId);
        if (decision.IsNew) return new StitchPlan.NewProfile(decision.Profile, identifiers);
        var newOnes = NewOnes(identifiers, owners);
        return decision.MergeSources is { } sources
            ? new StitchPlan.Merge(decision.Profile, sources, newOnes, identifiers)
            : new StitchPlan.Existing(decision.Profile, newOnes, identifiers);
    }

    /// <summary>
    /// The profile the identifiers belong to once stitched, from each one's current profile
    /// (<paramref name="owners"/>; null for an unknown one): a new profile when none is known, the one
    /// known profile, or the oldest of several, into which the others (<see cref="StitchDecision.MergeSources"/>)
    /// merge. What <see cref="Plan(IReadOnlyList{Identifier}, ReadOnlySpan{Guid?}, Func{Guid})"/> decides,
    /// without its lists: the identity grain decides every call's stitching this way, allocating nothing
    /// unless profiles merge.
    /// </summary>
    public static StitchDecision Decide(ReadOnlySpan<Guid?> owners, Func<Guid> newProfileId)
    {
        ArgumentOutOfRangeException.ThrowIfZero(owners.Length);
        Guid? first = null;
        List<Guid>? others = null;
        foreach (var owner in owners)
        {
            if (owner is not { } profile) continue;
            if (first is null) first = profile;
            else if (profile != first && !(others?.Contains(profile) ?? false)) (others ??= []).Add(profile);
        }
        if (first is not { } only) return new StitchDecision(newProfileId(), IsNew: true, MergeSources: null);
        if (others is null) return new StitchDecision(only, IsNew: false, MergeSources: null);
        others.Add(only);
        var target = Oldest(others);
        return new StitchDecision(target, IsNew: false, SourcesOf(others, target));
    }

    /// <summary>The identifiers no profile has, in order.</summary>
    private static Identifier[] NewOnes(IReadOnlyList<Identifier> identifiers, ReadOnlySpan<Guid?> owners)
    {
        var count = 0;
        foreach (var owner in owners)
            if (owner is null) count++;
        if (count == 0) return [];
        var newOnes = new Identifier[count];
        for (int i = 0, n = 0; i < owners.Length; i++)
            if (owners[i] is null) newOnes[n++] = identifiers[i];
        return newOnes;
    }

    /// <summary>The profiles a merge moves into <paramref name="target"/>, oldest first (in a method of its own: its closure is made only for a merge).</summary>
    private static List<Guid> SourcesOf(List<Guid> profiles, Guid target) =>
        profiles.Where(p => p != target).OrderBy(CreatedMs).ThenBy(p => p).ToList();

    /// <summary>A new profile id: a UUIDv7 stamped with <paramref name="time"/>'s current time.</summary>
    public static Guid NewProfileId(TimeProvider time) => Uuid7.Create(time.GetUtcNow());

    /// <summary>The creation time (Unix ms) a UUIDv7 carries in its first 48 bits.</summary>
    public static long CreatedMs(Guid id)
    {
        Span<byte> bytes = stackalloc byte[16];
        id.TryWriteBytes(bytes, bigEndian: true, out _);
        return ((long)bytes[0] << 40) | ((long)bytes[1] << 32) | ((long)bytes[2] << 24) | ((long)bytes[3] << 16) | ((long)bytes[4] << 8) | bytes[5];
    }

    /// <summary>The oldest profile by UUIDv7 time; ties broken by id so every node picks the same one.</summary>
    public static Guid Oldest(IEnumerable<Guid> profiles) => profiles.OrderBy(CreatedMs).ThenBy(p => p).First();
}
