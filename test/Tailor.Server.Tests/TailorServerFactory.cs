using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Tailor.Server.Tests;

/// <summary>
/// The whole server in-process on a temporary data directory (or a given one, for restart tests).
/// TestServer has no client address, so a test-only startup filter sets it: 127.0.0.1, or the
/// <c>X-Test-Client-IP</c> header's value.
/// </summary>
public sealed class TailorServerFactory(
    string? dataDirectory = null, IReadOnlyDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    : WebApplicationFactory<Program>
{
    public string DataDirectory { get; } = dataDirectory ?? TestDirectories.New("tailor-test-");

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Tailor:DataDirectory", DataDirectory);
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) builder.UseSetting(key, value);
        builder.ConfigureServices(collection =>
        {
            collection.AddTransient<IStartupFilter, ClientAddressFilter>();
            collection.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider, ServerErrorLog>();
            services?.Invoke(collection);
        });
    }

    private sealed class ClientAddressFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                var header = context.Request.Headers["X-Test-Client-IP"].ToString();
                context.Connection.RemoteIpAddress = header.Length > 0 ? IPAddress.Parse(header) : IPAddress.Loopback;
                return nextMiddleware(context);
            });
            next(app);
        };
    }

    public string AdminKey => File.ReadAllText(Path.Combine(DataDirectory, "admin.key")).Trim();

    /// <summary>Creates an account with the demo configuration, its keys and tokens, through the admin API.</summary>
    public Task<TestAccount> CreateAccountAsync(string? configYaml = null) => TestAccount.CreateAsync(CreateClient(), AdminKey, configYaml);

    public static async Task<JsonElement> Json(HttpResponseMessage response, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var text = await response.Content.ReadAsStringAsync();
        // An unexpected server error says what the server logged (the test host shows no server console).
        var logged = (int)response.StatusCode >= 500 && response.StatusCode != expected ? $"\nserver errors logged last:\n{ServerErrorLog.Recent()}" : "";
        Assert.True(response.StatusCode == expected, $"expected {expected}, got {(int)response.StatusCode}: {text}{logged}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

}

/// <summary>An account on a test server, with helpers for its APIs.</summary>
public sealed class TestAccount(HttpClient client, long id, string masterKey)
{
    public const string MediaType = "application/vnd.treasuredata.v1+json";
    public const string Origin = "http://localhost:3000";

    public long Id { get; } = id;
    public string MasterKey { get; } = masterKey;
    public string WriteKey { get; set; } = "";
    public string LookupKey { get; set; } = "";
    public string Token { get; set; } = "";
    public string PublicToken { get; set; } = "";

    private readonly HttpClient _client = client;

    /// <summary>Creates an account with the demo configuration (or <paramref name="configYaml"/>), its keys and tokens.</summary>
    public static async Task<TestAccount> CreateAsync(HttpClient client, string adminKey, string? configYaml = null)
    {
        using var create = new HttpRequestMessage(HttpMethod.Post, "/v1/accounts") { Content = JsonContent.Create(new { name = "test" }) };
        create.Headers.Authorization = new("Bearer", adminKey);
        var created = await TailorServerFactory.Json(await client.SendAsync(create), HttpStatusCode.Created);
        var account = new TestAccount(client, created.GetProperty("account_id").GetInt64(), created.GetProperty("master_key").GetString()!);
        var yaml = configYaml ?? await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "samples", "demo.yaml"));
        var applied = await account.Send(HttpMethod.Put, "/v1/config", account.MasterKey, new StringContent(yaml, Encoding.UTF8, "application/yaml"));
        Assert.True(applied.StatusCode == HttpStatusCode.OK, await applied.Content.ReadAsStringAsync());
        account.WriteKey = (await account.CreateKeyAsync("write")).GetProperty("key").GetString()!;
        account.LookupKey = (await account.CreateKeyAsync("lookup")).GetProperty("key").GetString()!;
        if (configYaml is null)
        {
            account.Token = (await account.CreateTokenAsync("web", "site")).GetProperty("token").GetString()!;
            account.PublicToken = (await account.CreateTokenAsync("web_public", "browser")).GetProperty("token").GetString()!;
        }
        return account;
    }

    public async Task<HttpResponseMessage> Send(HttpMethod method, string path, string? key, HttpContent? content = null, Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        if (key is not null) request.Headers.TryAddWithoutValidation("Authorization", $"TD1 {key}");
        configure?.Invoke(request);
        return await _client.SendAsync(request);
    }

    public async Task<JsonElement> CreateKeyAsync(string kind, object? lookup = null) =>
        await TailorServerFactory.Json(await Send(HttpMethod.Post, "/v1/keys", MasterKey, JsonContent.Create(new { kind, label = "test", lookup })), HttpStatusCode.Created);

    /// <summary>Imports NDJSON rows into an audience through the admin API; returns the summary.</summary>
    public async Task<JsonElement> Import(string ndjson, string audience = "shoppers", string query = "") =>
        await TailorServerFactory.Json(await Send(HttpMethod.Post, $"/v1/audiences/{audience}/import{query}", MasterKey, new StringContent(ndjson, Encoding.UTF8, "application/x-ndjson")));

    /// <summary>A single lookup: <c>GET /v5/ei?api_key=...&amp;{query}</c>.</summary>
    public Task<HttpResponseMessage> Lookup(string query, string? key = null, string path = "/v5/ei") =>
        _client.GetAsync($"{path}?api_key={Uri.EscapeDataString(key ?? LookupKey)}&{query}");

    /// <summary>A bulk lookup of a JSON body.</summary>
    public Task<HttpResponseMessage> Bulk(string body, string? key = null, string path = "/v5/ei/bulk", string? contentType = "application/json", string query = "", CancellationToken cancellationToken = default) =>
        Bulk(new StringContent(body, Encoding.UTF8), key, path, contentType, query, cancellationToken);

    public Task<HttpResponseMessage> Bulk(HttpContent content, string? key = null, string path = "/v5/ei/bulk", string? contentType = "application/json", string query = "", CancellationToken cancellationToken = default)
    {
        content.Headers.ContentType = contentType is null ? null : System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        return _client.PostAsync($"{path}?api_key={Uri.EscapeDataString(key ?? LookupKey)}{query}", content, cancellationToken);
    }

    public async Task<JsonElement> CreateTokenAsync(string service, string name) =>
        await TailorServerFactory.Json(await Send(HttpMethod.Post, "/v1/tokens", MasterKey, JsonContent.Create(new { service, name })), HttpStatusCode.Created);

    /// <summary>POSTs an event like a website would (write key, private token), or to /public/ like a browser.</summary>
    public Task<HttpResponseMessage> PostEvent(string json, string table = "pageviews", bool isPublic = false, string database = "demo_db",
        string? key = null, string? token = null, string? contentType = MediaType, string? origin = Origin, Action<HttpRequestMessage>? configure = null)
    {
        var content = new StringContent(json, Encoding.UTF8);
        content.Headers.ContentType = contentType is null ? null : System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        return Send(HttpMethod.Post, $"{(isPublic ? "/public" : "")}/{database}/{table}", key ?? WriteKey, content, request =>
        {
            request.Headers.TryAddWithoutValidation("WP13n-Token", token ?? (isPublic ? PublicToken : Token));
            if (isPublic && origin is not null) request.Headers.TryAddWithoutValidation("Origin", origin);
            configure?.Invoke(request);
        });
    }

    public async Task<JsonElement> Offers(HttpResponseMessage response) =>
        (await TailorServerFactory.Json(response)).GetProperty("offers");

    public async Task<JsonElement> Profile(string key, string value) =>
        await TailorServerFactory.Json(await Send(HttpMethod.Get, $"/v1/audiences/shoppers/profiles?key={key}&value={Uri.EscapeDataString(value)}", MasterKey));

    /// <summary>Every logged event of the table, page after page.</summary>
    public async Task<List<JsonElement>> AllEvents(string table = "pageviews")
    {
        var all = new List<JsonElement>();
        long after = 0;
        while (true)
        {
            var page = await Events(table, after, limit: 10_000);
            if (page.GetArrayLength() == 0) return all;
            all.AddRange(page.EnumerateArray());
            after = page[page.GetArrayLength() - 1].GetProperty("seq").GetInt64();
        }
    }

    public async Task<JsonElement> Events(string table = "pageviews", long after = 0, int limit = 1000) =>
        (await TailorServerFactory.Json(await Send(HttpMethod.Get, $"/v1/databases/demo_db/tables/{table}/events?after={after}&limit={limit}", MasterKey))).GetProperty("events");
}
