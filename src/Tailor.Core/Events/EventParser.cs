using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Tailor.Core.Events;

/// <summary>
/// Parses an event body (one JSON object) into <see cref="EventData"/>. Failures are values with a
/// reason a client can act on (they become code 3004 "Invalid event object.").
/// </summary>
public static class EventParser
{
    public const int MaxDepth = 32;

    public static bool TryParse(ReadOnlySpan<byte> json, out EventData? data, out string? error)
    {
        data = null;
        if (json.Trim(" \t\r\n"u8).IsEmpty)
        {
            error = "the body is empty; expected a JSON object";
            return false;
        }
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxDepth, AllowMultipleValues = true });
        try
        {
            if (!reader.Read())
            {
                error = "the body is empty; expected a JSON object";
                return false;
            }
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                error = $"the body must be a JSON object, found {Describe(reader.TokenType)}";
                return false;
            }
            // The fields are gathered in the thread's scratch array, then copied into one of their size.
            var fields = t_fields ??= new (string, Value)[32];
            var count = 0;
            HashSet<string>? names = null;
            try
            {
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var name = PropertyName(ref reader);
                    reader.Read();
                    Value value;
                    switch (reader.TokenType)
                    {
                        case JsonTokenType.String: value = Value.FromString(reader.GetString()!); break;
                        case JsonTokenType.Number:
                            if (!reader.TryGetDouble(out var number) || double.IsInfinity(number))
                            {
                                error = $"field `{name}` holds a number out of range";
                                return false;
                            }
                            value = Value.FromNumber(number);
                            break;
                        case JsonTokenType.True: value = Value.True; break;
                        case JsonTokenType.False: value = Value.False; break;
                        case JsonTokenType.Null: value = Value.Null; break;
                        default:
                            var start = reader.TokenStartIndex;
                            reader.Skip();
                            value = Value.FromJson(Encoding.UTF8.GetString(json[(int)start..(int)(reader.TokenStartIndex + 1)]));
                            break;
                    }
                    if (Seen(fields, count, name, ref names))
                    {
                        error = $"field `{name}` appears twice";
                        return false;
                    }
                    if (count == fields.Length) Array.Resize(ref fields, count * 2);
                    fields[count++] = (name, value);
                }
                if (reader.Read())
                {
                    error = "unexpected content after the JSON object";
                    return false;
                }
                // Two more places: the server adds time and uuid when the client did not send them.
                var exact = new (string, Value)[count + 2];
                Array.Copy(fields, exact, count);
                data = new EventData(exact, count);
            }
            finally
            {
                Array.Clear(fields, 0, count);
                t_fields = fields.Length <= MaxKeptFields ? fields : null;
                names?.Clear();
                if (names?.Capacity > MaxKeptFields) t_names = null;
            }
            error = null;
            return true;
        }
        catch (JsonException ex)
        {
            error = ex.Message.Contains("depth", StringComparison.OrdinalIgnoreCase)
                ? $"the object is nested deeper than {MaxDepth} levels"
                : $"invalid JSON at byte {reader.BytesConsumed}";
            return false;
        }
        catch (InvalidOperationException)
        {
            // Invalid UTF-8 or an invalid escape in a string value.
            error = $"invalid text in JSON at byte {reader.BytesConsumed}";
            return false;
        }
    }

    private const int MaxKeptFields = 1024;
    [ThreadStatic] private static (string, Value)[]? t_fields;
    [ThreadStatic] private static HashSet<string>? t_names;

    /// <summary>Whether an earlier field has this name: compared in turn for the usual dozen, through a set past that.</summary>
    private static bool Seen((string Name, Value Value)[] fields, int count, string name, ref HashSet<string>? names)
    {
        if (count < EventData.IndexedFrom)
        {
            for (var i = 0; i < count; i++)
                if (string.Equals(fields[i].Name, name, StringComparison.Ordinal)) return true;
            return false;
        }
        if (names is null)
        {
            names = t_names ??= new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < count; i++) names.Add(fields[i].Name);
        }
        return !names.Add(name);
    }

    /// <summary>The field name, as the <see cref="NamePool"/>'s string (events repeat the same dozen names).</summary>
    private static string PropertyName(ref Utf8JsonReader reader)
    {
        var utf8 = reader.ValueSpan;
        if (reader.ValueIsEscaped || reader.HasValueSequence || utf8.Length > NamePool.MaxLength) return reader.GetString()!;
        Span<char> chars = stackalloc char[NamePool.MaxLength];
        if (Utf8.ToUtf16(utf8, chars, out _, out var length, replaceInvalidSequences: false) != OperationStatus.Done)
            return reader.GetString()!; // throws the reader's own error for invalid UTF-8
        return NamePool.Get(chars[..length]);
    }

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => token.ToString(),
    };
}
