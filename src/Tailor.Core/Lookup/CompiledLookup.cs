using System.Buffers;
using System.Text.Json;
using Tailor.Core.Configuration;
using Tailor.Core.Evaluation;
using Tailor.Core.Profiles;

namespace Tailor.Core.Lookup;

/// <summary>
/// What the lookup API answers with: some attributes of one audience. A profile's answer is kept as a
/// compact record (<see cref="LookupRecord"/>): per present field its index and its JSON value, so an
/// answer is written by copying bytes, with no per-profile objects.
/// </summary>
public sealed class CompiledLookup
{
    public const int MaxFields = 255;

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic] private static Utf8JsonWriter? t_writer;
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_output;

    public CompiledLookup(CompiledAudience audience, IReadOnlyList<string> fields)
    {
        Audience = audience;
        Fields = fields;
        Definitions = fields.Select(f => audience.Layout.Find(f)!).ToArray();
        EncodedNames = fields.Select(f => JsonEncodedText.Encode(f)).ToArray();
        HasRealtimeFields = Definitions.Any(d => d.Type != AttributeType.Imported);
        Signature = audience.Name + ":" + string.Join(",", Definitions.Select(d => $"{d.Name}/{d.Type}"));
    }

    public CompiledAudience Audience { get; }
    public IReadOnlyList<string> Fields { get; }
    public JsonEncodedText[] EncodedNames { get; }
    private AttributeDefinition[] Definitions { get; }

    /// <summary>True when events can change a field (then every committed event refreshes the profile's record).</summary>
    public bool HasRealtimeFields { get; }

    /// <summary>Equal for two configurations whose records are the same (no rebuild needed between them).</summary>
    public string Signature { get; }

    /// <summary>The field's index for a <c>fields=</c> name: <c>interests.sports</c> selects its parent <c>interests</c>.</summary>
    public int FieldIndex(string name)
    {
        for (var i = 0; i < Fields.Count; i++)
            if (string.Equals(Fields[i], name, StringComparison.Ordinal)) return i;
        var dot = name.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 ? FieldIndex(name[..dot]) : -1;
    }

    /// <summary>The profile's lookup record: for each field with a value, [index][length varint][JSON]. Empty when no field has a value.</summary>
    public byte[] Encode(ProfileState state, long nowMs)
    {
        Audience.Adopt(state);
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(256);
        var output = t_output ??= new ArrayBufferWriter<byte>(256);
        output.ResetWrittenCount();
        for (var i = 0; i < Definitions.Length; i++)
        {
            var definition = Definitions[i];
            var attribute = state.Attributes[definition.Slot];
            buffer.ResetWrittenCount();
            var writer = t_writer ??= new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
            writer.Reset(buffer);
            if (definition.Type == AttributeType.List)
            {
                if (attribute is not ListState list) continue;
                var count = AttributeOps.VisibleCount(definition, list, nowMs);
                if (count == 0) continue;
                writer.WriteStartArray();
                for (var j = 0; j < count; j++) ValueJson.Write(writer, list[j].Value);
                writer.WriteEndArray();
            }
            else
            {
                var value = AttributeOps.Read(definition, attribute, nowMs, 0);
                if (value.IsAbsent) continue;
                ValueJson.Write(writer, value);
            }
            writer.Flush();
            LookupRecord.Append(output, (byte)i, buffer.WrittenSpan);
        }
        return output.WrittenCount == 0 ? [] : output.WrittenSpan.ToArray();
    }
}
