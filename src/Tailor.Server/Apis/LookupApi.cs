using System.Buffers;
using System.Net;
using System.Text;
using System.Text.Json;
using Tailor.Core.Lookup;
using Tailor.Server.Accounts;
using Tailor.Server.Lookup;
using Tailor.Storage;

namespace Tailor.Server.Apis;

/// <summary>
/// The enrichment lookup API (../shared/spec/lookup-api.md): single lookups <c>GET /v5/td</c>,
/// <c>/v5/ei</c>, <c>/v4/dr</c> and bulk lookups <c>POST /v5/ei/bulk</c>, <c>/v4/bulk</c>, with
/// <c>api_key</c> in the query string. Answers come from the account's in-memory lookup index.
/// </summary>
public static class LookupApi
{
    /// <summary>Far more than 10,000 people take: the body is read into memory, so it is capped.</summary>
    public const int MaxBulkBodyBytes = 32 * 1024 * 1024;
    private const int ReadSlice = 512;

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    public static IEndpointRouteBuilder MapLookupApi(this IEndpointRouteBuilder app)
    {
        foreach (var path in new[] { "/v5/td", "/v5/ei", "/v4/dr" }) app.MapGet(path, SingleAsync).WithTags("lookup");
        foreach (var path in new[] { "/v5/ei/bulk", "/v4/bulk" }) app.MapPost(path, BulkAsync).WithTags("lookup");
        app.MapGet("/v1/usage", UsageAsync);
        app.MapGet("/v1/lookup/status", (HttpContext context, LookupIndexes lookups, BulkGate gate) =>
        {
            var (master, error) = AdminAuth.Master(context);
            if (error is not null) return error;
            var lookup = lookups.For(master!.AccountId);
            var (running, waiting) = gate.Statistics(master.AccountId);
            return Results.Json(new
            {
                audience = lookup?.Compiled.Audience.Name,
                fields = lookup?.Compiled.Fields,
                ready = lookup?.Ready.IsCompletedSuccessfully ?? false,
                profiles = lookup?.Index.ProfileCount ?? 0,
                keys = lookup?.Index.KeyCount ?? 0,
                index_bytes = lookup?.Index.Bytes ?? 0,
                record_bytes = lookup?.Index.RecordBytes ?? 0,
                bulk = new { running, waiting },
            });
        });
        return app;
    }

