using System.Text.RegularExpressions;
using Tailor.Core.Criteria;
using Tailor.Core.Events;
using Tailor.Core.Profiles;

namespace Tailor.Core.Evaluation;

/// <summary>A stitching key with its validity rules.</summary>
public sealed class CompiledStitchingKey(string name, Regex? validRegex, HashSet<string> invalidValues)
{
    public string Name { get; } = name;

    /// <summary>True when the value may identify a profile (not an invalid value, and matching the regex).</summary>
    public bool Accepts(string value) =>
        value.Length > 0 && !invalidValues.Contains(value) && (validRegex is null || validRegex.IsMatch(value));
}

public sealed record CompiledKeyEvent(string Name, int Index, string Table, CompiledRule? Filter);

public sealed record CompiledSegment(string Name, int Index, CompiledRule Rule);

/// <summary>
/// An audience ready to run: identifiers of an event, key events, attribute updates and segments.
/// Immutable; safe to share between threads.
/// </summary>
public sealed class CompiledAudience
{
    private readonly Dictionary<string, CompiledKeyEvent[]> _keyEventsByTable;
    // Per attribute slot: index of its key event (-1 for imported) and the event field it reads.
    private readonly int[] _attributeEvent;
    private readonly string?[] _attributeField;
    private readonly CompiledSegment[] _segments;

