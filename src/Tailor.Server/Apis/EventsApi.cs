using System.Text.Json;
using Tailor.Storage;

namespace Tailor.Server.Apis;

/// <summary>Reading the event log: <c>GET /v1/databases/{db}/tables/{table}/events?after=&amp;limit=</c>.</summary>
public static class EventsApi
{
    public const int MaxLimit = 10_000;

    public static IEndpointRouteBuilder MapEventsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/databases/{database}/tables/{table}/events", async (HttpContext context, IEventStore store, string database, string table, long? after, int? limit) =>
        {
            var (key, error) = AdminAuth.Master(context);
            if (error is not null) return error;
            if (after < 0) return ApiError.BadRequest("`after` is a sequence number ≥ 0.");
            if (limit is < 1 or > MaxLimit) return ApiError.BadRequest($"`limit` is from 1 to {MaxLimit}.");
            var events = await store.ReadEventsAsync(key!.AccountId, database, table, after ?? 0, limit ?? 100);
            return Results.Json(new
            {
                events = events.Select(e => new { seq = e.Seq, uuid = e.Uuid, time = e.Time, profile_id = e.ProfileId, @event = JsonDocument.Parse(e.Body).RootElement }),
                next_after = events.Count > 0 ? events[^1].Seq : after ?? 0,
            });
        });
        return app;
    }
}
