using Tailor.Server.Import;

namespace Tailor.Server.Apis;

/// <summary>
/// Profile import over HTTP: <c>POST /v1/audiences/{audience}/import</c> (master key) with an NDJSON
/// body streamed row by row, and <c>?map=column:attribute</c> to rename columns. Answers the summary.
/// </summary>
public static class ImportApi
{
    public static IEndpointRouteBuilder MapImportApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/audiences/{audience}/import", async (HttpContext context, ProfileImporter importer, string audience) =>
        {
            var (master, error) = AdminAuth.Master(context);
            if (error is not null) return error;
            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in context.Request.Query["map"])
            {
                var parts = (entry ?? "").Split([':', '='], 2);
                if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
                    return ApiError.BadRequest($"`map` must be column:attribute, not `{entry}`.");
                map[parts[0]] = parts[1];
            }
            // A long import outlives the default body limit; rows are streamed, never buffered whole.
            if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = null;
            try
            {
                var summary = await importer.RunAsync(master!.AccountId, audience, context.Request.Body, map, context.RequestAborted);
                await AuditApi.RecordAsync(context, master.AccountId, master, "profiles.import",
                    $"audience `{audience}`: {summary.Rows} rows, {summary.Created} created, {summary.Updated} updated, {summary.Rejected} rejected");
                return Results.Json(new
                {
                    rows = summary.Rows,
                    created = summary.Created,
                    updated = summary.Updated,
                    rejected = summary.Rejected,
                    rejections = summary.Rejections.Select(r => new { line = r.Line, reason = r.Reason }),
                    ignored_columns = summary.IgnoredColumns,
                    elapsed_ms = Math.Round(summary.ElapsedMs, 1),
                });
            }
            catch (UnknownAudienceException ex)
            {
                return ApiError.NotFound(ex.Message);
            }
        });
        return app;
    }
}
