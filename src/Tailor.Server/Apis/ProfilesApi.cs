using System.Text.Json;
using Tailor.Core;
using Tailor.Core.Configuration;
using Tailor.Core.Evaluation;
using Tailor.Core.Profiles;
using Tailor.Server.Accounts;
using Tailor.Server.Grains;
using Tailor.Server.Lookup;
using Tailor.Storage;

namespace Tailor.Server.Apis;

/// <summary>
/// A customer's profile (master key), by one of its identifiers (<c>?key=&amp;value=</c>, or <c>?email=</c>):
/// <c>GET /v1/audiences/{audience}/profiles</c> shows it as Tailor holds it; <c>GET .../profiles/export</c>
/// returns everything held about the customer (the profile, its lookup answer, its events);
/// <c>DELETE .../profiles</c> erases the customer (privacy deletion).
/// </summary>
public static class ProfilesApi
{
    public static IEndpointRouteBuilder MapProfilesApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/audiences/{audience}/profiles", async (HttpContext context, AccountDirectory accounts, IGrainFactory grains, TimeProvider time, string audience) =>
        {
            var (found, error) = await FindAsync(context, accounts, grains, audience);
            if (error is not null) return error;
            var (state, compiled, _) = found!.Value;
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            return Results.Stream(async stream =>
            {
                await using var writer = new Utf8JsonWriter(stream);
                WriteProfile(writer, state, compiled, now);
            }, "application/json");
        });

        app.MapGet("/v1/audiences/{audience}/profiles/export", async (HttpContext context, AccountDirectory accounts, IGrainFactory grains, IProfileStore store,
            LookupIndexes lookups, TimeProvider time, string audience) =>
        {
            var (found, error) = await FindAsync(context, accounts, grains, audience);
            if (error is not null) return error;
            var (state, compiled, accountId) = found!.Value;
            var events = await store.ReadProfileEventsAsync(new AudienceScope(accountId, audience), state.Id, context.RequestAborted);
            var lookup = lookups.For(accountId) is { } l && l.Compiled.Audience.Name == audience ? l : null;
            byte[]? record = null;
            if (lookup is not null)
            {
                using var read = lookup.Index.Read();
                if (read.OrdinalOf(state.Id) is var ordinal and >= 0) record = read.Record(ordinal).ToArray();
            }
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            return Results.Stream(async stream =>
            {
                await using var writer = new Utf8JsonWriter(stream);
                writer.WriteStartObject();
                writer.WritePropertyName("profile");
                WriteProfile(writer, state, compiled, now);
                writer.WritePropertyName("lookup");
                if (lookup is null || record is null) writer.WriteNullValue();
                else new LookupAnswer(lookup.Compiled, null, null, showAvailable: false).Write(writer, record);
                writer.WriteStartArray("events");
                foreach (var e in events)
                {
                    writer.WriteStartObject();
                    writer.WriteNumber("seq", e.Seq);
                    writer.WriteString("database", e.Database);
                    writer.WriteString("table", e.Table);
                    writer.WriteString("profile_id", e.ProfileId);
                    writer.WritePropertyName("event");
                    writer.WriteRawValue(e.Body, skipInputValidation: true);
                    writer.WriteEndObject();
                    if (writer.BytesPending > 32 * 1024) await writer.FlushAsync();
                }
                writer.WriteEndArray();
                writer.WriteEndObject();
            }, "application/json");
        });

        app.MapDelete("/v1/audiences/{audience}/profiles", async (HttpContext context, AccountDirectory accounts, IGrainFactory grains, IProfileStore store, LookupIndexes lookups, string audience) =>
        {
            var (request, error) = Parse(context, accounts, audience);
            if (error is not null) return error;
            var (master, identifier, _) = request!;
            var forgotten = await grains.Identity(master.AccountId, audience).Erase(identifier);
            if (forgotten is null) return ApiError.NotFound("No profile has this identifier.");
            // No call reaches the profile any more; its stored rows and lookup entries go now.
            var events = await store.EraseProfileAsync(new AudienceScope(master.AccountId, audience), forgotten.ProfileId);
            lookups.OnErased(master.AccountId, audience, forgotten.ProfileId);
            await AuditApi.RecordAsync(context, master.AccountId, master, "profile.erase",
                $"audience `{audience}`: profile {forgotten.ProfileId} ({forgotten.Identifiers} identifiers, {events} events)");
            return Results.Json(new { profile_id = forgotten.ProfileId, identifiers = forgotten.Identifiers, events });
        });
        return app;
    }

    private static IdentifierDto? Identifier(HttpRequest request)
    {
        var key = request.Query["key"].ToString();
        var value = request.Query["value"].ToString();
        if (key.Length == 0 && request.Query["email"].ToString() is { Length: > 0 } email) (key, value) = ("email", email);
        return key.Length == 0 || value.Length == 0 ? null : new IdentifierDto(key, value);
    }

    /// <summary>A profile request's parts: the caller's master key, the identifier, the audience.</summary>
    private sealed record ProfileRequest(KeyEntry Master, IdentifierDto Identifier, CompiledAudience Audience);

    /// <summary>Checks what every profile request needs (master key, identifier, audience), or the error to answer.</summary>
    private static (ProfileRequest? Request, ApiError? Error) Parse(HttpContext context, AccountDirectory accounts, string audience)
    {
        var (master, error) = AdminAuth.Master(context);
        if (error is not null) return (null, error);
        if (Identifier(context.Request) is not { } identifier) return (null, ApiError.BadRequest("Give the identifier as ?key=<stitching key>&value=<value> (or ?email=)."));
        var compiled = accounts.Config(master!.AccountId)?.Compiled.Audiences.GetValueOrDefault(audience);
        if (compiled is null) return (null, ApiError.NotFound($"No audience `{audience}` in this account's configuration."));
        return (new ProfileRequest(master, identifier, compiled), null);
    }

    /// <summary>The profile an identifier finds (following merges), or the error to answer.</summary>
    private static async Task<((ProfileState State, CompiledAudience Audience, long AccountId)? Found, ApiError? Error)> FindAsync(HttpContext context, AccountDirectory accounts, IGrainFactory grains, string audience)
    {
        var (request, error) = Parse(context, accounts, audience);
        if (error is not null) return (null, error);
        var (master, identifier, compiled) = request!;
        var profileId = await grains.Identity(master.AccountId, audience).Find(identifier);
        byte[]? bytes = null;
        if (profileId is { } id) bytes = await grains.Profile(master.AccountId, audience, id).Snapshot();
        if (bytes is null) return (null, ApiError.NotFound("No profile has this identifier."));
        return ((ProfileSnapshot.Read(bytes, compiled.Layout), compiled, master.AccountId), null);
    }

    private static void WriteProfile(Utf8JsonWriter writer, ProfileState state, CompiledAudience compiled, long now)
    {
        writer.WriteStartObject();
        writer.WriteString("id", state.Id);
        writer.WriteNumber("created_at", state.CreatedMs);
        writer.WriteNumber("updated_at", state.UpdatedMs);
        writer.WriteNumber("events", state.EventCount);
        writer.WriteStartArray("identifiers");
        foreach (var id in state.Identifiers)
        {
            writer.WriteStartObject();
            writer.WriteString("key", id.Identifier.Key);
            writer.WriteString("value", id.Identifier.Value);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteStartObject("attributes");
        foreach (var definition in compiled.Layout.Attributes)
        {
            if (definition.Type == AttributeType.List)
            {
                var items = compiled.ReadList(state, definition.Name, now);
                if (items.Count == 0) continue;
                writer.WriteStartArray(definition.Name);
                foreach (var item in items) ValueJson.Write(writer, item);
                writer.WriteEndArray();
                continue;
            }
            foreach (var window in definition.WindowNames.Length == 0 ? [""] : definition.WindowNames)
            {
                var name = window.Length == 0 ? definition.Name : $"{definition.Name}.{window}";
                var read = compiled.ReadAttribute(state, name, now);
                if (read.IsAbsent) continue;
                writer.WritePropertyName(name);
                ValueJson.Write(writer, read);
            }
        }
        writer.WriteEndObject();
        writer.WriteStartArray("segments");
        foreach (var segment in compiled.Segments.Where(s => state.InSegment(s.Index))) writer.WriteStringValue(segment.Name);
        writer.WriteEndArray();
        writer.WriteStartArray("batch_segments");
        foreach (var id in state.BatchSegments) writer.WriteStringValue(id);
        writer.WriteEndArray();
        writer.WriteEndObject();
    }
}
