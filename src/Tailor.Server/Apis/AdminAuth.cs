using Tailor.Server.Accounts;
using Tailor.Storage;

namespace Tailor.Server.Apis;

/// <summary>Who may call the admin API: the server administrator (accounts) or an account's master key.</summary>
internal static class AdminAuth
{
    /// <summary>The caller's master key, or the error to answer (401 unknown key, 403 not a master key).</summary>
    public static (KeyEntry? Key, ApiError? Error) Master(HttpContext context)
    {
        var accounts = context.RequestServices.GetRequiredService<AccountDirectory>();
        var (key, error) = PersonalizationApi.Authenticate(context.Request, accounts);
        if (error is not null) return (null, error);
        return key!.Kind == KeyKind.Master ? (key, null) : (null, ApiError.Forbidden($"This is a {key.Kind.ToString().ToLowerInvariant()} key; the admin API needs a master key."));
    }

    /// <summary>Null when the request carries the server administrator's key (<c>Authorization: Bearer admin/...</c>).</summary>
    public static ApiError? ServerAdmin(HttpContext context, string action = "Creating and listing accounts")
    {
        var header = context.Request.Headers.Authorization.ToString();
        var accounts = context.RequestServices.GetRequiredService<AccountDirectory>();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && accounts.Secrets.IsAdminKey(header[7..].Trim())
            ? null
            : ApiError.Unauthorized($"{action} needs the server administrator's key (Authorization: Bearer <admin.key>).");
    }
}
