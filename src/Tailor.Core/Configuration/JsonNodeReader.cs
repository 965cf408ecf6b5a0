using System.Text;
using System.Text.Json;

namespace Tailor.Core.Configuration;

/// <summary>Reads JSON text into a <see cref="ConfigNode"/> tree, keeping line and column of every value.</summary>
internal static class JsonNodeReader
{
    public static ConfigNode? Read(string text, string file, List<ConfigError> errors)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var lines = new LineIndex(bytes);
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, MaxDepth = 64 });
        try
        {
            if (!reader.Read())
            {
                errors.Add(new ConfigError(new SourceLocation(file, 1, 1), "the document is empty; expected a JSON object"));
                return null;
            }
            var root = ReadValue(ref reader, file, lines);
            if (reader.Read())
                errors.Add(new ConfigError(lines.At(file, reader.TokenStartIndex), "unexpected content after the JSON document"));
            return root;
        }
        catch (JsonException ex)
        {
            errors.Add(new ConfigError(new SourceLocation(file, (int)(ex.LineNumber ?? 0) + 1, (int)(ex.BytePositionInLine ?? 0) + 1), $"invalid JSON: {FirstSentence(ex.Message)}"));
            return null;
        }
    }

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(" LineNumber", StringComparison.Ordinal);
        return (cut > 0 ? message[..cut] : message).TrimEnd(' ', '.', '|');
    }

    private static ConfigNode ReadValue(ref Utf8JsonReader reader, string file, LineIndex lines)
    {
        var location = lines.At(file, reader.TokenStartIndex);
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                var entries = new List<KeyValuePair<ScalarNode, ConfigNode>>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                {
                    var keyLocation = lines.At(file, reader.TokenStartIndex);
                    var key = new ScalarNode(keyLocation, reader.GetString(), true, keyLocation with { Column = keyLocation.Column + 1 });
                    reader.Read();
                    entries.Add(new(key, ReadValue(ref reader, file, lines)));
                }
                return new MappingNode(location, entries);
            case JsonTokenType.StartArray:
                var items = new List<ConfigNode>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    items.Add(ReadValue(ref reader, file, lines));
                return new SequenceNode(location, items);
            case JsonTokenType.String:
                return new ScalarNode(location, reader.GetString(), true, location with { Column = location.Column + 1 });
            case JsonTokenType.Null:
                return new ScalarNode(location, null, false, location);
            default: // numbers and booleans: their raw text, unquoted
                var raw = Encoding.UTF8.GetString(reader.ValueSpan);
                return new ScalarNode(location, raw, false, location);
        }
    }

    /// <summary>Maps byte offsets to (line, column), counting columns in characters.</summary>
    private sealed class LineIndex
    {
        private readonly byte[] _bytes;
        private readonly List<int> _lineStarts = [0];

        public LineIndex(byte[] bytes)
        {
            _bytes = bytes;
            for (var i = 0; i < bytes.Length; i++)
                if (bytes[i] == (byte)'\n') _lineStarts.Add(i + 1);
        }

        public SourceLocation At(string file, long offset)
        {
            var line = _lineStarts.BinarySearch((int)offset);
            if (line < 0) line = ~line - 1;
            var start = _lineStarts[line];
            var column = Encoding.UTF8.GetCharCount(_bytes, start, (int)offset - start) + 1;
            return new SourceLocation(file, line + 1, column);
        }
    }
}
