using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tailor.Storage;

/// <summary>How a <see cref="LookupGrant"/> is kept in a store: JSON with snake_case names.</summary>
public static class GrantJson
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static string? Write(LookupGrant? grant) => grant is null ? null : JsonSerializer.Serialize(grant, Options);
    public static LookupGrant? Read(string? json) => json is null ? null : JsonSerializer.Deserialize<LookupGrant>(json, Options);
}
