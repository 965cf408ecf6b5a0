using Tailor.Core.Evaluation;
using Tailor.Core.Profiles;

namespace Tailor.Core.Identity;

/// <summary>Merges profiles that ID stitching found to be one customer.</summary>
public static class ProfileMerger
{
    /// <summary>
    /// Merges <paramref name="sources"/> into <paramref name="target"/>: identifiers (at most 200,
    /// oldest evicted), attributes (lists by recency, counters summed, singles and imported values by
    /// latest update), real-time and batch segment memberships unioned. Returns evicted identifiers.
    /// The sources must not be used afterwards (their attribute states may now belong to the target).
    /// </summary>
    public static IReadOnlyList<Identifier> Merge(CompiledAudience audience, ProfileState target, IReadOnlyList<ProfileState> sources)
    {
        audience.Adopt(target);
        foreach (var source in sources)
        {
            if (source.Id == target.Id) continue;
            audience.Adopt(source);
            foreach (var identifier in source.Identifiers) target.AddIdentifier(identifier);
            foreach (var definition in audience.Layout.Attributes)
                target.Attributes[definition.Slot] = AttributeOps.Merge(definition, target.Attributes[definition.Slot], source.Attributes[definition.Slot]);
            for (var i = 0; i < target.SegmentBits.Length; i++) target.SegmentBits[i] |= source.SegmentBits[i];
            target.SetBatchSegments(target.BatchSegments.Concat(source.BatchSegments));
            target.EventCount += source.EventCount;
            target.UpdatedMs = Math.Max(target.UpdatedMs, source.UpdatedMs);
        }
        // Real-time memberships stay unioned until the next event re-evaluates them on the merged attributes.
        return target.EvictOldestIdentifiers();
    }
}
