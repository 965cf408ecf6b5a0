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

/// <summary>
/// ID stitching as pure functions over an identity view (identifier → profile id). Storage and
/// concurrency belong to the host; this decides what should happen.
/// </summary>
public static class IdentityStitcher
{
    /// <summary>Plans the stitching of an event's identifiers (from <c>CompiledAudience.TryGetIdentifiers</c>).</summary>
    public static StitchPlan Plan(IReadOnlyList<Identifier> identifiers, Func<Identifier, Guid?> lookup, Func<Guid> newProfileId)
    {
        ArgumentOutOfRangeException.ThrowIfZero(identifiers.Count);
        var profiles = new List<Guid>(1);
        var added = new List<Identifier>();
        foreach (var identifier in identifiers)
        {
            if (lookup(identifier) is { } profile)
            {
                if (!profiles.Contains(profile)) profiles.Add(profile);
            }
            else added.Add(identifier);
        }
        if (profiles.Count == 0) return new StitchPlan.NewProfile(newProfileId(), identifiers);
        if (profiles.Count == 1) return new StitchPlan.Existing(profiles[0], added, identifiers);
        var target = Oldest(profiles);
        return new StitchPlan.Merge(target, profiles.Where(p => p != target).OrderBy(CreatedMs).ThenBy(p => p).ToList(), added, identifiers);
    }

    /// <summary>A new profile id: a UUIDv7 stamped with <paramref name="time"/>'s current time.</summary>
    public static Guid NewProfileId(TimeProvider time) => Guid.CreateVersion7(time.GetUtcNow());

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
