using Tailor.Server.Accounts;
using Tailor.Storage;

namespace Tailor.Server.Apis;

/// <summary>Accounts, API keys and service tokens: <c>/v1/accounts</c>, <c>/v1/keys</c>, <c>/v1/tokens</c>.</summary>
public static class AccountsApi
{
    public sealed record CreateAccount(string? Name);
    public sealed record CreateKey(string? Kind, string? Label, GrantBody? Lookup);

    /// <summary>A key's lookup entitlements as the admin API takes them.</summary>
    public sealed record GrantBody(List<string>? Fields, long? Quota, string? Period, [property: System.Text.Json.Serialization.JsonPropertyName("bulk_limit")] int? BulkLimit);

    public const int MaxBulkLimit = 100_000;

    private static (LookupGrant? Grant, ApiError? Error) Grant(GrantBody? body)
    {
        if (body is null) return (null, null);
        var period = QuotaPeriod.Month;
        if (body.Period is not null && !Enum.TryParse(body.Period, ignoreCase: true, out period) || !Enum.IsDefined(period) || body.Period?.Any(char.IsDigit) == true)
            return (null, ApiError.BadRequest("`lookup.period` must be day or month."));
        if (body.Quota is < 0) return (null, ApiError.BadRequest("`lookup.quota` must be 0 or more records."));
        if (body.BulkLimit is < 1 or > MaxBulkLimit) return (null, ApiError.BadRequest($"`lookup.bulk_limit` must be 1 to {MaxBulkLimit}."));
        if (body.Fields?.Any(string.IsNullOrWhiteSpace) == true) return (null, ApiError.BadRequest("`lookup.fields` must be field names."));
        return (new LookupGrant(body.Fields, body.Quota, period, body.BulkLimit ?? LookupGrant.DefaultBulkLimit), null);
    }

    private static object? GrantJson(LookupGrant? grant) => grant is null ? null : new
    {
        fields = grant.Fields,
        quota = grant.Quota,
        period = grant.Period.ToString().ToLowerInvariant(),
        bulk_limit = grant.BulkLimit,
    };
    public sealed record CreateToken(string? Service, string? Name);

