using System.Text;
using System.Text.Json;
using Tailor.Core.Configuration;
using Tailor.Core.Evaluation;
using Tailor.Core.Profiles;

namespace Tailor.Core.Lookup;

/// <summary>One row of a profile import, read and checked: who it is about and what it sets.</summary>
public sealed class ImportRow
{
    public long Line { get; init; }
    /// <summary>Stitching identifiers (find or create the profile like an event would).</summary>
    public List<Identifier> Identifiers { get; } = [];
    /// <summary>Lookup index keys (email hashes, name + postal).</summary>
    public List<UInt128> LookupKeys { get; } = [];
    public List<(string Attribute, Value Value)> Values { get; } = [];
    /// <summary>The batch segments the profile is in after the import; null: unchanged.</summary>
    public string[]? BatchSegments { get; set; }
    public string? Error { get; set; }
}

/// <summary>
/// Reads import rows (JSON objects, one per line of NDJSON; CSV and Parquet rows arrive the same way)
/// against an audience. Columns: the audience's stitching keys; the lookup identifiers email, first,
/// middle, last, street, city, state, zip, zip4; <c>batch_segments</c> (ids, an array or comma
/// separated); imported attributes and total counters. Anything else is ignored and reported.
/// </summary>
public sealed class ImportRowReader(CompiledAudience audience, IReadOnlyDictionary<string, string>? map = null)
{
    private static readonly HashSet<string> LookupColumns = new(StringComparer.Ordinal) { "email", "first", "middle", "last", "street", "city", "state", "zip", "zip4" };
    public const string BatchSegmentsColumn = "batch_segments";

    private readonly HashSet<string> _batchSegmentIds = audience.BatchSegments.Select(b => b.Id).ToHashSet(StringComparer.Ordinal);
    private readonly Dictionary<string, CompiledStitchingKey> _stitchingKeys = audience.StitchingKeys.ToDictionary(k => k.Name, StringComparer.Ordinal);

    /// <summary>Columns that matched nothing (reported once in the summary).</summary>
    public SortedSet<string> IgnoredColumns { get; } = new(StringComparer.Ordinal);

    public ImportRow Read(ReadOnlySpan<byte> json, long line)
    {
        var row = new ImportRow { Line = line };
        try
        {
            using var document = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 16 });
            if (document.RootElement.ValueKind != JsonValueKind.Object) return Fail(row, "a row must be a JSON object");
            return Read(document.RootElement, row);
        }
        catch (JsonException ex)
        {
            return Fail(row, $"not valid JSON ({ex.Message.Split('.')[0]})");
        }
    }

    private static ImportRow Fail(ImportRow row, string error)
    {
        row.Error = error;
        return row;
    }

    private ImportRow Read(JsonElement element, ImportRow row)
    {
        var lookup = new Dictionary<string, string>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            var column = map is not null && map.TryGetValue(property.Name, out var mapped) ? mapped : property.Name;
            var value = property.Value;
            if (value.ValueKind == JsonValueKind.Null || (value.ValueKind == JsonValueKind.String && value.ValueEquals(""))) continue;
            if (!seen.Add(column)) return Fail(row, $"column `{column}` appears twice");
            var used = false;
            if (_stitchingKeys.TryGetValue(column, out var stitchingKey))
            {
                if (Scalar(value) is not { } text) return Fail(row, $"identifier `{column}` must be a string");
                text = text.Trim();
                if (stitchingKey.Accepts(text)) row.Identifiers.Add(new Identifier(column, text));
                used = true;
            }
            if (LookupColumns.Contains(column))
            {
                if (Scalar(value) is not { } text) return Fail(row, $"`{column}` must be a string");
                lookup[column] = text;
                used = true;
            }
            if (column == BatchSegmentsColumn)
            {
                if (ReadSegments(value, out var error) is not { } segments) return Fail(row, error!);
                row.BatchSegments = segments;
                continue;
            }
            if (audience.Layout.Find(column) is { } definition && (definition.Type == AttributeType.Imported || definition.IsTotal))
            {
                var attributeValue = ToValue(value);
                var bytes = attributeValue.Kind is ValueKind.String or ValueKind.Json ? Encoding.UTF8.GetByteCount(attributeValue.String) : 0;
                if (bytes > AttributeOps.MaxValueBytes) return Fail(row, $"`{column}` is {bytes} bytes; at most {AttributeOps.MaxValueBytes}");
                if (definition.IsTotal && !attributeValue.TryGetNumber(out _)) return Fail(row, $"`{column}` must be a number");
                row.Values.Add((column, attributeValue));
                used = true;
            }
            if (!used) IgnoredColumns.Add(column);
        }
        if (lookup.Count > 0)
        {
            if (lookup.TryGetValue("email", out var email) && LookupIdentifiers.NormalizeEmail(email) is null && row.Identifiers.Count == 0)
                return Fail(row, $"`email` is not a valid address: {email}");
            // An email that is also the row's `email` stitching identifier is found through the
            // identity index (the lookup index derives its hashes from it): no keys to store for it.
            var emailIsIdentifier = row.Identifiers.Exists(i => i.Key == "email");
            foreach (var key in LookupIdentifiers.IndexKeys(emailIsIdentifier ? null : lookup.GetValueOrDefault("email"), lookup.GetValueOrDefault("first"), lookup.GetValueOrDefault("last"),
                         lookup.GetValueOrDefault("street"), lookup.GetValueOrDefault("city"), lookup.GetValueOrDefault("state"),
                         lookup.GetValueOrDefault("zip") ?? lookup.GetValueOrDefault("zip4")))
                row.LookupKeys.Add(key.ToIndexKey());
        }
        if (row.Identifiers.Count == 0 && row.LookupKeys.Count == 0)
            return Fail(row, $"no identifier: a row needs one of {string.Join(", ", audience.StitchingKeys.Select(k => k.Name).Append("email").Distinct())}, or first + last with street + city + state or zip");
        return row;
    }

    private string[]? ReadSegments(JsonElement value, out string? error)
    {
        error = null;
        IEnumerable<string?> ids = value.ValueKind switch
        {
            JsonValueKind.Array => value.EnumerateArray().Select(Scalar),
            JsonValueKind.String => value.GetString()!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
            _ => [null],
        };
        var list = new List<string>();
        foreach (var id in ids)
        {
            if (id is null)
            {
                error = "`batch_segments` must be ids (an array, or separated by commas)";
                return null;
            }
            if (!_batchSegmentIds.Contains(id))
            {
                error = $"unknown batch segment `{id}`{Suggestions.DidYouMean(id, _batchSegmentIds)}";
                return null;
            }
            list.Add(id);
        }
        return [.. list];
    }

    private static string? Scalar(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Number => value.GetRawText(),
        _ => null,
    };

    private static Value ToValue(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => Value.FromString(value.GetString()!),
        JsonValueKind.Number => value.TryGetDouble(out var d) ? Value.FromNumber(d) : Value.FromString(value.GetRawText()),
        JsonValueKind.True => Value.True,
        JsonValueKind.False => Value.False,
        _ => Value.FromJson(value.GetRawText()),
    };
}
