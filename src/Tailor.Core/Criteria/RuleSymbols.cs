namespace Tailor.Core.Criteria;

/// <summary>Static type of an expression as the checker sees it.</summary>
public enum StaticType { Any, String, Number, Bool, Null }

/// <summary>Where a rule is used; decides what names mean and which functions exist.</summary>
public enum RuleContext
{
    /// <summary>Key-event filters and section <c>event_filter</c>: names are event fields.</summary>
    EventFilter,
    /// <summary>Segment rules and section <c>profile</c> criteria: names are attributes.</summary>
    Profile,
}

/// <summary>An attribute as a rule may read it.</summary>
public sealed record AttributeSymbol(string Name, int Slot, StaticType Type, bool IsList, bool IsCounter, IReadOnlyList<string> SubWindows);

/// <summary>The names a rule may use, built by the configuration compiler for each place a rule appears.</summary>
public sealed class RuleSymbols
{
    public required RuleContext Context { get; init; }
    public IReadOnlyDictionary<string, AttributeSymbol> Attributes { get; init; } = new Dictionary<string, AttributeSymbol>();
    /// <summary>Segments a rule here may test with <c>in_segment</c>, by name → index.</summary>
    public IReadOnlyDictionary<string, int> Segments { get; init; } = new Dictionary<string, int>();
    /// <summary>All segment names of the audience, to explain why one is not usable here.</summary>
    public IReadOnlyCollection<string> AllSegments { get; init; } = [];
    public IReadOnlyCollection<string> BatchSegmentIds { get; init; } = [];
    /// <summary>Attributes that exist but were invalid (already reported): rules using them are not reported again.</summary>
    public IReadOnlyCollection<string> Unchecked { get; init; } = [];
}
