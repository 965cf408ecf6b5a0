using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Tailor.Server.Accounts;

namespace Tailor.Server.Apis;

/// <summary>
/// The API key and token last verified on an HTTP/1.1 connection. A server's client sends the same
/// two headers on every call of its keep-alive connection, and verifying them (an HMAC-SHA256 of each
/// under the server's secret) took ~1% of the server's CPU under load. A call whose header is the one
/// verified before on its connection, with no key or token revoked or changed anywhere since
/// (<see cref="AccountDirectory.CredentialsVersion"/>), takes that verification's result; any other
/// is verified again. Only HTTP/1.1: its calls on one connection come one after the other, where
/// HTTP/2's streams share their connection's items at the same time. Kestrel itself keeps the previous
/// request's header strings per connection (to reuse them), so nothing is held that it did not hold.
/// </summary>
internal static class VerifiedOnConnection
{
    private static readonly object ItemKey = new();

    /// <summary>What one connection verified: the header, its result, and the directory's credentials version then.</summary>
    private sealed record Verified<T>(string Header, T Entry, int Version) where T : class;

    /// <summary>The holder of the connection's verified key and token, or null when the call cannot use one.</summary>
    public static Holder? Of(HttpContext context)
    {
        if (!HttpProtocol.IsHttp11(context.Request.Protocol)) return null;
        var items = context.Features.Get<IConnectionItemsFeature>()?.Items;
        if (items is null) return null;
        if (items.TryGetValue(ItemKey, out var kept) && kept is Holder holder) return holder;
        holder = new Holder();
        items[ItemKey] = holder;
        return holder;
    }

    public sealed class Holder
    {
        private Verified<KeyEntry>? _key;
        private Verified<TokenEntry>? _token;

        /// <summary>The key verified for this very Authorization header, if nothing changed since.</summary>
        public KeyEntry? Key(string header, int version) => Match(_key, header, version);

        public void KeepKey(string header, KeyEntry key, int version) => _key = new(header, key, version);

        /// <summary>The token verified for this very token header, if nothing changed since.</summary>
        public TokenEntry? Token(string header, int version) => Match(_token, header, version);

        public void KeepToken(string header, TokenEntry token, int version) => _token = new(header, token, version);

        private static T? Match<T>(Verified<T>? verified, string header, int version) where T : class =>
            verified is not null && verified.Version == version && string.Equals(verified.Header, header, StringComparison.Ordinal) ? verified.Entry : null;
    }
}
