namespace Tailor.Core.Evaluation;

/// <summary>What applying one event to a profile did.</summary>
public readonly record struct ApplyResult(ulong MatchedKeyEvents, int AttributesUpdated, ulong SegmentsEntered, ulong SegmentsExited)
{
    public bool Matched(int keyEvent) => (MatchedKeyEvents & (1UL << keyEvent)) != 0;
}

/// <summary>Explain mode: whether one section matched, and if not, the condition that failed.</summary>
public sealed record SectionExplanation(string Personalization, string Section, bool Matched, string? FailedCondition);

/// <summary>What the offers writer did besides writing (sections cut by the response cap).</summary>
public readonly record struct OffersSummary(int SectionsMatched, IReadOnlyList<string> SectionsCut);
