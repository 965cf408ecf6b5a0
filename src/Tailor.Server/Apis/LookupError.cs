using System.Text.Json;

namespace Tailor.Server.Apis;

/// <summary>An error of the enrichment lookup API, in its own shape: <c>{"error_code": 400, "error_msg": "..."}</c>.</summary>
public sealed class LookupError(int status, string message) : IResult
{
    public int Status { get; } = status;
    public string Message { get; } = message;

    public static LookupError InvalidKey() => new(401, "Invalid API key.");
    public static LookupError NotLookupKey(string kind) => new(403, $"This API key may not look up (it is a {kind} key).");
    public static LookupError QuotaExceeded() => new(403, "Query limit exceeded.");
    public static LookupError InvalidIdentifier() => new(400, "Invalid identifier.");
    public static LookupError InvalidJson() => new(400, "Invalid JSON.");
    public static LookupError TooMany(int limit, long requested) => new(400, $"Too many records requested. Limit is {limit} and you requested {requested}.");
    public static LookupError TooLarge(long limit) => new(413, $"The body exceeds {limit} bytes.");
    public static LookupError Unavailable() => new(503, "The lookup index is not available; retry later.");

    public static void WriteBody(Utf8JsonWriter writer, int code, string message)
    {
        writer.WriteStartObject();
        writer.WriteNumber("error_code", code);
        writer.WriteString("error_msg", message);
        writer.WriteEndObject();
    }

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.StatusCode = Status;
        httpContext.Response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(httpContext.Response.Body);
        WriteBody(writer, Status, Message);
    }
}
