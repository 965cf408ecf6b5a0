using System.Text.Json;
using Tailor.Core.Lookup;
using Tailor.Storage;

namespace Tailor.Server.Lookup;

/// <summary>
/// Which fields one lookup request answers with: the lookup fields the key may see, narrowed by
/// <c>fields=</c>; with <c>show_available</c>, fields the person has that the key may not see come
/// back as <c>"Data Available"</c>.
/// </summary>
public sealed class LookupAnswer
{
    private static readonly JsonEncodedText DataAvailable = JsonEncodedText.Encode("Data Available");

    private readonly bool[] _visible;
    private readonly bool[] _available;
    private readonly JsonEncodedText[] _names;

    public LookupAnswer(CompiledLookup lookup, LookupGrant? grant, string? fields, bool showAvailable)
    {
        var count = lookup.Fields.Count;
        _names = lookup.EncodedNames;
        var requested = new bool[count];
        if (string.IsNullOrWhiteSpace(fields)) Array.Fill(requested, true);
        else
            foreach (var name in fields.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                if (lookup.FieldIndex(name) is var index and >= 0) requested[index] = true;
        var allowed = new bool[count];
        if (grant?.Fields is null) Array.Fill(allowed, true);
        else
            foreach (var name in grant.Fields)
                if (lookup.FieldIndex(name) is var index and >= 0) allowed[index] = true;
        _visible = new bool[count];
        _available = new bool[count];
        for (var i = 0; i < count; i++)
        {
            _visible[i] = requested[i] && allowed[i];
            _available[i] = showAvailable && requested[i] && !allowed[i];
        }
    }

    /// <summary>Writes the person's answer object from their lookup record.</summary>
    public void Write(Utf8JsonWriter writer, ReadOnlySpan<byte> record)
    {
        writer.WriteStartObject();
        var reader = new LookupRecord.Reader(record);
        while (reader.Next(out var field, out var json))
        {
            if ((uint)field >= (uint)_visible.Length) continue;
            if (_visible[field])
            {
                writer.WritePropertyName(_names[field]);
                writer.WriteRawValue(json, skipInputValidation: true);
            }
            else if (_available[field]) writer.WriteString(_names[field], DataAvailable);
        }
        writer.WriteEndObject();
    }

    /// <summary>The fields of the answer as name and JSON text (for <c>format=html</c>).</summary>
    public IEnumerable<(string Name, string Json)> Fields(byte[] record)
    {
        var list = new List<(string, string)>();
        var reader = new LookupRecord.Reader(record);
        while (reader.Next(out var field, out var json))
        {
            if ((uint)field >= (uint)_visible.Length) continue;
            if (_visible[field]) list.Add((_names[field].Value, System.Text.Encoding.UTF8.GetString(json)));
            else if (_available[field]) list.Add((_names[field].Value, "\"Data Available\""));
        }
        return list;
    }
}
