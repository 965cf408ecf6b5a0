using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Tailor.Core.Configuration;

/// <summary>Reads YAML text into a <see cref="ConfigNode"/> tree (YamlDotNet representation model).</summary>
internal static class YamlNodeReader
{
    public static ConfigNode? Read(string text, string file, List<ConfigError> errors)
    {
        var stream = new YamlStream();
        var parser = new PositionTrackingParser(new Parser(new StringReader(text)));
        try
        {
            stream.Load(parser);
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner throws this, without a position, on some unclosed flow collections.
            errors.Add(new ConfigError(new SourceLocation(file, (int)parser.LastGood.Line, (int)parser.LastGood.Column),
                "invalid YAML: the text after this point cannot be parsed (an unclosed `[`, `{` or quote?)"));
            return null;
        }
        catch (YamlException ex)
        {
            var message = ex.InnerException?.Message ?? ex.Message;
            // YamlDotNet prefixes its messages with the position; we print our own.
            var close = message.IndexOf("): ", StringComparison.Ordinal);
            if (message.StartsWith("(Line", StringComparison.Ordinal) && close > 0) message = message[(close + 3)..];
            errors.Add(new ConfigError(new SourceLocation(file, (int)ex.Start.Line, (int)ex.Start.Column), $"invalid YAML: {message}"));
            return null;
        }
        if (stream.Documents.Count == 0)
        {
            errors.Add(new ConfigError(new SourceLocation(file, 1, 1), "the document is empty; expected a mapping with 'databases', 'audiences' and 'services'"));
            return null;
        }
        if (stream.Documents.Count > 1)
        {
            var second = stream.Documents[1].RootNode.Start;
            errors.Add(new ConfigError(new SourceLocation(file, (int)second.Line, (int)second.Column), "expected one YAML document, found several"));
        }
        var lines = text.Split('\n');
        return Convert(stream.Documents[0].RootNode, file, lines, errors, new HashSet<YamlNode>(ReferenceEqualityComparer.Instance));
    }

    /// <summary>The indentation of a block scalar's first content line (the line after its indicator).</summary>
    private static int BlockIndent(string[] lines, int indicatorLine)
    {
        for (var i = indicatorLine; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line.Trim().Length == 0) continue;
            return line.Length - line.TrimStart(' ').Length;
        }
        return 0;
    }

    /// <summary>Remembers where the last successfully parsed event ended.</summary>
    private sealed class PositionTrackingParser(IParser inner) : IParser
    {
        public Mark LastGood { get; private set; } = new(0, 1, 1);
        public YamlDotNet.Core.Events.ParsingEvent? Current => inner.Current;

        public bool MoveNext()
        {
            if (inner.Current is { } current) LastGood = current.End;
            return inner.MoveNext();
        }
    }

    private static ConfigNode Convert(YamlNode node, string file, string[] lines, List<ConfigError> errors, HashSet<YamlNode> path)
    {
        var location = new SourceLocation(file, (int)node.Start.Line, (int)node.Start.Column);
        if (!path.Add(node))
        {
            errors.Add(new ConfigError(location, "a YAML alias refers to itself"));
            return new ScalarNode(location, null, false, location);
        }
        try
        {
            switch (node)
            {
                case YamlScalarNode scalar:
                    var quoted = scalar.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted;
                    var isNull = !quoted && scalar.Style == ScalarStyle.Plain && scalar.Value is null or "~" or "null" or "Null" or "NULL" or "";
                    var block = scalar.Style is ScalarStyle.Literal or ScalarStyle.Folded;
                    var indent = block ? BlockIndent(lines, location.Line) : 0;
                    var content = quoted ? location with { Column = location.Column + 1 }
                        : block ? location with { Line = location.Line + 1, Column = indent + 1 }
                        : location;
                    return new ScalarNode(location, isNull ? null : scalar.Value ?? "", quoted || block, content, indent);
                case YamlSequenceNode sequence:
                    return new SequenceNode(location, sequence.Children.Select(c => Convert(c, file, lines, errors, path)).ToList());
                case YamlMappingNode mapping:
                    var entries = new List<KeyValuePair<ScalarNode, ConfigNode>>(mapping.Children.Count);
                    foreach (var (key, value) in mapping.Children)
                    {
                        if (Convert(key, file, lines, errors, path) is not ScalarNode keyNode || keyNode.Value is null)
                        {
                            errors.Add(new ConfigError(new SourceLocation(file, (int)key.Start.Line, (int)key.Start.Column), "expected a plain name as mapping key"));
                            continue;
                        }
                        entries.Add(new(keyNode, Convert(value, file, lines, errors, path)));
                    }
                    return new MappingNode(location, entries);
                default:
                    errors.Add(new ConfigError(location, "unsupported YAML node"));
                    return new ScalarNode(location, null, false, location);
            }
        }
        finally
        {
            path.Remove(node);
        }
    }
}
