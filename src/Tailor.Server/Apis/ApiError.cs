using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;

namespace Tailor.Server.Apis;

/// <summary>
/// An error answer <c>{"code": n, "message": "..."}</c> with a status and a meaningful reason phrase
/// (browser clients only see the status text). Every client error of the APIs is one of these.
/// </summary>
public sealed class ApiError(int status, int code, string message, string reason) : IResult
{
    public int Status { get; } = status;
    public int Code { get; } = code;
    public string Message { get; } = message;
    public string Reason { get; } = reason;

    /// <summary>Extra headers (Retry-After).</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = Status;
        if (httpContext.Features.Get<IHttpResponseFeature>() is { } feature) feature.ReasonPhrase = Reason;
        foreach (var (name, value) in Headers) response.Headers[name] = value;
        response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(response.Body, WriterOptions);
        writer.WriteStartObject();
        writer.WriteNumber("code", Code);
        writer.WriteString("message", Message);
        writer.WriteEndObject();
    }

    // Messages quote names in backticks; the default encoder would write them as \u0060.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    // The documented errors of the Personalization API (../shared/spec/personalization-api.md).
    public static ApiError TokenMissing() => new(400, 3000, "RT token was not provided (WP13n-Token header).", "RT Token Missing");
    public static ApiError TokenNotConfigured() => new(400, 3001, "RT token is not in configuration.", "RT Token Not In Configuration");
    public static ApiError TokenAccountConflict() => new(400, 3002, "RT token account conflicts with Authed user account.", "RT Token Account Conflict");
    public static ApiError TokenFormat() => new(400, 3003, "RT token is in an invalid format.", "RT Token Invalid Format");
    public static ApiError InvalidEvent(string why) => new(400, 3004, $"Invalid event object. {why}", "Invalid Event Object");
    public static ApiError IpNotAllowed() => new(400, 3005, "Request origin not in IP whitelist.", "Origin Not In IP Whitelist");
    public static ApiError TokenType() => new(400, 3006, "Invalid token type.", "Invalid Token Type");
    public static ApiError OriginNotAllowed() => new(400, 3007, "Invalid or missing Origin.", "Invalid Or Missing Origin");
    public static ApiError Unauthorized(string message = "Missing or invalid API key (Authorization: TD1 {account_id}/{apikey}).") => new(401, 4001, message, "Invalid API Key");
    public static ApiError Forbidden(string message) => new(403, 4003, message, "Permission Denied");
    public static ApiError NotFound(string message) => new(404, 4004, message, "Not Found");
    public static ApiError UnknownTable() => NotFound("Unknown database or table.");
    public static ApiError TooLarge(int limit) => new(413, 4013, $"The body exceeds {limit} bytes.", "Payload Too Large");
    public static ApiError ContentType() => new(415, 4015, "Content-Type must be application/vnd.treasuredata.v1+json.", "Unsupported Media Type");
    public static ApiError IngestLimit() => new(429, 2003, "Ingest rate limit exceeded.", "Ingest Rate Limit Exceeded") { Headers = RetryAfter };
    public static ApiError ConcurrencyLimit() => new(429, 2013, "Concurrent request limit exceeded.", "Concurrent Request Limit Exceeded") { Headers = RetryAfter };
    public static ApiError Unavailable() => new(503, 5003, "The event could not be stored; it was not accepted. Retry later.", "Service Unavailable") { Headers = RetryAfter };
    public static ApiError StoreUnavailable() => new(503, 5003, "The store is unavailable (its disk may be full); nothing was changed. Retry later.", "Service Unavailable") { Headers = RetryAfter };

    /// <summary>The call did not finish within the server's time limit; it may have been applied (retry with the same uuid).</summary>
    public static ApiError TimedOut() => new(503, 5004, "The call did not complete in time; retry later (with the same uuid, a retry is applied at most once).", "Service Unavailable") { Headers = RetryAfter };
    public static ApiError BadRequest(string message) => new(400, 4000, message, "Bad Request");
    /// <summary>A server fault: a bug, never the client's doing (the spec's code 9999).</summary>
    public static ApiError Internal() => new(500, 9999, "Internal server error; it has been logged.", "Internal Server Error");

    /// <summary>
    /// The answer to an exception no endpoint expected: a request Kestrel could not read is the client's
    /// error (its own 4xx), anything else unexpected answers 500 {"code": 9999}.
    /// </summary>
    public static ApiError ForUnexpected(Exception error) => error switch
    {
        BadHttpRequestException bad => new ApiError(bad.StatusCode, 4000 + bad.StatusCode % 100, $"The request could not be read: {bad.Message}", "Bad Request"),
        // A grain call past Orleans' response timeout (30 s): the server is overloaded or the disk stalls.
        TimeoutException => TimedOut(),
        // The store could not write its pending changes before a read (a full disk): nothing is lost.
        Tailor.Storage.StorageUnavailableException => StoreUnavailable(),
        _ => Internal(),
    };

    private static readonly Dictionary<string, string> RetryAfter = new() { ["Retry-After"] = "1" };
}
