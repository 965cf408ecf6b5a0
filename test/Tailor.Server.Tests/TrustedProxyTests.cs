using System.Net;

namespace Tailor.Server.Tests;

/// <summary><c>X-Forwarded-For</c> counts only from configured trusted proxies; IP allow-lists check the address it names.</summary>
public sealed class TrustedProxyTests : IAsyncLifetime
{
    // The demo's private token allows 10.0.0.0/8 and 127.0.0.1/32.
    private readonly TailorServerFactory _server = new(settings: new Dictionary<string, string?>
    {
        ["Tailor:TrustedProxies:0"] = "192.168.1.1",
        ["Tailor:TrustedProxies:1"] = "172.16.0.0/12",
    });

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static Action<HttpRequestMessage> From(string connection, string? forwardedFor) => request =>
    {
        request.Headers.TryAddWithoutValidation("X-Test-Client-IP", connection);
        if (forwardedFor is not null) request.Headers.TryAddWithoutValidation("X-Forwarded-For", forwardedFor);
    };

    private static async Task<int?> Code(HttpResponseMessage response) =>
        response.StatusCode == HttpStatusCode.OK ? null : System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("code").GetInt32();

    [Theory]
    [InlineData("192.168.1.1", "10.1.2.3", null)]              // a trusted proxy forwards for an allowed client
    [InlineData("172.20.0.9", "10.1.2.3", null)]               // a proxy in a trusted network
    [InlineData("192.168.1.1", "8.8.8.8", 3005)]               // ... for a client the token does not allow
    [InlineData("192.168.1.2", "10.1.2.3", 3005)]              // an untrusted sender's header is ignored
    [InlineData("8.8.8.8", "127.0.0.1", 3005)]                 // (spoofing loopback from outside)
    [InlineData("192.168.1.1", "10.1.2.3, 172.20.0.9", null)]  // a chain of trusted proxies
    [InlineData("192.168.1.1", "8.8.8.8, 10.1.2.3", null)]     // the first untrusted hop from the right is the client; what it claims (8.8.8.8) is not believed
    [InlineData("10.9.9.9", null, null)]                       // no proxy at all
    public async Task The_allow_list_checks_the_address_a_trusted_proxy_forwards_for(string connection, string? forwardedFor, int? expectedCode)
    {
        var account = await _server.CreateAccountAsync();
        var response = await account.PostEvent("""{"td_client_id":"proxy-1","td_path":"/retail/x"}""", configure: From(connection, forwardedFor));
        Assert.Equal(expectedCode, await Code(response));
    }
}
