using System.Buffers;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading.RateLimiting;
using Microsoft.Extensions.ObjectPool;
using Microsoft.Extensions.Options;
using Tailor.Core;
using Tailor.Core.Evaluation;
using Tailor.Core.Events;
using Tailor.Server.Accounts;
using Tailor.Server.Grains;
using Tailor.Server.Hosting;
using Tailor.Server.Ingest;
using Tailor.Server.Threading;
using Tailor.Storage;

namespace Tailor.Server.Apis;

/// <summary>
/// The real-time Personalization API: <c>POST /{database}/{table}</c>, <c>POST /public/{database}/{table}</c>
/// and the CORS preflight <c>OPTIONS /public/{database}/{table}</c> (../shared/spec/personalization-api.md).
/// Checks run in the documented order; the first failure answers.
/// </summary>
public static partial class PersonalizationApi
{
    public const string MediaType = "application/vnd.treasuredata.v1+json";

    [GeneratedRegex("^[0-9a-z_]{3,128}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[0-9A-Za-z]{8,64}$")]
    private static partial Regex TokenPattern();

    public static IEndpointRouteBuilder MapPersonalizationApi(this IEndpointRouteBuilder app)
    {
        // The body is read and checked by hand (the documented order of checks); the metadata tells OpenAPI what it is.
        // The handler's services are singletons, taken from the root provider once: a request that does not touch
        // RequestServices makes no DI scope (three objects per call), and its four lookups per call were 0.2–0.4% of the server's samples.
        var services = new HandlerServices(app.ServiceProvider);
        Describe(app.MapPost("/{database}/{table}", (HttpContext context, string database, string table) => Respond(context, services, database, table, isPublic: false)))
            .WithSummary("Post an event for a customer and get the offers that now apply (servers: write key, private token)")
            .WithMetadata(AnswersItsOwnErrors.Instance);
        Describe(app.MapPost("/public/{database}/{table}", (HttpContext context, string database, string table) => Respond(context, services, database, table, isPublic: true)))
            .WithSummary("The same from browsers: public token, allowed Origin, CORS, no sensitive attributes")
            .WithMetadata(AnswersItsOwnErrors.Instance);
        app.MapMethods("/public/{database}/{table}", ["OPTIONS"], Preflight).WithSummary("CORS preflight for /public/");
        return app;
    }

    /// <summary>The handler's singletons, resolved on its first call (at mapping, the host has not built them all yet).</summary>
    private sealed class HandlerServices(IServiceProvider root)
    {
        private Singletons? _resolved;