    public static IEndpointRouteBuilder MapAccountsApi(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1");

        v1.MapPost("/accounts", async (HttpContext context, AccountDirectory accounts, CreateAccount? body) =>
        {
            if (AdminAuth.ServerAdmin(context) is { } error) return error;
            var name = string.IsNullOrWhiteSpace(body?.Name) ? "account" : body.Name.Trim();
            var (account, masterKey) = await accounts.CreateAccountAsync(name);
            await AuditApi.RecordAsync(context, account.Id, null, "account.create", $"account `{account.Name}` with its first master key");
            return Results.Json(new { account_id = account.Id, name = account.Name, master_key = masterKey }, statusCode: 201);
        });

        v1.MapGet("/accounts", async (HttpContext context, AccountDirectory accounts) =>
        {
            if (AdminAuth.ServerAdmin(context) is { } error) return error;
            var list = await accounts.ListAccountsAsync();
            return Results.Json(list.Select(a => new { account_id = a.Id, name = a.Name, created_at = a.CreatedAt }));
        });

        v1.MapPost("/keys", async (HttpContext context, AccountDirectory accounts, CreateKey? body) =>
        {
            var (key, error) = AdminAuth.Master(context);
            if (error is not null) return error;
            if (!Enum.TryParse<KeyKind>(body?.Kind, ignoreCase: true, out var kind) || !Enum.IsDefined(kind) || body!.Kind!.Any(char.IsDigit))
                return ApiError.BadRequest("`kind` must be one of master, write, lookup.");
            var (grant, grantError) = Grant(body.Lookup);
            if (grantError is not null) return grantError;
            if (grant is not null && kind == KeyKind.Write) return ApiError.BadRequest("A write key cannot look up; `lookup` is for lookup and master keys.");
            var (record, secret) = await accounts.CreateKeyAsync(key!.AccountId, kind, body.Label ?? "", grant);
            await AuditApi.RecordAsync(context, key.AccountId, key, "key.create", $"{Kind(record.Kind)} key {record.Id} `{record.Label}`{(grant is null ? "" : " lookup " + Storage.GrantJson.Write(grant))}");
            return Results.Json(new { id = record.Id, kind = Kind(record.Kind), label = record.Label, key = secret, lookup = GrantJson(record.Grant) }, statusCode: 201);
        });

        v1.MapGet("/keys", async (HttpContext context, AccountDirectory accounts) =>
        {
            var (key, error) = AdminAuth.Master(context);
            if (error is not null) return error;
            var list = await accounts.ListKeysAsync(key!.AccountId);
            return Results.Json(list.Select(k => new { id = k.Id, kind = Kind(k.Kind), label = k.Label, created_at = k.CreatedAt, revoked_at = k.RevokedAt, lookup = GrantJson(k.Grant) }));
        });

        v1.MapPut("/keys/{id:long}/lookup", async (HttpContext context, AccountDirectory accounts, long id, GrantBody? body) =>
        {
            var (key, error) = AdminAuth.Master(context);
            if (error is not null) return error;
            var (grant, grantError) = Grant(body);
            if (grantError is not null) return grantError;
            if (accounts.ActiveKeys(key!.AccountId).FirstOrDefault(k => k.Id == id) is not { } target) return ApiError.NotFound($"No active key {id} in this account.");
            if (target.Kind == KeyKind.Write) return ApiError.BadRequest("A write key cannot look up; `lookup` is for lookup and master keys.");
            await accounts.SetKeyGrantAsync(key.AccountId, id, grant);
            await AuditApi.RecordAsync(context, key.AccountId, key, "key.grant", $"key {id} lookup {Storage.GrantJson.Write(grant) ?? "(defaults)"}");
            return Results.Json(new { id, lookup = GrantJson(grant) });
        });

        v1.MapDelete("/keys/{id:long}", async (HttpContext context, AccountDirectory accounts, long id) =>
        {
            var (key, error) = AdminAuth.Master(context);
            if (error is not null) return error;
            if (!await accounts.RevokeKeyAsync(key!.AccountId, id)) return ApiError.NotFound($"No active key {id} in this account.");
            await AuditApi.RecordAsync(context, key.AccountId, key, "key.revoke", $"key {id}");
            return Results.NoContent();
        });

        v1.MapPost("/tokens", async (HttpContext context, AccountDirectory accounts, CreateToken? body) =>
        {
            var (key, error) = AdminAuth.Master(context);
            if (error is not null) return error;
            var config = accounts.Config(key!.AccountId);
            if (string.IsNullOrEmpty(body?.Service) || string.IsNullOrEmpty(body.Name))
                return ApiError.BadRequest("`service` and `name` are required: the token named `name` of service `service` in the configuration.");
            if (config is null || !config.Compiled.Services.TryGetValue(body.Service, out var service))
                return ApiError.BadRequest($"The current configuration has no service `{body.Service}`.");
            if (service.Tokens.All(t => t.Name != body.Name))
                return ApiError.BadRequest($"Service `{body.Service}` has no token named `{body.Name}` in the current configuration.");
            TokenRecord record;
            string token;
            try
            {
                (record, token) = await accounts.CreateTokenAsync(key.AccountId, body.Service, body.Name);
            }
            catch (InvalidOperationException ex)
            {
                return ApiError.BadRequest(ex.Message);
            }
            await AuditApi.RecordAsync(context, key.AccountId, key, "token.create", $"token {record.InstanceId} for {record.Service}/{record.Name}");
            return Results.Json(new { instance_id = record.InstanceId, service = record.Service, name = record.Name, token }, statusCode: 201);
        });

        v1.MapGet("/tokens", async (HttpContext context, AccountDirectory accounts) =>
        {
            var (key, error) = AdminAuth.Master(context);
            if (error is not null) return error;
            var list = await accounts.ListTokensAsync(key!.AccountId);
            return Results.Json(list.Select(t => new { instance_id = t.InstanceId, service = t.Service, name = t.Name, created_at = t.CreatedAt, revoked_at = t.RevokedAt }));
        });

        v1.MapDelete("/tokens/{id:long}", async (HttpContext context, AccountDirectory accounts, long id) =>
        {
            var (key, error) = AdminAuth.Master(context);
            if (error is not null) return error;
            if (!await accounts.RevokeTokenAsync(key!.AccountId, id)) return ApiError.NotFound($"No active token {id} in this account.");
            await AuditApi.RecordAsync(context, key.AccountId, key, "token.revoke", $"token {id}");
            return Results.NoContent();
        });
        return app;
    }

    private static string Kind(KeyKind kind) => kind.ToString().ToLowerInvariant();
}
