using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Tailor.Core.Configuration;

/// <summary>Reads YAML text into a <see cref="ConfigNode"/> tree (YamlDotNet representation model).</summary>
internal static class YamlNodeReader
{
    public static ConfigNode? Read(string text, string file, List<ConfigError> errors)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
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
        return Convert(stream.Documents[0].RootNode, file, errors, new HashSet<YamlNode>(ReferenceEqualityComparer.Instance));
    }

    private static ConfigNode Convert(YamlNode node, string file, List<ConfigError> errors, HashSet<YamlNode> path)
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
                    var content = quoted ? location with { Column = location.Column + 1 }
                        : scalar.Style is ScalarStyle.Literal or ScalarStyle.Folded ? location with { Line = location.Line + 1, Column = 1 }
                        : location;
                    return new ScalarNode(location, isNull ? null : scalar.Value ?? "", quoted || scalar.Style is ScalarStyle.Literal or ScalarStyle.Folded, content);
                case YamlSequenceNode sequence:
                    return new SequenceNode(location, sequence.Children.Select(c => Convert(c, file, errors, path)).ToList());
                case YamlMappingNode mapping:
                    var entries = new List<KeyValuePair<ScalarNode, ConfigNode>>(mapping.Children.Count);
                    foreach (var (key, value) in mapping.Children)
                    {
                        if (Convert(key, file, errors, path) is not ScalarNode keyNode || keyNode.Value is null)
                        {
                            errors.Add(new ConfigError(new SourceLocation(file, (int)key.Start.Line, (int)key.Start.Column), "expected a plain name as mapping key"));
                            continue;
                        }
                        entries.Add(new(keyNode, Convert(value, file, errors, path)));
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
