namespace Tailor.Core.Configuration;

/// <summary>
/// A parsed YAML or JSON document as a tree of mappings, sequences and scalars, each with its
/// position. The binder reads this tree, so both formats report errors the same way.
/// </summary>
public abstract class ConfigNode(SourceLocation location)
{
    public SourceLocation Location { get; } = location;
    public abstract string KindName { get; }
}

public sealed class ScalarNode(SourceLocation location, string? value, bool quoted, SourceLocation contentStart, int continuationIndent = 0) : ConfigNode(location)
{
    /// <summary>Columns of indentation before the 2nd and later lines of a block scalar's content.</summary>
    public int ContinuationIndent { get; } = continuationIndent;
    /// <summary>The text, or null for YAML <c>~</c>/<c>null</c> and JSON <c>null</c>.</summary>
    public string? Value { get; } = value;
    /// <summary>True for quoted strings, which are never numbers, booleans or null.</summary>
    public bool Quoted { get; } = quoted;
    /// <summary>Where the first character of <see cref="Value"/> is, for positions inside rules.</summary>
    public SourceLocation ContentStart { get; } = contentStart;
    public override string KindName => Value is null ? "null" : "a scalar";
}

public sealed class SequenceNode(SourceLocation location, IReadOnlyList<ConfigNode> items) : ConfigNode(location)
{
    public IReadOnlyList<ConfigNode> Items { get; } = items;
    public override string KindName => "a list";
}

public sealed class MappingNode(SourceLocation location, IReadOnlyList<KeyValuePair<ScalarNode, ConfigNode>> entries) : ConfigNode(location)
{
    public IReadOnlyList<KeyValuePair<ScalarNode, ConfigNode>> Entries { get; } = entries;
    public override string KindName => "a mapping";
}
