using System.Text;
using Tailor.Core.Configuration;

namespace Tailor.Core.Profiles;

/// <summary>One attribute as the state layer needs it: kind and the options that shape its state.</summary>
public sealed record AttributeDefinition(
    string Name,
    int Slot,
    AttributeType Type,
    CounterType CounterType,
    DataType DataType,
    long? TtlMs,
    long? WindowMs,
    int MaxItems,
    bool Distinct,
    long[] WindowsMs,
    string[] WindowNames,
    bool Sensitive,
    bool IncrementFieldSet = false)
{
    public bool IsSliding => Type == AttributeType.Counter && CounterType == CounterType.Sliding;
    public bool IsTotal => Type == AttributeType.Counter && CounterType == CounterType.Total;
}

/// <summary>The attribute slots and segment names of one audience in one configuration version.</summary>
public sealed class AttributeLayout
{
    private readonly Dictionary<string, AttributeDefinition> _byName;
    private readonly Dictionary<string, AttributeDefinition>.AlternateLookup<ReadOnlySpan<char>> _byChars;

    public AttributeLayout(IReadOnlyList<AttributeDefinition> attributes, IReadOnlyList<string> segments)
    {
        Definitions = attributes.ToArray();
        Attributes = Definitions;
        Segments = segments;
        _byName = attributes.ToDictionary(a => a.Name, StringComparer.Ordinal);
        _byChars = _byName.GetAlternateLookup<ReadOnlySpan<char>>();
        _utf8Names = [.. Definitions.Select(a => Encoding.UTF8.GetBytes(a.Name))];
        _utf8Segments = [.. segments.Select(Encoding.UTF8.GetBytes)];
    }

    /// <summary>The names of <see cref="Definitions"/> and <see cref="Segments"/> as UTF-8, as snapshots hold them.</summary>
    private readonly byte[][] _utf8Names, _utf8Segments;

    /// <summary>
    /// The definition whose name is <paramref name="utf8"/>, looked for from <paramref name="next"/> on, which then
    /// moves past it: a snapshot written under this layout names its attributes in the layout's order, so
    /// the search ends at once, without decoding or hashing the name. Null when it is not there (a
    /// snapshot of another layout): <see cref="Find(ReadOnlySpan{char})"/> decides then.
    /// </summary>
    internal AttributeDefinition? FindNext(ReadOnlySpan<byte> utf8, ref int next)
    {
        for (var i = next; i < _utf8Names.Length; i++)
        {
            if (!utf8.SequenceEqual(_utf8Names[i])) continue;
            next = i + 1;
            return Definitions[i];
        }
        return null;
    }

    /// <summary>The name of <see cref="Attributes"/>[<paramref name="index"/>] in UTF-8.</summary>
    internal ReadOnlySpan<byte> Utf8Name(int index) => _utf8Names[index];

    /// <summary>The name of <see cref="Segments"/>[<paramref name="index"/>] in UTF-8.</summary>
    internal ReadOnlySpan<byte> Utf8Segment(int index) => _utf8Segments[index];

    /// <summary>The segment's index by its UTF-8 name, or -1.</summary>
    internal int SegmentIndex(ReadOnlySpan<byte> utf8)
    {
        for (var i = 0; i < _utf8Segments.Length; i++)
            if (utf8.SequenceEqual(_utf8Segments[i])) return i;
        return -1;
    }

    public IReadOnlyList<AttributeDefinition> Attributes { get; }
    /// <summary>The same as <see cref="Attributes"/>, as an array for hot loops (no enumerator boxing).</summary>
    internal AttributeDefinition[] Definitions { get; }
    public IReadOnlyList<string> Segments { get; }
    public int Count => Attributes.Count;
    public int SegmentCount => Segments.Count;

    public AttributeDefinition? Find(string name) => _byName.GetValueOrDefault(name);

    public AttributeDefinition? Find(ReadOnlySpan<char> name) => _byChars.TryGetValue(name, out var definition) ? definition : null;
}
