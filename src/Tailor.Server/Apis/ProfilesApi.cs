using System.Text.Json;
using Tailor.Core;
using Tailor.Core.Configuration;
using Tailor.Core.Profiles;
using Tailor.Server.Accounts;
using Tailor.Server.Grains;

namespace Tailor.Server.Apis;

/// <summary>A profile as Tailor holds it: <c>GET /v1/audiences/{audience}/profiles?key=&amp;value=</c> (master key).</summary>
public static class ProfilesApi
{
    public static IEndpointRouteBuilder MapProfilesApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/audiences/{audience}/profiles", async (HttpContext context, AccountDirectory accounts, IGrainFactory grains, TimeProvider time, string audience, string? key, string? value) =>
        {
            var (master, error) = AdminAuth.Master(context);
            if (error is not null) return error;
            if (string.IsNullOrEmpty(key) || string.IsNullOrEmpty(value)) return ApiError.BadRequest("Give the identifier as ?key=<stitching key>&value=<value>.");
            var compiled = accounts.Config(master!.AccountId)?.Compiled.Audiences.GetValueOrDefault(audience);
            if (compiled is null) return ApiError.NotFound($"No audience `{audience}` in this account's configuration.");
            var profileId = await grains.GetGrain<IIdentityGrain>(GrainKeys.Identity(master.AccountId, audience)).Find(new IdentifierDto(key, value));
            byte[]? bytes = null;
            for (var move = 0; profileId is { } id && move < 4; move++)
            {
                var grain = grains.GetGrain<IProfileGrain>(GrainKeys.Profile(master.AccountId, audience, id));
                bytes = await grain.Snapshot();
                if (bytes is not null) break;
                profileId = null;
            }
            if (bytes is null) return ApiError.NotFound("No profile has this identifier.");
            var state = ProfileSnapshot.Read(bytes, compiled.Layout);
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            return Results.Stream(async stream =>
            {
                await using var writer = new Utf8JsonWriter(stream);
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
            }, "application/json");
        });
        return app;
    }
}