    /// <summary>The key from <c>api_key</c> (401 unknown, 403 a write key).</summary>
    private static (KeyEntry? Key, LookupError? Error) Authenticate(HttpRequest request, AccountDirectory accounts)
    {
        var apiKey = request.Query["api_key"].ToString().Trim();
        var slash = apiKey.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || accounts.FindKey(apiKey) is not { } key || !PersonalizationApi.IsNumber(apiKey.AsSpan(0, slash), key.AccountId))
            return (null, LookupError.InvalidKey());
        if (key.Kind == KeyKind.Write) return (null, LookupError.NotLookupKey("write"));
        return (key, null);
    }

    private static bool ShowAvailable(HttpRequest request) =>
        request.Query.TryGetValue("show_available", out var value) && (value.ToString() is "" or "true" or "1" or "True");

    private static async Task<AccountLookup?> ReadyLookup(LookupIndexes lookups, long accountId, CancellationToken cancellationToken)
    {
        if (lookups.For(accountId) is not { } lookup) return null;
        await lookup.Ready.WaitAsync(cancellationToken);
        return lookup;
    }

    private static async Task<IResult> SingleAsync(HttpContext context, AccountDirectory accounts, LookupIndexes lookups, LookupUsage usage)
    {
        var request = context.Request;
        var (key, error) = Authenticate(request, accounts);
        if (error is not null) return error;
        var keys = BulkRequest.KeysOfQuery(name => request.Query.TryGetValue(name, out var v) ? v.ToString() : null);
        if (keys.Count == 0) return LookupError.InvalidIdentifier();
        if (!usage.TryConsume(key!, 1)) return LookupError.QuotaExceeded();
        AccountLookup? lookup;
        try
        {
            lookup = await ReadyLookup(lookups, key!.AccountId, context.RequestAborted);
        }
        catch (Exception) when (!context.RequestAborted.IsCancellationRequested)
        {
            return LookupError.Unavailable();
        }
        byte[] record = [];
        if (lookup is not null)
        {
            using var read = lookup.Index.Read();
            foreach (var indexKey in keys)
                if (read.Find(indexKey) is var ordinal and >= 0)
                {
                    record = read.Record(ordinal).ToArray();
                    break;
                }
        }
        var answer = lookup is null ? null : new LookupAnswer(lookup.Compiled, key!.Grant, request.Query["fields"], ShowAvailable(request));
        if (string.Equals(request.Query["format"], "html", StringComparison.OrdinalIgnoreCase))
            return Results.Content(Html(answer?.Fields(record) ?? []), "text/html; charset=utf-8");
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            if (answer is null)
            {
                writer.WriteStartObject();
                writer.WriteEndObject();
            }
            else answer.Write(writer, record);
        }
        return Results.Bytes(buffer.WrittenMemory.ToArray(), "application/json");
    }

    private static string Html(IEnumerable<(string Name, string Json)> fields)
    {
        var html = new StringBuilder("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Tailor lookup</title></head><body><table border=\"1\"><tr><th>field</th><th>value</th></tr>");
        foreach (var (name, json) in fields)
            html.Append("<tr><td>").Append(WebUtility.HtmlEncode(name)).Append("</td><td>").Append(WebUtility.HtmlEncode(json)).Append("</td></tr>");
        return html.Append("</table></body></html>").ToString();
    }

    private static bool IsJson(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType)) return false;
        var media = contentType.Split(';')[0].Trim();
        return media.Equals("application/json", StringComparison.OrdinalIgnoreCase) || media.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
    }

    private static async Task BulkAsync(HttpContext context, AccountDirectory accounts, LookupIndexes lookups, LookupUsage usage, BulkGate gate)
    {
        var request = context.Request;
        var aborted = context.RequestAborted;
        var (key, error) = Authenticate(request, accounts);
        if (error is not null)
        {
            await error.ExecuteAsync(context);
            return;
        }
        if (!IsJson(request.ContentType))
        {
            await LookupError.InvalidJson().ExecuteAsync(context);
            return;
        }
        System.Threading.RateLimiting.RateLimitLease lease;
        try
        {
            lease = await gate.EnterAsync(key!.AccountId, aborted);
        }
        catch (OperationCanceledException)
        {
            return; // the client left the queue
        }
        using (lease)
        {
            if (!lease.IsAcquired)
            {
                await new LookupError(429, "Too many bulk requests are waiting for this account.").ExecuteAsync(context);
                return;
            }
            var (body, length) = await ReadBodyAsync(request, aborted);
            if (body is null)
            {
                await LookupError.TooLarge(MaxBulkBodyBytes).ExecuteAsync(context);
                return;
            }
            try
            {
                var limit = key!.Grant?.BulkLimit ?? LookupGrant.DefaultBulkLimit;
                switch (BulkRequest.Parse(body.AsSpan(0, length), limit, out var people, out var requested))
                {
                    case BulkRequest.Outcome.InvalidJson:
                        await LookupError.InvalidJson().ExecuteAsync(context);
                        return;
                    case BulkRequest.Outcome.TooMany:
                        await LookupError.TooMany(limit, requested).ExecuteAsync(context);
                        return;
                }
                if (!usage.TryConsume(key, people.Count))
                {
                    await LookupError.QuotaExceeded().ExecuteAsync(context);
                    return;
                }
                AccountLookup? lookup;
                try
                {
                    lookup = await ReadyLookup(lookups, key.AccountId, aborted);
                }
                catch (Exception) when (!aborted.IsCancellationRequested)
                {
                    await LookupError.Unavailable().ExecuteAsync(context);
                    return;
                }
                await WriteBulkAnswerAsync(context, lookup, key.Grant, people);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(body);
            }
        }
    }

    /// <summary>The body in a pooled buffer (null when over <see cref="MaxBulkBodyBytes"/>).</summary>
    private static async Task<(byte[]? Body, int Length)> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Clamp(request.ContentLength ?? 64 * 1024, 1024, MaxBulkBodyBytes + 1));
        var length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                if (buffer.Length > MaxBulkBodyBytes)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    return (null, 0);
                }
                var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, MaxBulkBodyBytes + 1));
                buffer.AsSpan(0, length).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = bigger;
            }
            var read = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken);
            if (read == 0) break;
            length += read;
            if (length > MaxBulkBodyBytes)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                return (null, 0);
            }
        }
        return (buffer, length);
    }

    private static async Task WriteBulkAnswerAsync(HttpContext context, AccountLookup? lookup, LookupGrant? grant, BulkRequest people)
    {
        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = "application/json";
        var answer = lookup is null ? null : new LookupAnswer(lookup.Compiled, grant, context.Request.Query["fields"], ShowAvailable(context.Request));
        await using var writer = new Utf8JsonWriter(response.BodyWriter, WriterOptions);
        writer.WriteStartArray();
        for (var start = 0; start < people.Count; start += ReadSlice)
        {
            WriteSlice(writer, lookup, answer, people, start, Math.Min(people.Count, start + ReadSlice));
            if (writer.BytesPending > 32 * 1024) await writer.FlushAsync(context.RequestAborted);
        }
        writer.WriteEndArray();
        await writer.FlushAsync(context.RequestAborted);
    }

    private static void WriteSlice(Utf8JsonWriter writer, AccountLookup? lookup, LookupAnswer? answer, BulkRequest people, int start, int end)
    {
        if (lookup is null || answer is null)
        {
            for (var i = start; i < end; i++) WritePerson(writer, people.KeysOf(i).Length == 0);
            return;
        }
        using var read = lookup.Index.Read();
        for (var i = start; i < end; i++)
        {
            var keys = people.KeysOf(i);
            if (keys.Length == 0)
            {
                WritePerson(writer, invalid: true);
                continue;
            }
            var ordinal = -1;
            foreach (var key in keys)
                if ((ordinal = read.Find(key)) >= 0) break;
            if (ordinal < 0) WritePerson(writer, invalid: false);
            else answer.Write(writer, read.Record(ordinal));
        }
    }

    private static void WritePerson(Utf8JsonWriter writer, bool invalid)
    {
        if (invalid) LookupError.WriteBody(writer, 400, "Invalid identifier.");
        else
        {
            writer.WriteStartObject();
            writer.WriteEndObject();
        }
    }

    private static IResult UsageAsync(HttpContext context, AccountDirectory accounts, LookupUsage usage)
    {
        var request = context.Request;
        KeyEntry? key;
        if (request.Query.ContainsKey("api_key"))
        {
            var (lookupKey, error) = Authenticate(request, accounts);
            if (error is not null) return error;
            key = lookupKey;
        }
        else
        {
            var (master, error) = AdminAuth.Master(context);
            if (error is not null) return error;
            key = master;
        }
        if (key!.Kind != KeyKind.Master) return Results.Json(Usage(usage, key));
        // A master key sees every active key of its account.
        return Results.Json(accounts.ActiveKeys(key.AccountId).Select(k => Usage(usage, k)));
    }

    private static object Usage(LookupUsage usage, KeyEntry key)
    {
        var period = usage.Period(key.Grant?.Period ?? QuotaPeriod.Month);
        return new { key_id = key.Id, kind = key.Kind.ToString().ToLowerInvariant(), period, records = usage.Used(key.Id, period), quota = key.Grant?.Quota };
    }
}
