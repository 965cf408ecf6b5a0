using System.Text.Json;

namespace Tailor.Core;

/// <summary>Writes a <see cref="Value"/> as JSON (raw JSON values are written as they are).</summary>
public static class ValueJson
{
    public static void Write(Utf8JsonWriter writer, Value value)
    {
        switch (value.Kind)
        {
            case ValueKind.String: writer.WriteStringValue(value.String); break;
            case ValueKind.Number: writer.WriteNumberValue(value.Number); break;
            case ValueKind.Bool: writer.WriteBooleanValue(value.IsTrue); break;
            case ValueKind.Json: writer.WriteRawValue(value.String, skipInputValidation: true); break;
            default: writer.WriteNullValue(); break;
        }
    }
}
