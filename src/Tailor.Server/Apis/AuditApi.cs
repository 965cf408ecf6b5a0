using Tailor.Server.Accounts;
using Tailor.Storage;

namespace Tailor.Server.Apis;

/// <summary>
/// The audit log: every administrative change (accounts, keys and their entitlements, tokens,
/// configuration, imports, profile deletions) with who made it and when. <c>GET /v1/audit?after=&amp;limit=</c> (master key).
/// </summary>
public static class AuditApi
{
    public const int MaxPage = 1000;

    /// <summary>Who made a change: a key of the account, or the server administrator.</summary>
    public static string Actor(KeyEntry? key) => key is null ? "server administrator" : $"{key.Kind.ToString().ToLowerInvariant()} key {key.Id}";

    /// <summary>Records a change that has been made (a failure to record is logged, never undoes it).</summary>
    public static async Task RecordAsync(HttpContext context, long accountId, KeyEntry? key, string action, string detail)
    {
        var store = context.RequestServices.GetRequiredService<IAccountStore>();
        try
        {
            await store.AppendAuditAsync(accountId, Actor(key), action, detail);
        }
        catch (Exception ex)
        {
            context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Tailor.Audit")
                .LogError(ex, "Could not record {Action} on account {Account} in the audit log", action, accountId);
        }
    }

    public static IEndpointRouteBuilder MapAuditApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/audit", async (HttpContext context, IAccountStore store, long? after, int? limit) =>
        {
            var (master, error) = AdminAuth.Master(context);
            if (error is not null) return error;
            var entries = await store.ListAuditAsync(master!.AccountId, after ?? 0, Math.Clamp(limit ?? 100, 1, MaxPage));
            return Results.Json(new
            {
                entries = entries.Select(e => new { id = e.Id, at = e.At, actor = e.Actor, action = e.Action, detail = e.Detail }),
                next_after = entries.Count > 0 ? entries[^1].Id : after ?? 0,
            });
        });
        return app;
    }
}
