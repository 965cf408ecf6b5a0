using System.Text;
using Tailor.Server.Accounts;
using Tailor.Storage;

namespace Tailor.Server.Apis;

/// <summary>Configuration as code: <c>PUT/GET /v1/config</c> and <c>GET /v1/config/versions</c>.</summary>
public static class ConfigApi
{
    public static IEndpointRouteBuilder MapConfigApi(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1");

        // The body is the YAML or JSON document; `file` names it in error messages.
        v1.MapPut("/config", async (HttpContext context, AccountDirectory accounts, string? file) =>
        {
            var (key, error) = AdminAuth.Master(context);
            if (error is not null) return error;
            var (body, tooLarge, unreadable) = await PersonalizationApi.ReadBody(context.Request, 8 * 1024 * 1024, context.RequestAborted);
            using var bytes = body;
            if (tooLarge) return ApiError.TooLarge(8 * 1024 * 1024);
            if (unreadable is not null) return ApiError.BadRequest($"The body could not be read: {unreadable}");
            string text;
            try
            {
                text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes.Span);
            }
            catch (DecoderFallbackException)
            {
                return ApiError.BadRequest("The configuration is not valid UTF-8.");
            }
            var isJson = (context.Request.ContentType ?? "").Contains("json", StringComparison.OrdinalIgnoreCase);
            var name = string.IsNullOrWhiteSpace(file) ? (isJson ? "tailor.json" : "tailor.yaml") : Path.GetFileName(file);
            var (saved, errors) = await accounts.ApplyConfigAsync(key!.AccountId, text, name);
            if (saved is null)
                return Results.Json(new
                {
                    code = 4000,
                    message = $"The configuration has {errors.Count} error(s); nothing was changed.",
                    errors = errors.Select(e => new { file = e.Location.File, line = e.Location.Line, column = e.Location.Column, message = e.Message, text = e.ToString() }),
                }, statusCode: 400);
            await AuditApi.RecordAsync(context, key.AccountId, key, "config.apply", $"version {saved.Version} from `{name}`");
            return Results.Json(new { version = saved.Version, created_at = saved.CreatedAt });
        });

        v1.MapGet("/config", async (HttpContext context, IAccountStore store, int? version) =>
        {
            var (key, error) = AdminAuth.Master(context);
            if (error is not null) return error;
            var saved = await store.GetConfigAsync(key!.AccountId, version);
            if (saved is null) return ApiError.NotFound(version is null ? "This account has no configuration yet." : $"No configuration version {version}.");
            context.Response.Headers["X-Config-Version"] = saved.Version.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Results.Text(saved.Text, saved.Format == "json" ? "application/json" : "application/yaml");
        });

        v1.MapGet("/config/versions", async (HttpContext context, IAccountStore store, AccountDirectory accounts) =>
        {
            var (key, error) = AdminAuth.Master(context);
            if (error is not null) return error;
            var current = accounts.Config(key!.AccountId)?.Version;
            var versions = await store.ListConfigVersionsAsync(key.AccountId);
            return Results.Json(versions.Select(v => new { version = v.Version, format = v.Format, created_at = v.CreatedAt, current = v.Version == current }));
        });
        return app;
    }
}
