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

    /// <summary>Parses an event; with <paramref name="rented"/>, its fields are in a pooled array (see <see cref="EventData.Release"/>).</summary>
    /// <param name="into">With <paramref name="rented"/>: an event object released before, to hold the fields (one object fewer per call).</param>
    public static bool TryParse(ReadOnlySpan<byte> json, out EventData? data, out string? error, bool rented = false, EventData? into = null)
    {
        data = null;
        into?.EnsureReleased();
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
            // The fields are gathered in the thread's scratch event, then copied into an array of their count.
            var gathered = t_gathered ??= new EventData(new (string, Value)[32], 0);
            try
            {
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var name = PooledName(ref reader);
                    reader.Read();
                    Value value;
                    switch (reader.TokenType)
                    {
                        case JsonTokenType.String: value = Value.FromString(PooledValue(ref reader)); break;
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
                    if (!gathered.TryAdd(name, value))
                    {
                        error = $"field `{name}` appears twice";
                        return false;
                    }
                }
                if (reader.Read())
                {
                    error = "unexpected content after the JSON object";
                    return false;
                }
                // Two more places: the server adds time and uuid when the client did not send them.
                data = rented ? gathered.CopyRented(room: 2, into) : gathered.Copy(room: 2);
            }
            finally
            {
                if (!gathered.Clear(keep: MaxKeptFields)) t_gathered = null;
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
    [ThreadStatic] private static EventData? t_gathered;

    /// <summary>
    /// The field name as <see cref="NamePool"/>'s shared string (events repeat the same dozen names);
    /// escaped or longer text is a new string.
    /// </summary>
    private static string PooledName(ref Utf8JsonReader reader)
    {
        var utf8 = reader.ValueSpan;
        if (reader.ValueIsEscaped || reader.HasValueSequence || utf8.Length > NamePool.MaxLength) return reader.GetString()!;
        Span<char> chars = stackalloc char[NamePool.MaxLength];
        if (Utf8.ToUtf16(utf8, chars, out _, out var length, replaceInvalidSequences: false) != OperationStatus.Done)
            return reader.GetString()!; // throws the reader's own error for invalid UTF-8
        return NamePool.Get(chars[..length]);
    }

    /// <summary>A text value as <see cref="ValuePool"/>'s shared string (many values repeat); escaped or longer text is a new string.</summary>
    private static string PooledValue(ref Utf8JsonReader reader)
    {
        var utf8 = reader.ValueSpan;
        if (reader.ValueIsEscaped || reader.HasValueSequence || utf8.Length > ValuePool.MaxLength) return reader.GetString()!;
        if (!Utf8.IsValid(utf8)) return reader.GetString()!; // throws the reader's own error for invalid UTF-8
        return ValuePool.Get(utf8);
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
