using System.Net;
using System.Net.Http.Json;
using System.Text;

namespace Tailor.Server.Tests;

/// <summary>Accounts, keys, tokens, configuration versions and the events API.</summary>
public sealed class AdminApiTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private Task<TestAccount> Account() => fixture.Server.CreateAccountAsync();

    [Fact]
    public async Task Accounts_need_the_server_administrators_key()
    {
        var client = fixture.Server.CreateClient();
        var anonymous = await client.PostAsJsonAsync("/v1/accounts", new { name = "x" });
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        using var wrong = new HttpRequestMessage(HttpMethod.Post, "/v1/accounts") { Content = JsonContent.Create(new { name = "x" }) };
        wrong.Headers.Authorization = new("Bearer", "admin/0000");
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(wrong)).StatusCode);
    }

    [Fact]
    public async Task An_invalid_configuration_is_refused_with_every_error_and_changes_nothing()
    {
        var account = await Account();
        var bad = "databases: [demo_db]\naudiences:\n  - name: a\n    stitching_keys: [k]\n    event_tables: [demo_db.tab1]\n    atributes: []\nservices:\n  - { name: s, audience: b }\n";
        var response = await account.Send(HttpMethod.Put, "/v1/config?file=shop.yaml", account.MasterKey, new StringContent(bad, Encoding.UTF8, "application/yaml"));
        var body = await TailorServerFactory.Json(response, HttpStatusCode.BadRequest);
        Assert.Equal(4000, body.GetProperty("code").GetInt32());
        var errors = body.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("text").GetString()).ToList();
        Assert.Equal(2, errors.Count);
        Assert.StartsWith("shop.yaml:6:5: unknown key `atributes` in an audience (did you mean `attributes`?)", errors[0], StringComparison.Ordinal);
        Assert.StartsWith("shop.yaml:8:26: unknown audience `b` (did you mean `a`?)", errors[1], StringComparison.Ordinal);
        // The running configuration is still the first one.
        var current = await account.Send(HttpMethod.Get, "/v1/config", account.MasterKey);
        Assert.Equal("1", current.Headers.GetValues("X-Config-Version").Single());
        Assert.Equal(HttpStatusCode.OK, (await account.PostEvent("""{"td_client_id":"still-works","td_path":"/retail"}""")).StatusCode);
    }

    [Fact]
    public async Task Each_applied_configuration_is_a_new_version_and_old_ones_are_kept()
    {
        var account = await Account();
        var yaml = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "samples", "demo.yaml"));
        var changed = yaml.Replace("value: \"Welcome back!\" } ]\n              batch_segments", "value: \"Hello again!\" } ]\n              batch_segments", StringComparison.Ordinal);
        Assert.NotEqual(yaml, changed);
        var applied = await TailorServerFactory.Json(await account.Send(HttpMethod.Put, "/v1/config", account.MasterKey, new StringContent(changed, Encoding.UTF8, "application/yaml")));
        Assert.Equal(2, applied.GetProperty("version").GetInt32());
        var versions = await TailorServerFactory.Json(await account.Send(HttpMethod.Get, "/v1/config/versions", account.MasterKey));
        Assert.Equal([1, 2], versions.EnumerateArray().Select(v => v.GetProperty("version").GetInt32()));
        Assert.True(versions[1].GetProperty("current").GetBoolean());
        Assert.Equal(yaml, await (await account.Send(HttpMethod.Get, "/v1/config?version=1", account.MasterKey)).Content.ReadAsStringAsync());
        // The new text is in force at once.
        for (var i = 0; i < 2; i++) await account.PostEvent("""{"td_client_id":"v2","td_path":"/retail","product_category":"women"}""");
        var offers = await account.Offers(await account.PostEvent("""{"td_client_id":"v2","td_path":"/retail","product_category":"women"}"""));
        Assert.Equal("Hello again!", offers.GetProperty("offer_for_high_loyalty").GetProperty("attributes").GetProperty("welcome_message").GetString());
    }

    [Fact]
    public async Task Keys_are_shown_once_listed_without_secrets_and_revoked()
    {
        var account = await Account();
        var created = await account.CreateKeyAsync("write");
        var key = created.GetProperty("key").GetString()!;
        Assert.Matches($"^{account.Id}/[0-9a-f]{{40}}$", key);
        var listed = await TailorServerFactory.Json(await account.Send(HttpMethod.Get, "/v1/keys", account.MasterKey));
        Assert.DoesNotContain(key, listed.GetRawText(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await account.PostEvent("""{"td_client_id":"k"}""", key: key)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await account.Send(HttpMethod.Delete, $"/v1/keys/{created.GetProperty("id").GetInt64()}", account.MasterKey)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await account.PostEvent("""{"td_client_id":"k"}""", key: key)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await account.Send(HttpMethod.Post, "/v1/keys", account.MasterKey, JsonContent.Create(new { kind = "root" }))).StatusCode);
    }

    [Fact]
    public async Task Tokens_must_name_a_service_token_of_the_configuration()
    {
        var account = await Account();
        var unknown = await account.Send(HttpMethod.Post, "/v1/tokens", account.MasterKey, JsonContent.Create(new { service = "web", name = "nope" }));
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        var token = (await account.CreateTokenAsync("web", "site")).GetProperty("token").GetString()!;
        Assert.Matches($"^{account.Id}/[0-9]+/[0-9a-f]{{32}}$", token);
    }

    [Fact]
    public async Task A_service_has_at_most_50_active_tokens()
    {
        var account = await Account(); // already holds one web/site token
        for (var i = 0; i < 49; i++) await account.CreateTokenAsync("web", "site");
        var refused = await account.Send(HttpMethod.Post, "/v1/tokens", account.MasterKey, JsonContent.Create(new { service = "web", name = "site" }));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("at most 50", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var first = (await TailorServerFactory.Json(await account.Send(HttpMethod.Get, "/v1/tokens", account.MasterKey)))[0].GetProperty("instance_id").GetInt64();
        Assert.Equal(HttpStatusCode.NoContent, (await account.Send(HttpMethod.Delete, $"/v1/tokens/{first}", account.MasterKey)).StatusCode);
        await account.CreateTokenAsync("web", "site");
    }

    [Fact]
    public async Task The_admin_api_needs_a_master_key()
    {
        var account = await Account();
        foreach (var key in new[] { account.WriteKey, account.LookupKey })
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await account.Send(HttpMethod.Get, "/v1/databases/demo_db/tables/pageviews/events", key)).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await account.Send(HttpMethod.Get, "/v1/config", key)).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await account.Send(HttpMethod.Post, "/v1/keys", key, JsonContent.Create(new { kind = "master" }))).StatusCode);
        }
        Assert.Equal(HttpStatusCode.Unauthorized, (await account.Send(HttpMethod.Get, "/v1/config", null)).StatusCode);
    }

    [Fact]
    public async Task Events_are_read_in_pages_after_a_sequence_number()
    {
        var account = await Account();
        for (var i = 0; i < 5; i++) await account.PostEvent($$"""{"td_client_id":"pager","n":{{i}}}""");
        var seen = new List<int>();
        long after = 0;
        while (true)
        {
            var page = await TailorServerFactory.Json(await account.Send(HttpMethod.Get, $"/v1/databases/demo_db/tables/pageviews/events?after={after}&limit=2", account.MasterKey));
            var events = page.GetProperty("events").EnumerateArray().ToList();
            if (events.Count == 0) break;
            seen.AddRange(events.Select(e => e.GetProperty("event").GetProperty("n").GetInt32()));
            after = page.GetProperty("next_after").GetInt64();
        }
        Assert.Equal([0, 1, 2, 3, 4], seen);
        Assert.Equal(HttpStatusCode.BadRequest, (await account.Send(HttpMethod.Get, "/v1/databases/demo_db/tables/pageviews/events?limit=0", account.MasterKey)).StatusCode);
    }

    [Theory]
    [InlineData("/v1/keys", "{\"kind\":")]
    [InlineData("/v1/keys", "[1,2]")]
    [InlineData("/v1/tokens", "not json")]
    [InlineData("/v1/keys", "{\"kind\":42}")]
    public async Task Malformed_admin_bodies_get_a_4xx(string path, string body)
    {
        var account = await Account();
        var response = await account.Send(HttpMethod.Post, path, account.MasterKey, new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.InRange((int)response.StatusCode, 400, 499);
    }

    [Fact]
    public async Task The_openapi_document_lists_every_api_path()
    {
        var document = await TailorServerFactory.Json(await fixture.Server.CreateClient().GetAsync("/openapi/v1.json"));
        var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToHashSet();
        foreach (var path in new[] { "/{database}/{table}", "/public/{database}/{table}", "/v1/accounts", "/v1/keys", "/v1/keys/{id}", "/v1/tokens", "/v1/tokens/{id}",
                     "/v1/config", "/v1/config/versions", "/v1/databases/{database}/tables/{table}/events", "/v1/audiences/{audience}/profiles",
                     "/v1/audiences/{audience}/profiles/export", "/v1/audiences/{audience}/import", "/v5/td", "/v5/ei", "/v4/dr", "/v5/ei/bulk", "/v4/bulk",
                     "/v1/usage", "/v1/lookup/status", "/v1/audit", "/v1/keys/{id}/lookup", "/v1/runtime" })
            Assert.Contains(path, paths);
        var post = document.GetProperty("paths").GetProperty("/{database}/{table}").GetProperty("post");
        Assert.True(post.GetProperty("requestBody").GetProperty("content").TryGetProperty("application/vnd.treasuredata.v1+json", out _));
        Assert.True(post.GetProperty("responses").TryGetProperty("429", out _));
        // Any endpoint that reaches the store may answer 503 (a full disk, a call timed out).
        foreach (var (path, method) in new[] { ("/v1/config", "put"), ("/v5/ei/bulk", "post"), ("/v1/audiences/{audience}/import", "post") })
            Assert.True(document.GetProperty("paths").GetProperty(path).GetProperty(method).GetProperty("responses").TryGetProperty("503", out _), $"{method} {path}");
    }

    [Fact]
    public async Task The_runtime_counters_are_for_the_server_administrator_and_count_the_work_done()
    {
        var client = fixture.Server.CreateClient();
        var account = await Account();
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await account.Send(HttpMethod.Get, "/v1/runtime", account.MasterKey)).StatusCode);
        async Task<System.Text.Json.JsonElement> Read()
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/runtime");
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", fixture.Server.AdminKey);
            return await TailorServerFactory.Json(await client.SendAsync(request));
        }
        var before = await Read();
        for (var i = 0; i < 20; i++) await account.PostEvent($$"""{"td_client_id":"runtime-{{i}}","td_path":"/retail/x"}""");
        var after = await Read();
        Assert.True(after.GetProperty("allocated_bytes").GetInt64() > before.GetProperty("allocated_bytes").GetInt64());
        Assert.True(after.GetProperty("thread_pool_completed").GetInt64() > before.GetProperty("thread_pool_completed").GetInt64());
        Assert.Equal(3, after.GetProperty("gc_count").GetArrayLength());
    }

    [Fact]
    public async Task One_account_can_neither_see_nor_change_another_accounts_keys_tokens_profiles_or_lookups()
    {
        var a = await Account();
        var b = await Account();
        await a.Import("""{"email":"only-a@example.com","age":"25-34"}""" + "\n");
        await a.PostEvent("""{"td_client_id":"only-a","email":"only-a@example.com","td_path":"/retail/x"}""");
        var aKeys = (await TailorServerFactory.Json(await a.Send(HttpMethod.Get, "/v1/keys", a.MasterKey))).EnumerateArray().Select(k => k.GetProperty("id").GetInt64()).ToList();
        var aTokens = (await TailorServerFactory.Json(await a.Send(HttpMethod.Get, "/v1/tokens", a.MasterKey))).EnumerateArray().Select(t => t.GetProperty("instance_id").GetInt64()).ToList();

        var bKeys = (await TailorServerFactory.Json(await b.Send(HttpMethod.Get, "/v1/keys", b.MasterKey))).EnumerateArray().Select(k => k.GetProperty("id").GetInt64());
        Assert.Empty(bKeys.Intersect(aKeys));
        foreach (var id in aKeys)
        {
            Assert.Equal(HttpStatusCode.NotFound, (await b.Send(HttpMethod.Delete, $"/v1/keys/{id}", b.MasterKey)).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await b.Send(HttpMethod.Put, $"/v1/keys/{id}/lookup", b.MasterKey, System.Net.Http.Json.JsonContent.Create(new { quota = 0 }))).StatusCode);
        }
        foreach (var id in aTokens) Assert.Equal(HttpStatusCode.NotFound, (await b.Send(HttpMethod.Delete, $"/v1/tokens/{id}", b.MasterKey)).StatusCode);
        foreach (var path in new[] { "/v1/audiences/shoppers/profiles?email=only-a@example.com", "/v1/audiences/shoppers/profiles/export?email=only-a@example.com" })
            Assert.Equal(HttpStatusCode.NotFound, (await b.Send(HttpMethod.Get, path, b.MasterKey)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await b.Send(HttpMethod.Delete, "/v1/audiences/shoppers/profiles?email=only-a@example.com", b.MasterKey)).StatusCode);
        Assert.Equal(0, (await TailorServerFactory.Json(await b.Send(HttpMethod.Get, "/v1/lookup/status", b.MasterKey))).GetProperty("profiles").GetInt32());
        Assert.Equal("{}", await (await b.Lookup("email=only-a@example.com")).Content.ReadAsStringAsync());
        var usage = await TailorServerFactory.Json(await b.Send(HttpMethod.Get, "/v1/usage", b.MasterKey));
        Assert.Empty(usage.EnumerateArray().Select(k => k.GetProperty("key_id").GetInt64()).Intersect(aKeys));
        // A's keys all still work after B's attempts.
        Assert.Equal("""{"age":"25-34"}""", await (await a.Lookup("email=only-a@example.com")).Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await a.PostEvent("""{"td_client_id":"only-a","td_path":"/retail/y"}""")).StatusCode);
        Assert.Equal(2, (await a.Profile("td_client_id", "only-a")).GetProperty("events").GetInt32());
    }

    [Fact]
    public async Task One_account_cannot_read_another_accounts_events_or_use_its_token()
    {
        var a = await Account();
        var b = await Account();
        await a.PostEvent("""{"td_client_id":"secret-of-a"}""");
        Assert.Empty((await b.Events()).EnumerateArray());
        var crossed = await b.PostEvent("""{"td_client_id":"x"}""", token: a.Token);
        Assert.Equal(HttpStatusCode.BadRequest, crossed.StatusCode);
        Assert.Contains("3002", await crossed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_administrative_change_is_in_the_accounts_audit_log_with_who_made_it()
    {
        var account = await Account();   // account.create, config.apply, key.create ×2, token.create ×2
        var other = await Account();
        var write = await account.CreateKeyAsync("write");
        await account.Send(HttpMethod.Delete, $"/v1/keys/{write.GetProperty("id")}", account.MasterKey);
        await account.Send(HttpMethod.Put, $"/v1/keys/{write.GetProperty("id")}/lookup", account.MasterKey, System.Net.Http.Json.JsonContent.Create(new { quota = 5 }));
        await account.Import("""{"email":"audit@example.com","age":"25-34"}""" + "\n");
        var log = await TailorServerFactory.Json(await account.Send(HttpMethod.Get, "/v1/audit", account.MasterKey));
        var entries = log.GetProperty("entries").EnumerateArray().Select(e => (Actor: e.GetProperty("actor").GetString()!, Action: e.GetProperty("action").GetString()!, Detail: e.GetProperty("detail").GetString()!)).ToList();
        Assert.Equal(["account.create", "config.apply", "key.create", "key.create", "token.create", "token.create", "key.create", "key.revoke", "profiles.import"], entries.Select(e => e.Action));
        Assert.Equal("server administrator", entries[0].Actor);
        Assert.All(entries.Skip(1), e => Assert.Matches(@"^master key \d+$", e.Actor));
        Assert.Contains("1 created", entries[^1].Detail, StringComparison.Ordinal);
        // Another account's log holds only its own changes; the log needs a master key.
        var theirs = await TailorServerFactory.Json(await other.Send(HttpMethod.Get, "/v1/audit", other.MasterKey));
        Assert.DoesNotContain(theirs.GetProperty("entries").EnumerateArray(), e => e.GetProperty("action").GetString() is "key.revoke" or "profiles.import");
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, (await account.Send(HttpMethod.Get, "/v1/audit", account.WriteKey)).StatusCode);
    }
}