    internal CompiledAudience(
        string name,
        IReadOnlyList<CompiledStitchingKey> stitchingKeys,
        IReadOnlyList<string> eventTables,
        IReadOnlyList<CompiledKeyEvent> keyEvents,
        AttributeLayout layout,
        int[] attributeEvent,
        string?[] attributeField,
        IReadOnlyList<CompiledSegment> segments,
        IReadOnlyList<(string Id, string? Name)> batchSegments)
    {
        Name = name;
        StitchingKeys = stitchingKeys;
        var tables = eventTables.ToHashSet(StringComparer.Ordinal);
        EventTables = tables;
        _eventTables = tables.GetAlternateLookup<ReadOnlySpan<char>>();
        KeyEvents = keyEvents;
        Layout = layout;
        _attributeEvent = attributeEvent;
        _attributeField = attributeField;
        _segments = segments.ToArray();
        Segments = _segments;
        BatchSegments = batchSegments;
        _keyEventsByTable = keyEvents.GroupBy(k => k.Table, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
        ProfileSymbols = new RuleSymbols
        {
            Context = RuleContext.Profile,
            Attributes = SymbolsOf(layout.Attributes),
            Segments = segments.ToDictionary(s => s.Name, s => s.Index, StringComparer.Ordinal),
            AllSegments = segments.Select(s => s.Name).ToList(),
            BatchSegmentIds = batchSegments.Select(b => b.Id).ToHashSet(StringComparer.Ordinal),
        };
    }

    /// <summary>Names of event filters: every name is an event field.</summary>
    public static RuleSymbols EventFilterSymbols { get; } = new() { Context = RuleContext.EventFilter };

    /// <summary>Names of section profile criteria: attributes, all segments, batch segments.</summary>
    public RuleSymbols ProfileSymbols { get; }

    /// <summary>How rules see attributes: counters are numbers, lists are lists, data_type decides the rest.</summary>
    public static Dictionary<string, AttributeSymbol> SymbolsOf(IEnumerable<AttributeDefinition> attributes) =>
        attributes.ToDictionary(d => d.Name, d => new AttributeSymbol(d.Name, d.Slot,
            d.Type == Configuration.AttributeType.Counter ? StaticType.Number
                : d.DataType switch { Configuration.DataType.String => StaticType.String, Configuration.DataType.Number => StaticType.Number, _ => StaticType.Any },
            d.Type == Configuration.AttributeType.List, d.Type == Configuration.AttributeType.Counter, d.WindowNames), StringComparer.Ordinal);

    /// <summary>Compiles an ad-hoc rule against this audience (tools, tests, explain).</summary>
    public CompiledRule? CompileRule(string text, RuleContext context, out IReadOnlyList<RuleError> errors) =>
        RuleCompiler.Compile(text, context == RuleContext.Profile ? ProfileSymbols : EventFilterSymbols, out errors);

    /// <summary>Evaluates a rule compiled by <see cref="CompileRule"/> on a profile and/or event.</summary>
    public bool Evaluate(CompiledRule rule, ProfileState? state, EventData? data, long nowMs)
    {
        if (state is not null) Adopt(state);
        return rule.Evaluate(ProfileScope.For(Layout, state, data, nowMs));
    }

    /// <summary>Null when the rule holds, else the condition that failed with the values seen.</summary>
    public string? Explain(CompiledRule rule, ProfileState? state, EventData? data, long nowMs)
    {
        if (state is not null) Adopt(state);
        return rule.Explain(ProfileScope.For(Layout, state, data, nowMs));
    }

    public string Name { get; }
    public IReadOnlyList<CompiledStitchingKey> StitchingKeys { get; }
    /// <summary>Tables (<c>database.table</c>) whose events reach this audience.</summary>
    public IReadOnlySet<string> EventTables { get; }
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _eventTables;

    /// <summary>
    /// The event table (<c>database.table</c>, the configuration's string) that <paramref name="database"/>
    /// and <paramref name="table"/> name, or null when it is not one of the audience's. Makes no string:
    /// it runs on every personalization call.
    /// </summary>
    public string? EventTable(ReadOnlySpan<char> database, ReadOnlySpan<char> table)
    {
        var length = database.Length + 1 + table.Length;
        Span<char> name = length <= 512 ? stackalloc char[length] : new char[length];
        database.CopyTo(name);
        name[database.Length] = '.';
        table.CopyTo(name[(database.Length + 1)..]);
        return _eventTables.TryGetValue(name, out var known) ? known : null;
    }
    public IReadOnlyList<CompiledKeyEvent> KeyEvents { get; }
    public AttributeLayout Layout { get; }
    public IReadOnlyList<CompiledSegment> Segments { get; }
    public IReadOnlyList<(string Id, string? Name)> BatchSegments { get; }

    /// <summary>
    /// The identifiers an event carries, in stitching-key priority order. A stitching key holding
    /// something other than a string (or null) is an error; invalid values and regex misses are ignored.
    /// </summary>
    public bool TryGetIdentifiers(EventData data, out List<Identifier> identifiers, out string? error)
    {
        var found = TryGetIdentifiers(data, static (key, value) => new Identifier(key, value), out Identifier[] each, out error);
        identifiers = [.. each];
        return found;
    }

    /// <summary>
    /// The same, each identifier made by <paramref name="make"/> (key, value) into an array of its own
    /// size: the handler's form, on every call. <paramref name="reuse"/> is filled instead of a new array
    /// when it has that size (a pooled call's from its last use).
    /// </summary>
    public bool TryGetIdentifiers<T>(EventData data, Func<string, string, T> make, out T[] identifiers, out string? error, T[]? reuse = null)
    {
        identifiers = [];
        error = null;
        // Each key's accepted value, found once (a key's regex runs once per call).
        var keys = StitchingKeys.Count;
        var accepted = new AcceptedValues();
        Span<string?> values = keys <= 16 ? accepted[..keys] : new string?[keys];
        var count = 0;
        for (var k = 0; k < keys; k++)
        {
            var value = data[StitchingKeys[k].Name];
            if (value.IsAbsent) continue;
            if (value.Kind != ValueKind.String)
            {
                error = $"identifier `{StitchingKeys[k].Name}` must be a string";
                return false;
            }
            var text = value.String.Trim();
            if (!StitchingKeys[k].Accepts(text)) continue;
            values[k] = text;
            count++;
        }
        if (count == 0)
        {
            error = $"no identifier: the event needs a valid non-empty string in one of {string.Join(", ", StitchingKeys.Select(k => k.Name))}";
            return false;
        }
        identifiers = reuse?.Length == count ? reuse : new T[count];
        for (int k = 0, n = 0; k < keys; k++)
            if (values[k] is { } text) identifiers[n++] = make(StitchingKeys[k].Name, text);
        return true;
    }

    /// <summary>The accepted values of up to 16 stitching keys, on the stack.</summary>
    [System.Runtime.CompilerServices.InlineArray(16)]
    private struct AcceptedValues
    {
        private string? _first;
    }

    /// <summary>A new, empty profile; in <paramref name="reuse"/> (a finished call's state, see <see cref="ProfileState.Reset"/>) when it has this layout.</summary>
    public ProfileState NewProfile(Guid id, long nowMs, ProfileState? reuse = null)
    {
        if (reuse is null || !ReferenceEquals(reuse.Layout, Layout)) return new(id, nowMs, Layout) { UpdatedMs = nowMs };
        reuse.Reset(id, nowMs);
        reuse.UpdatedMs = nowMs;
        return reuse;
    }

    /// <summary>Brings a profile built under an older configuration onto this audience's layout.</summary>
    public void Adopt(ProfileState state)
    {
        if (ReferenceEquals(state.Layout, Layout)) return;
        ProfileSnapshot.Remap(state, Layout);
    }

    /// <summary>
    /// Applies an event of <paramref name="table"/> (<c>database.table</c>): key events it matches,
    /// attribute updates, then every real-time segment re-evaluated.
    /// </summary>
    public ApplyResult ApplyEvent(ProfileState state, string table, EventData data, long nowMs)
    {
        Adopt(state);
        var matched = Match(table, data, nowMs);
        var updated = 0;
        if (matched != 0)
        {
            var attributes = Layout.Definitions;
            for (var slot = 0; slot < attributes.Length; slot++)
            {
                var keyEvent = _attributeEvent[slot];
                if (keyEvent < 0 || (matched & (1UL << keyEvent)) == 0) continue;
                var before = state.Attributes[slot];
                var beforeUpdated = before?.UpdatedMs;
                var field = _attributeField[slot];
                var after = AttributeOps.Apply(attributes[slot], before, field is null ? Value.Missing : data[field], nowMs, state);
                state.Attributes[slot] = after;
                if (!ReferenceEquals(before, after) || after?.UpdatedMs != beforeUpdated) updated++;
            }
            state.EventCount++;
        }
        state.UpdatedMs = nowMs;
        var (entered, exited) = EvaluateSegments(state, nowMs);
        return new ApplyResult(matched, updated, entered, exited);
    }

    /// <summary>The key events an event of <paramref name="table"/> matches, changing nothing (a repeated call).</summary>
    public ApplyResult MatchKeyEvents(string table, EventData data, long nowMs) => new(Match(table, data, nowMs), 0, 0, 0);

    private ulong Match(string table, EventData data, long nowMs)
    {
        ulong matched = 0;
        if (!_keyEventsByTable.TryGetValue(table, out var candidates)) return 0;
        var scope = ProfileScope.For(Layout, null, data, nowMs);
        foreach (var keyEvent in candidates)
            if (keyEvent.Filter is null || keyEvent.Filter.Evaluate(scope)) matched |= 1UL << keyEvent.Index;
        return matched;
    }

    /// <summary>Re-evaluates real-time segments in configuration order (a rule may use earlier segments).</summary>
    public (ulong Entered, ulong Exited) EvaluateSegments(ProfileState state, long nowMs)
    {
        Adopt(state);
        var scope = ProfileScope.For(Layout, state, null, nowMs);
        ulong entered = 0, exited = 0;
        foreach (var segment in _segments)
        {
            var was = state.InSegment(segment.Index);
            var now = segment.Rule.Evaluate(scope);
            if (was == now) continue;
            state.SetSegment(segment.Index, now);
            if (segment.Index < 64)
            {
                if (now) entered |= 1UL << segment.Index;
                else exited |= 1UL << segment.Index;
            }
        }
        return (entered, exited);
    }

    /// <summary>A profile's attribute value by name, as rules see it (for tests, CLI and export).</summary>
    public Value ReadAttribute(ProfileState state, string name, long nowMs)
    {
        Adopt(state);
        var dot = name.IndexOf('.', StringComparison.Ordinal);
        var definition = Layout.Find(name) ?? (dot > 0 ? Layout.Find(name[..dot]) : null);
        if (definition is null) return Value.Missing;
        var window = definition.Name.Length == name.Length ? 0 : Array.IndexOf(definition.WindowNames, name[(dot + 1)..]);
        return window < 0 ? Value.Missing : AttributeOps.Read(definition, state.Attributes[definition.Slot], nowMs, window);
    }

    /// <summary>The visible items of a list attribute, newest first.</summary>
    public IReadOnlyList<Value> ReadList(ProfileState state, string name, long nowMs)
    {
        Adopt(state);
        if (Layout.Find(name) is not { Type: Configuration.AttributeType.List } definition || state.Attributes[definition.Slot] is not ListState list) return [];
        var visible = new Value[AttributeOps.VisibleCount(definition, list, nowMs)];
        for (var i = 0; i < visible.Length; i++) visible[i] = list[i].Value;
        return visible;
    }

    public bool InSegment(ProfileState state, string segment) =>
        Segments.FirstOrDefault(s => s.Name == segment) is { } found && state.InSegment(found.Index);

    /// <summary>Sets an imported attribute (or a total counter's base) by name; false when not importable.</summary>
    public bool Import(ProfileState state, string attribute, Value value, long nowMs)
    {
        Adopt(state);
        if (Layout.Find(attribute) is not { } definition || !(definition.Type == Configuration.AttributeType.Imported || definition.IsTotal)) return false;
        state.Attributes[definition.Slot] = AttributeOps.Import(definition, state.Attributes[definition.Slot], value, nowMs);
        return true;
    }

    /// <summary>
    /// Applies one import row: imported attributes (and total counters' bases), batch segment
    /// memberships when given, then the real-time segments (a rule may read an imported attribute).
    /// </summary>
    public void ApplyImport(ProfileState state, IEnumerable<(string Attribute, Value Value)> values, string[]? batchSegments, long nowMs)
    {
        foreach (var (attribute, value) in values) Import(state, attribute, value, nowMs);
        if (batchSegments is not null) state.SetBatchSegments(batchSegments);
        EvaluateSegments(state, nowMs);
        state.UpdatedMs = Math.Max(state.UpdatedMs, nowMs);
    }
}