        public Singletons Resolved => _resolved ??= new(
            root.GetRequiredService<AccountDirectory>(), root.GetRequiredService<IOptions<TailorOptions>>().Value,
            root.GetRequiredService<TimeProvider>(), root.GetRequiredService<Reactor>(),
            root.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(PersonalizationApi).FullName!));
    }

    private sealed record Singletons(AccountDirectory Accounts, TailorOptions Options, TimeProvider Time, Reactor Reactor, ILogger Logger);

    /// <summary>The error body of every API: <c>{"code": n, "message": "..."}</c>.</summary>
    public sealed record ErrorBody(int Code, string Message);

    // Not .Accepts(): routing would then reject other content types itself (an empty 415) before the
    // documented checks run. The request body is described for OpenAPI only.
    private static RouteHandlerBuilder Describe(RouteHandlerBuilder endpoint) => endpoint
        .AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.RequestBody = new Microsoft.OpenApi.OpenApiRequestBody
            {
                Required = true,
                Description = "One JSON object: the event. It must carry an identifier (a stitching key of the audience); time and uuid are optional.",
                Content = new Dictionary<string, Microsoft.OpenApi.OpenApiMediaType>
                {
                    [MediaType] = new() { Schema = new Microsoft.OpenApi.OpenApiSchema { Type = Microsoft.OpenApi.JsonSchemaType.Object } },
                },
            };
            return Task.CompletedTask;
        })
        .Produces<Dictionary<string, object>>(200, "application/json")
        .Produces<ErrorBody>(400, "application/json")
        .Produces<ErrorBody>(401, "application/json")
        .Produces<ErrorBody>(403, "application/json")
        .Produces<ErrorBody>(404, "application/json")
        .Produces<ErrorBody>(413, "application/json")
        .Produces<ErrorBody>(415, "application/json")
        .Produces<ErrorBody>(429, "application/json")
        .Produces<ErrorBody>(503, "application/json");

    private static IResult Preflight(HttpContext context, AccountDirectory accounts)
    {
        var origin = context.Request.Headers.Origin.ToString();
        if (origin.Length == 0 || !accounts.PublicOrigins.Contains(origin)) return ApiError.OriginNotAllowed();
        AddCors(context, origin);
        context.Response.Headers.AccessControlAllowMethods = "POST";
        context.Response.Headers.AccessControlAllowHeaders = "Authorization, WP13n-Token, X-Token, Content-Type";
        context.Response.Headers.AccessControlMaxAge = "600";
        return Results.NoContent();
    }

    private static void AddCors(HttpContext context, string origin)
    {
        var headers = context.Response.Headers;
        headers.AccessControlAllowOrigin = origin;
        headers.AccessControlAllowCredentials = "true";
        headers.Vary = "Origin";
    }

    /// <summary>
    /// The call and its answer, as a <see cref="Task"/>: ASP.NET's request delegate factory passes a
    /// handler's task through as it is, where a handler returning <c>ValueTask&lt;IResult&gt;</c> costs
    /// the factory's own async method per call that does not complete at once (every call that reaches the
    /// log: ~150 bytes). A call answered at once (a refusal) costs no task at all.
    /// </summary>
    private static Task Respond(HttpContext context, HandlerServices singletons, string database, string table, bool isPublic)
    {
        var answered = Handle(context, singletons, database, table, isPublic);
        if (!answered.IsCompletedSuccessfully) return answered.AsTask();
        _ = answered.Result; // gives a pooled state machine back
        return Task.CompletedTask;
    }

    /// <summary>
    /// The call, answering every exception itself as the exception handler middleware would (it is not
    /// put around this endpoint, <see cref="AnswersItsOwnErrors"/>): a client that left gets nothing,
    /// anything else unexpected is logged and answered as <see cref="ApiError.ForUnexpected"/> says.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private static async ValueTask<bool> Handle(HttpContext context, HandlerServices singletons, string database, string table, bool isPublic)
    {
        IResult answer;
        try
        {
            answer = await HandleCall(context, singletons, database, table, isPublic);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception error)
        {
            LogUnexpected(singletons.Resolved.Logger, error, context.Request.Path);
            answer = ApiError.ForUnexpected(error);
        }
        await answer.ExecuteAsync(context);
        return true;
    }

    [LoggerMessage(EventId = 1701, Level = LogLevel.Error, Message = "A personalization call to {Path} failed unexpectedly")]
    private static partial void LogUnexpected(ILogger logger, Exception error, PathString path);

    // Pooled state machines, as in the Reactor: the call waits for its commit. One async method for the
    // call's own work: each one in flight is one more state machine per call.
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private static async ValueTask<IResult> HandleCall(HttpContext context, HandlerServices singletons, string database, string table, bool isPublic)
    {
        var services = singletons.Resolved;
        var accounts = services.Accounts;
        var request = context.Request;
        var origin = request.Headers.Origin.ToString();
        // Browsers can read the error only with CORS headers, so allowed origins get them on every answer.
        if (isPublic && origin.Length > 0 && accounts.PublicOrigins.Contains(origin)) AddCors(context, origin);

        // 1. path
        if (!NamePattern().IsMatch(database) || !NamePattern().IsMatch(table))
            return ApiError.InvalidEvent("The database and table names must be 3 to 128 characters of 0-9, a-z and _.");

        // 2. content type
        if (!IsEventMediaType(request.ContentType)) return ApiError.ContentType();

        // 3. API key (as verified on this connection before, when it is the same header and nothing was revoked since)
        var verified = VerifiedOnConnection.Of(context);
        var credentials = accounts.CredentialsVersion;
        var authorization = request.Headers.Authorization.ToString();
        if (verified?.Key(authorization, credentials) is not { } key)
        {
            var auth = Authenticate(authorization, accounts);
            if (auth.Error is { } authError) return authError;
            key = auth.Key!;
            verified?.KeepKey(authorization, key, credentials);
        }
        if (key.Kind == KeyKind.Lookup) return ApiError.Forbidden("This API key may not ingest events (it is a lookup key).");

        // 4. token
        var tokenHeader = request.Headers["WP13n-Token"].ToString();
        if (tokenHeader.Length == 0) tokenHeader = request.Headers["X-Token"].ToString();
        if (tokenHeader.Length == 0) return ApiError.TokenMissing();
        Span<Range> parts = stackalloc Range[4];
        var tokenText = tokenHeader.AsSpan();
        if (tokenText.Split(parts, '/') != 3 || !IsDigits(tokenText[parts[0]]) || !IsDigits(tokenText[parts[1]])
            || !TokenPattern().IsMatch(tokenText[parts[2]])
            || !long.TryParse(tokenText[parts[0]], out var tokenAccount) || !long.TryParse(tokenText[parts[1]], out var instanceId))
            return ApiError.TokenFormat();
        if (tokenAccount != key.AccountId) return ApiError.TokenAccountConflict();
        var config = accounts.Config(key.AccountId);
        var token = verified?.Token(tokenHeader, credentials);
        if (token is null && (token = accounts.FindToken(tokenAccount, instanceId, tokenText[parts[2]])) is not null) verified?.KeepToken(tokenHeader, token, credentials);
        if (token is null || config is null
            || !config.Compiled.Services.TryGetValue(token.Service, out var service)
            || FindTokenConfig(service, token.Name) is not { } tokenConfig)
            return ApiError.TokenNotConfigured();
        var client = context.Connection.RemoteIpAddress ?? IPAddress.None;
        if (!tokenConfig.Allows(client)) return ApiError.IpNotAllowed();
        if (service.Public != isPublic) return ApiError.TokenType();
        if (isPublic && (origin.Length == 0 || !service.AllowedOrigins.Contains(origin))) return ApiError.OriginNotAllowed();

        // The table must exist for the token's audience.
        if (!config.Compiled.Databases.Contains(database) || service.Audience.EventTable(database, table) is not { } eventTable)
            return ApiError.UnknownTable();

        // Overload: rejected events are not stored; the client may retry.
        using var ingest = config.Ingest.AttemptAcquire();
        if (!ingest.IsAcquired) return ApiError.IngestLimit();
        using var inFlight = config.Concurrency[service.Name].TryEnter();
        if (!inFlight.Entered) return ApiError.ConcurrencyLimit();

        // 5. body
        var options = services.Options;
        RequestBody body;
        bool tooLarge;
        string? unreadable;
        try
        {
            (body, tooLarge, unreadable) = await ReadBody(request, options.MaxEventBytes, context.RequestAborted);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return Results.Empty; // the client left; nobody reads the answer
        }
        if (tooLarge) return ApiError.TooLarge(options.MaxEventBytes);
        if (unreadable is not null) return ApiError.InvalidEvent($"The body could not be read: {unreadable}");
        // The request's bytes are needed only to parse: the event continues as fields, and is stored as written below.
        EventData? data;
        string? why;
        var call = Calls.Get();
        using (body)
        {
            if (!EventParser.TryParse(body.Span, out data, out why, rented: true, into: call.SpareEvent))
            {
                Calls.Return(call);
                return ApiError.InvalidEvent(Sentence(why!));
            }
        }
        if (!service.Audience.TryGetIdentifiers(data!, IdentifierDto.Make, out IdentifierDto[] identifiers, out why, reuse: call.SpareIdentifiers)
            || !TryCompleteEvent(data!, services.Time, out var stored, out var uuid, out var madeUuid, out var eventTime, out why))
        {
            // Nothing else has the event or the arrays yet: all go back (the pool empties the identifiers).
            data!.Release();
            call.Identifiers = identifiers;
            Calls.Return(call);
            return ApiError.InvalidEvent(Sentence(why!));
        }
        data!.SetField("time", Value.FromNumber(eventTime));
        if (uuid.Length == 0) data.SetMadeUuid(madeUuid);

        (call.AccountId, call.Audience, call.Service, call.Database, call.Table, call.EventTable) =
            (key.AccountId, service.Audience.Name, service.Name, database, table, eventTable);
        (call.Body, call.Uuid, call.MadeUuid, call.Time, call.IsPublic, call.Identifiers, call.Event) =
            (stored, uuid, madeUuid, eventTime, isPublic, identifiers, data);
        var reactor = services.Reactor;
        try
        {
            var offers = await reactor.PersonalizeAsync(call, context.RequestAborted);
            // The call answered, so its commit is done: nothing reads the call, the event and its stored
            // bytes any more (after a failure they are left to the GC: a grain may still hold them).
            RentedBytes.Return(stored);
            data.Release();
            Calls.Return(call);
            await OffersAnswer.WriteAsync(context.Response, offers);
            return Results.Empty; // answered: the offers are written
        }
        catch (EventLogUnavailableException)
        {
            return ApiError.Unavailable();
        }
        catch (StorageUnavailableException)
        {
            return ApiError.Unavailable();
        }
        catch (ServiceNotConfiguredException)
        {
            return ApiError.TokenNotConfigured();
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return Results.Empty;
        }
    }

    internal static bool IsEventMediaType(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType)) return false;
        var semicolon = contentType.IndexOf(';', StringComparison.Ordinal);
        var mediaType = (semicolon < 0 ? contentType : contentType[..semicolon]).Trim();
        return mediaType.Equals(MediaType, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The key of <c>Authorization: TD1 {account_id}/{apikey}</c>, or the 401 to answer.</summary>
    internal static (KeyEntry? Key, ApiError? Error) Authenticate(HttpRequest request, AccountDirectory accounts) =>
        Authenticate(request.Headers.Authorization.ToString(), accounts);

    private static (KeyEntry? Key, ApiError? Error) Authenticate(string header, AccountDirectory accounts)
    {
        if (!header.StartsWith("TD1 ", StringComparison.OrdinalIgnoreCase)) return (null, ApiError.Unauthorized());
        var key = header.AsSpan(4).Trim();
        var slash = key.IndexOf('/');
        if (slash <= 0 || !IsDigits(key[..slash]) || accounts.FindKey(key) is not { } entry || !IsNumber(key[..slash], entry.AccountId))
            return (null, ApiError.Unauthorized());
        return (entry, null);
    }

    private static bool IsDigits(ReadOnlySpan<char> text) => text.Length is > 0 and <= 18 && !text.ContainsAnyExceptInRange('0', '9');

    /// <summary>Whether <paramref name="text"/> is <paramref name="number"/> written the usual way (no leading zeros).</summary>
    internal static bool IsNumber(ReadOnlySpan<char> text, long number)
    {
        Span<char> written = stackalloc char[20];
        return number.TryFormat(written, out var length, provider: System.Globalization.CultureInfo.InvariantCulture) && text.SequenceEqual(written[..length]);
    }

    private static CompiledToken? FindTokenConfig(CompiledService service, string name)
    {
        for (var i = 0; i < service.Tokens.Count; i++)
            if (service.Tokens[i].Name == name) return service.Tokens[i];
        return null;
    }

    private static string Sentence(string reason) => char.ToUpperInvariant(reason[0]) + reason[1..] + (reason.EndsWith('.') ? "" : ".");

    /// <summary>
    /// Reads at most <paramref name="limit"/> bytes; larger bodies are refused without being buffered.
    /// A body Kestrel cannot read (malformed chunks, too slow, cut short) is the client's error, never a 500.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    internal static async ValueTask<(RequestBody Body, bool TooLarge, string? Unreadable)> ReadBody(HttpRequest request, int limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit) return (default, true, null);
        byte[]? rented = null;
        try
        {
            if (request.ContentLength is { } length)
            {
                // The server frames the body at its Content-Length: read straight into a pooled array of that size.
                rented = ArrayPool<byte>.Shared.Rent((int)length);
                for (var filled = 0; filled < length;)
                {
                    var read = await request.Body.ReadAsync(rented.AsMemory(filled, (int)length - filled), cancellationToken);
                    if (read == 0) return (Returned(ref rented), false, "the body is shorter than its Content-Length");
                    filled += read;
                }
                return (new RequestBody(rented, (int)length), false, null);
            }
            // A chunked body grows 4 KiB at a time.
            var buffer = new ArrayBufferWriter<byte>(4096);
            while (true)
            {
                var read = await request.Body.ReadAsync(buffer.GetMemory(4096), cancellationToken);
                if (read == 0) return (new RequestBody(buffer.WrittenSpan.ToArray()), false, null);
                buffer.Advance(read);
                if (buffer.WrittenCount > limit) return (default, true, null);
            }
        }
        catch (BadHttpRequestException ex)
        {
            Returned(ref rented);
            return ex.StatusCode == StatusCodes.Status413PayloadTooLarge ? (default, true, null) : (default, false, ex.Message);
        }
        catch
        {
            Returned(ref rented);
            throw;
        }
    }

    private static RequestBody Returned(ref byte[]? rented)
    {
        if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        rented = null;
        return default;
    }

    /// <summary>The calls' messages, reused once their call has answered (one object of ~100 bytes fewer per call).</summary>
    private static readonly ObjectPool<PersonalizeCall> Calls = new DefaultObjectPool<PersonalizeCall>(new CallPolicy(), 4096);

    private sealed class CallPolicy : PooledObjectPolicy<PersonalizeCall>
    {
        public override PersonalizeCall Create() => new() { EventTable = "" };

        /// <summary>Its references dropped, so that a pooled call keeps nothing of the last one alive (the handler sets every field).</summary>
        public override bool Return(PersonalizeCall call)
        {
            (call.Audience, call.Service, call.Database, call.Table, call.EventTable, call.Uuid) = ("", "", "", "", "", "");
            call.Body = default;
            call.KeepEventObject();
            call.KeepIdentifiersArray();
            return true;
        }
    }

    /// <summary>
    /// The event as stored: the client's fields, plus <c>time</c> and <c>uuid</c> when it did not send
    /// them. <paramref name="uuid"/> is the client's, or empty: the server made <paramref name="madeUuid"/>.
    /// </summary>
    private static bool TryCompleteEvent(EventData data, TimeProvider time, out ArraySegment<byte> stored, out string uuid, out Guid madeUuid, out long eventTime, out string? error)
    {
        stored = default;
        uuid = "";
        madeUuid = Guid.Empty;
        eventTime = 0;
        error = null;
        var sentTime = data["time"];
        if (sentTime.Kind == ValueKind.Number && sentTime.Number is >= 0 and < 1e11 && sentTime.Number == Math.Floor(sentTime.Number))
            eventTime = (long)sentTime.Number;
        else if (sentTime.IsAbsent) eventTime = time.GetUtcNow().ToUnixTimeSeconds();
        else
        {
            error = "`time` must be a whole number of seconds since the Unix epoch";
            return false;
        }
        var sentUuid = data[EventData.UuidField];
        if (sentUuid.Kind == ValueKind.String && sentUuid.String.Length is > 0 and <= 128) uuid = sentUuid.String;
        else if (sentUuid.IsAbsent) madeUuid = Uuid7.Create(time.GetUtcNow());
        else
        {
            error = "`uuid` must be a non-empty string of at most 128 characters";
            return false;
        }

        stored = PooledJson.WriteRented((data, eventTime, uuid, madeUuid), static (writer, e) =>
        {
            writer.WriteStartObject();
            foreach (var (name, value) in e.data)
            {
                if (name is "time" or EventData.UuidField) continue;
                writer.WritePropertyName(name);
                ValueJson.Write(writer, value);
            }
            writer.WriteNumber("time", e.eventTime);
            if (e.uuid.Length > 0) writer.WriteString(EventData.UuidField, e.uuid);
            else writer.WriteString(EventData.UuidField, e.madeUuid);
            writer.WriteEndObject();
            return 0;
        }, out _);
        return true;
    }
}
