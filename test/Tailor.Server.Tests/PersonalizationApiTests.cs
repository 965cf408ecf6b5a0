using Microsoft.Extensions.DependencyInjection;
using Tailor.Server.Grains;
using System.Net;
using System.Text;

namespace Tailor.Server.Tests;

/// <summary>The Personalization API over HTTP: the success flow and every documented error.</summary>
public sealed class PersonalizationApiTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private Task<TestAccount> Account(string? yaml = null) => fixture.Server.CreateAccountAsync(yaml);

    private static string Pageview(string clientId, string? email = null, string category = "women", string product = "boots", string? uuid = null) =>
        "{" + $"\"td_client_id\":\"{clientId}\",\"td_path\":\"/retail/x\",\"product_category\":\"{category}\",\"product_name\":\"{product}\""
            + (email is null ? "" : $",\"email\":\"{email}\"") + (uuid is null ? "" : $",\"uuid\":\"{uuid}\"") + "}";

    private static async Task AssertError(HttpResponseMessage response, HttpStatusCode status, int code, string? reason = null)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var json = System.Text.Json.JsonDocument.Parse(body).RootElement;
        Assert.Equal(code, json.GetProperty("code").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(json.GetProperty("message").GetString()));
        if (reason is not null) Assert.Equal(reason, response.ReasonPhrase);
    }

    [Fact]
    public async Task The_third_retail_pageview_turns_on_the_engaged_offer()
    {
        var account = await Account();
        Assert.Empty((await account.Offers(await account.PostEvent(Pageview("visitor-1")))).EnumerateObject());
        Assert.Empty((await account.Offers(await account.PostEvent(Pageview("visitor-1", product: "hat")))).EnumerateObject());
        var offers = await account.Offers(await account.PostEvent(Pageview("visitor-1")));
        Assert.Equal("""{"recent":["boots","hat"],"welcome_message":"Welcome back!"}""", offers.GetProperty("offer_for_high_loyalty").GetProperty("attributes").GetRawText());
        var profile = await account.Profile("td_client_id", "visitor-1");
        Assert.Equal(3, profile.GetProperty("attributes").GetProperty("views.7d").GetInt32());
        Assert.Equal(["engaged"], profile.GetProperty("segments").EnumerateArray().Select(s => s.GetString()));
    }

    [Fact]
    public async Task An_event_carrying_identifiers_of_two_profiles_merges_them()
    {
        var account = await Account();
        await account.PostEvent(Pageview("device-a", product: "boots"));
        await account.PostEvent(Pageview("device-a", product: "hat"));
        // A merge orders the two profiles' lists by time, the target's entry first on an equal millisecond:
        // the scarf is seen a millisecond later at least (two calls in a row took under one, now and then).
        await Task.Delay(2);
        await account.PostEvent("""{"email":"ann@example.com","td_path":"/retail/y","product_category":"men","product_name":"scarf"}""");
        var merged = await account.Offers(await account.PostEvent(Pageview("device-a", email: "ann@example.com", product: "gloves")));
        // Four pageviews across both profiles: engaged, so the offer shows the merged list.
        Assert.Equal("""["gloves","scarf","hat","boots"]""", merged.GetProperty("offer_for_high_loyalty").GetProperty("attributes").GetProperty("recent").GetRawText());
        var byDevice = await account.Profile("td_client_id", "device-a");
        var byEmail = await account.Profile("email", "ann@example.com");
        Assert.Equal(byDevice.GetProperty("id").GetString(), byEmail.GetProperty("id").GetString());
        Assert.Equal(4, byDevice.GetProperty("attributes").GetProperty("views.7d").GetInt32());
        Assert.Equal(4, byDevice.GetProperty("events").GetInt32());
    }

    [Fact]
    public async Task Concurrent_events_and_merges_of_one_customer_are_each_applied_once()
    {
        var account = await Account();
        const int devices = 40, perDevice = 3;
        async Task Post(string body) => Assert.Equal(HttpStatusCode.OK, (await account.PostEvent(body)).StatusCode);
        // Every device's events at once, then every device signing in with the same email at once (merging them all):
        // a call can then find its profile merged away several times over (with four hops followed, 3 runs in 5 answered 500).
        await Task.WhenAll(Enumerable.Range(0, devices * perDevice).Select(i => Post(Pageview($"together-{i % devices}"))));
        await Task.WhenAll(Enumerable.Range(0, devices).Select(d => Post(Pageview($"together-{d}", email: "together@example.com"))));

        var profile = await account.Profile("email", "together@example.com");
        Assert.Equal(devices * (perDevice + 1), profile.GetProperty("events").GetInt32());
        for (var d = 0; d < devices; d++)
            Assert.Equal(profile.GetProperty("id").GetString(), (await account.Profile("td_client_id", $"together-{d}")).GetProperty("id").GetString());
    }

    [Fact]
    public async Task Concurrent_calls_each_store_their_own_event_and_profile()
    {
        // Each call's parsed and stored event, snapshot and profile objects are pooled and reused by later calls:
        // many at once, of different lengths, must each land whole in their own event and profile.
        var account = await Account();
        const int calls = 150;
        string Product(int i) => $"p{i}-" + new string('x', i * 7 % 300);
        await Task.WhenAll(Enumerable.Range(0, calls).Select(async i =>
            Assert.Equal(HttpStatusCode.OK, (await account.PostEvent(Pageview($"own-{i}", product: Product(i), uuid: $"own-uuid-{i}"))).StatusCode)));

        var stored = (await account.AllEvents()).ToDictionary(e => e.GetProperty("uuid").GetString()!);
        for (var i = 0; i < calls; i++)
        {
            var @event = stored[$"own-uuid-{i}"].GetProperty("event");
            Assert.Equal($"own-{i}", @event.GetProperty("td_client_id").GetString());
            Assert.Equal(Product(i), @event.GetProperty("product_name").GetString());
            Assert.Equal($"own-uuid-{i}", @event.GetProperty("uuid").GetString());
        }
        for (var i = 0; i < calls; i += 7)
        {
            var profile = await account.Profile("td_client_id", $"own-{i}");
            Assert.Equal(1, profile.GetProperty("events").GetInt32());
            Assert.Equal($"[\"{Product(i)}\"]", profile.GetProperty("attributes").GetProperty("browsed").GetRawText());
        }
    }

    [Fact]
    public async Task A_merge_of_two_profiles_of_one_partition_completes()
    {
        var account = await Account();
        await account.PostEvent(Pageview("partition-source"));
        var source = Guid.Parse((await account.Profile("td_client_id", "partition-source")).GetProperty("id").GetString()!);
        // A new profile in the source's partition absorbs it: the partition grain calls itself while the merging call waits.
        var target = Enumerable.Range(0, 100_000).Select(_ => Guid.CreateVersion7()).First(g => GrainKeys.PartitionOf(g) == GrainKeys.PartitionOf(source));
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var call = new PersonalizeCall
        {
            AccountId = account.Id,
            Audience = "shoppers",
            Service = "web",
            Database = "demo_db",
            Table = "pageviews",
            EventTable = "demo_db.pageviews",
            Body = Encoding.UTF8.GetBytes($$"""{"td_client_id":"partition-target","td_path":"/retail/x","time":{{now}},"uuid":"partition-merge"}"""),
            Uuid = "partition-merge",
            Time = now,
            Identifiers = [new IdentifierDto("td_client_id", "partition-target")],
        };
        var stitch = new StitchReply { ProfileId = target, IsNew = true, MergeSources = [source] };
        var grains = fixture.Server.Services.GetRequiredService<IGrainFactory>();
        var reply = await grains.Profile(account.Id, "shoppers", target).Personalize(call, stitch).AsTask().WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Null(reply.MovedTo);
        Assert.Equal(target, (await grains.Profile(account.Id, "shoppers", source).Evaluate(call)).MovedTo);
        var merged = Tailor.Core.Profiles.ProfileSnapshot.Read((await grains.Profile(account.Id, "shoppers", target).Snapshot())!,
            fixture.Server.Services.GetRequiredService<Tailor.Server.Accounts.AccountDirectory>().Config(account.Id)!.Compiled.Audiences["shoppers"].Layout);
        Assert.Equal(2, merged.EventCount);
    }

    [Fact]
    public async Task A_profile_keeps_200_identifiers_and_an_evicted_one_finds_it_no_more()
    {
        var account = await Account();
        const string email = "many-devices@example.com";
        // The first call brings device-0 and the email; each next one a device: the 200th call makes
        // 201 identifiers, and the oldest (device-0) is evicted.
        for (var i = 0; i < 200; i++) await account.PostEvent(Pageview($"device-{i}", email: email));
        var profile = await account.Profile("email", email);
        Assert.Equal(200, profile.GetProperty("events").GetInt32());
        Assert.Equal(200, profile.GetProperty("identifiers").GetArrayLength());
        // Calls whose identifiers are all known count on the same profile.
        await account.PostEvent(Pageview("device-199", email: email));
        await account.PostEvent(Pageview("device-5"));
        Assert.Equal(202, (await account.Profile("email", email)).GetProperty("events").GetInt32());
        // Alone, the evicted device-0 is a new visitor.
        await account.PostEvent(Pageview("device-0"));
        var alone = await account.Profile("td_client_id", "device-0");
        Assert.NotEqual(profile.GetProperty("id").GetString(), alone.GetProperty("id").GetString());
        Assert.Equal(1, alone.GetProperty("events").GetInt32());
    }

    [Fact]
    public async Task The_public_endpoint_never_returns_sensitive_attributes_and_answers_with_cors_headers()
    {
        var account = await Account();
        var email = "eve@example.com";
        for (var i = 0; i < 3; i++) await account.PostEvent(Pageview("eve-device", email: email));
        var response = await account.PostEvent(Pageview("eve-device", email: email), isPublic: true);
        var offer = (await account.Offers(response)).GetProperty("offer_for_high_loyalty").GetProperty("attributes");
        Assert.False(offer.TryGetProperty("email", out _));
        Assert.Equal("Welcome back!", offer.GetProperty("welcome_message").GetString());
        Assert.Equal(TestAccount.Origin, response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal("true", response.Headers.GetValues("Access-Control-Allow-Credentials").Single());
        // The attribute is stored: only the public answer leaves it out.
        Assert.Equal(email, (await account.Profile("email", email)).GetProperty("attributes").GetProperty("email_addr").GetString());
    }

    [Fact]
    public async Task A_cors_preflight_echoes_an_allowed_origin_and_refuses_others()
    {
        var account = await Account();
        var allowed = await account.Send(HttpMethod.Options, "/public/demo_db/pageviews", null, configure: r =>
        {
            r.Headers.TryAddWithoutValidation("Origin", TestAccount.Origin);
            r.Headers.TryAddWithoutValidation("Access-Control-Request-Method", "POST");
            r.Headers.TryAddWithoutValidation("Access-Control-Request-Headers", "authorization, wp13n-token, content-type");
        });
        Assert.Equal(HttpStatusCode.NoContent, allowed.StatusCode);
        Assert.Equal(TestAccount.Origin, allowed.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal("true", allowed.Headers.GetValues("Access-Control-Allow-Credentials").Single());
        Assert.Contains("POST", allowed.Headers.GetValues("Access-Control-Allow-Methods").Single(), StringComparison.Ordinal);
        Assert.Contains("WP13n-Token", allowed.Headers.GetValues("Access-Control-Allow-Headers").Single(), StringComparison.Ordinal);

        var refused = await account.Send(HttpMethod.Options, "/public/demo_db/pageviews", null, configure: r => r.Headers.TryAddWithoutValidation("Origin", "https://evil.example"));
        await AssertError(refused, HttpStatusCode.BadRequest, 3007);
        Assert.False(refused.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task Time_and_uuid_are_filled_in_and_the_event_is_logged()
    {
        var account = await Account();
        await account.PostEvent(Pageview("logged-1"));
        await account.PostEvent("""{"td_client_id":"logged-1","td_path":"/retail","time":1700000000,"uuid":"client-uuid-1"}""");
        var events = (await account.Events()).EnumerateArray().ToList();
        Assert.Equal(2, events.Count);
        var first = events[0].GetProperty("event");
        Assert.True(first.GetProperty("time").GetInt64() > 1_700_000_000);
        Assert.True(Guid.TryParse(first.GetProperty("uuid").GetString(), out _));
        Assert.Equal(first.GetProperty("uuid").GetString(), events[0].GetProperty("uuid").GetString()); // the row's uuid is the event's
        Assert.Equal(1700000000, events[1].GetProperty("event").GetProperty("time").GetInt64());
        Assert.Equal("client-uuid-1", events[1].GetProperty("uuid").GetString());
        Assert.True(events[1].GetProperty("seq").GetInt64() > events[0].GetProperty("seq").GetInt64());
    }

    [Fact]
    public async Task A_repeated_client_uuid_is_not_applied_twice_but_still_gets_its_offers()
    {
        var account = await Account();
        await account.PostEvent(Pageview("idem-1"));
        await account.PostEvent(Pageview("idem-1"));
        var first = await account.Offers(await account.PostEvent(Pageview("idem-1", uuid: "retry-me")));
        var again = await account.Offers(await account.PostEvent(Pageview("idem-1", uuid: "retry-me")));
        Assert.True(first.TryGetProperty("offer_for_high_loyalty", out _));
        Assert.True(again.TryGetProperty("offer_for_high_loyalty", out _));
        Assert.Equal(3, (await account.Profile("td_client_id", "idem-1")).GetProperty("attributes").GetProperty("views.7d").GetInt32());
        Assert.Single((await account.Events()).EnumerateArray(), e => e.GetProperty("uuid").GetString() == "retry-me");
    }

    [Fact]
    public async Task Path_names_outside_the_allowed_characters_answer_3004()
    {
        var account = await Account();
        await AssertError(await account.PostEvent(Pageview("x"), database: "Demo_DB"), HttpStatusCode.BadRequest, 3004, "Invalid Event Object");
        await AssertError(await account.PostEvent(Pageview("x"), table: "pv"), HttpStatusCode.BadRequest, 3004);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("application/json")]
    [InlineData("text/plain")]
    public async Task A_wrong_content_type_answers_415(string? contentType)
    {
        var account = await Account();
        await AssertError(await account.PostEvent(Pageview("x"), contentType: contentType), HttpStatusCode.UnsupportedMediaType, 4015, "Unsupported Media Type");
    }

    [Fact]
    public async Task The_media_type_may_carry_parameters()
    {
        var account = await Account();
        Assert.Equal(HttpStatusCode.OK, (await account.PostEvent(Pageview("x"), contentType: "application/vnd.treasuredata.v1+json; charset=utf-8")).StatusCode);
    }

    [Fact]
    public async Task A_missing_or_unknown_key_answers_401_and_a_lookup_key_403()
    {
        var account = await Account();
        await AssertError(await account.Send(HttpMethod.Post, "/demo_db/pageviews", null, new StringContent("{}", Encoding.UTF8, TestAccount.MediaType)), HttpStatusCode.Unauthorized, 4001);
        await AssertError(await account.PostEvent(Pageview("x"), key: $"{account.Id}/0000000000000000000000000000000000000000"), HttpStatusCode.Unauthorized, 4001, "Invalid API Key");
        await AssertError(await account.PostEvent(Pageview("x"), key: "garbage"), HttpStatusCode.Unauthorized, 4001);
        // The account id must be written as the account's: a leading zero names no account.
        await AssertError(await account.PostEvent(Pageview("x"), key: "0" + account.WriteKey), HttpStatusCode.Unauthorized, 4001);
        await AssertError(await account.PostEvent(Pageview("x"), key: "/" + account.WriteKey.Split('/')[1]), HttpStatusCode.Unauthorized, 4001);
        await AssertError(await account.PostEvent(Pageview("x"), key: account.LookupKey), HttpStatusCode.Forbidden, 4003);
        Assert.Equal(HttpStatusCode.OK, (await account.PostEvent(Pageview("x"), key: account.MasterKey)).StatusCode);
    }

    [Fact]
    public async Task Token_errors_answer_3000_to_3003()
    {
        var account = await Account();
        var response = await account.Send(HttpMethod.Post, "/demo_db/pageviews", account.WriteKey, new StringContent(Pageview("x"), Encoding.UTF8, TestAccount.MediaType));
        await AssertError(response, HttpStatusCode.BadRequest, 3000, "RT Token Missing");
        await AssertError(await account.PostEvent(Pageview("x"), token: "1/abc/0123456789"), HttpStatusCode.BadRequest, 3003, "RT Token Invalid Format");
        await AssertError(await account.PostEvent(Pageview("x"), token: $"{account.Id}/1/short"), HttpStatusCode.BadRequest, 3003);
        await AssertError(await account.PostEvent(Pageview("x"), token: $"{account.Id}/1/has-dash-0123456"), HttpStatusCode.BadRequest, 3003);
        await AssertError(await account.PostEvent(Pageview("x"), token: account.Token + "/extra"), HttpStatusCode.BadRequest, 3003);
        await AssertError(await account.PostEvent(Pageview("x"), token: $"{account.Id}//0123456789abcdef"), HttpStatusCode.BadRequest, 3003);
        await AssertError(await account.PostEvent(Pageview("x"), token: $"{account.Id + 1000}/1/0123456789abcdef"), HttpStatusCode.BadRequest, 3002, "RT Token Account Conflict");
        var parts = account.Token.Split('/');
        await AssertError(await account.PostEvent(Pageview("x"), token: $"{parts[0]}/{parts[1]}/0123456789abcdef0123456789abcdef"), HttpStatusCode.BadRequest, 3001, "RT Token Not In Configuration");
        // The X-Token header name is accepted too.
        var viaXToken = await account.Send(HttpMethod.Post, "/demo_db/pageviews", account.WriteKey, new StringContent(Pageview("x"), Encoding.UTF8, TestAccount.MediaType),
            r => r.Headers.TryAddWithoutValidation("X-Token", account.Token));
        Assert.Equal(HttpStatusCode.OK, viaXToken.StatusCode);
    }

    [Fact]
    public async Task A_revoked_token_is_not_in_configuration()
    {
        var account = await Account();
        var instance = account.Token.Split('/')[1];
        Assert.Equal(HttpStatusCode.NoContent, (await account.Send(HttpMethod.Delete, $"/v1/tokens/{instance}", account.MasterKey)).StatusCode);
        await AssertError(await account.PostEvent(Pageview("x")), HttpStatusCode.BadRequest, 3001);
    }

    [Fact]
    public async Task A_client_outside_the_tokens_ip_allow_list_answers_3005()
    {
        var account = await Account();
        await AssertError(await account.PostEvent(Pageview("x"), configure: r => r.Headers.Add("X-Test-Client-IP", "192.168.1.20")), HttpStatusCode.BadRequest, 3005, "Origin Not In IP Whitelist");
        Assert.Equal(HttpStatusCode.OK, (await account.PostEvent(Pageview("x"), configure: r => r.Headers.Add("X-Test-Client-IP", "10.1.2.3"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await account.PostEvent(Pageview("x"), configure: r => r.Headers.Add("X-Test-Client-IP", "::ffff:10.1.2.3"))).StatusCode);
    }

    [Fact]
    public async Task A_token_on_the_wrong_path_answers_3006()
    {
        var account = await Account();
        await AssertError(await account.PostEvent(Pageview("x"), isPublic: true, token: account.Token), HttpStatusCode.BadRequest, 3006, "Invalid Token Type");
        await AssertError(await account.PostEvent(Pageview("x"), token: account.PublicToken), HttpStatusCode.BadRequest, 3006);
    }

    [Fact]
    public async Task A_public_call_without_an_allowed_origin_answers_3007()
    {
        var account = await Account();
        await AssertError(await account.PostEvent(Pageview("x"), isPublic: true, origin: null), HttpStatusCode.BadRequest, 3007, "Invalid Or Missing Origin");
        await AssertError(await account.PostEvent(Pageview("x"), isPublic: true, origin: "https://evil.example"), HttpStatusCode.BadRequest, 3007);
    }

    [Fact]
    public async Task An_unknown_database_or_table_answers_404_and_stores_nothing()
    {
        var account = await Account();
        await AssertError(await account.PostEvent(Pageview("x"), database: "other_db"), HttpStatusCode.NotFound, 4004);
        await AssertError(await account.PostEvent(Pageview("x"), table: "clicks"), HttpStatusCode.NotFound, 4004);
        Assert.Empty((await account.Events("clicks")).EnumerateArray());
    }

    [Fact]
    public async Task A_body_over_1_MiB_answers_413()
    {
        var account = await Account();
        var big = "{\"td_client_id\":\"x\",\"pad\":\"" + new string('a', 1024 * 1024) + "\"}";
        await AssertError(await account.PostEvent(big), HttpStatusCode.RequestEntityTooLarge, 4013, "Payload Too Large");
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("not json", "invalid JSON")]
    [InlineData("[1,2]", "must be a JSON object")]
    [InlineData("{\"td_path\":\"/retail\"}", "no identifier")]
    [InlineData("{\"td_client_id\":42}", "identifier `td_client_id` must be a string")]
    [InlineData("{\"td_client_id\":\"x\",\"a\":1,\"a\":2}", "appears twice")]
    [InlineData("{\"td_client_id\":\"x\",\"time\":\"yesterday\"}", "`time` must be")]
    [InlineData("{\"td_client_id\":\"x\",\"uuid\":5}", "`uuid` must be")]
    [InlineData("{\"email\":\"unknown\"}", "no identifier")]
    public async Task An_invalid_event_answers_3004_saying_why(string body, string why)
    {
        var account = await Account();
        var response = await account.PostEvent(body);
        var text = await response.Content.ReadAsStringAsync();
        await AssertError(response, HttpStatusCode.BadRequest, 3004);
        Assert.Contains(why, text, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task An_event_nested_deeper_than_32_levels_answers_3004()
    {
        var account = await Account();
        var deep = "{\"td_client_id\":\"x\",\"a\":" + new string('[', 40) + new string(']', 40) + "}";
        await AssertError(await account.PostEvent(deep), HttpStatusCode.BadRequest, 3004);
    }

    [Fact]
    public async Task Over_the_ingest_rate_answers_429_2003_with_retry_after()
    {
        var yaml = (await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "samples", "demo.yaml")))
            .Replace("limits: { ingest_per_second: 20000 }", "limits: { ingest_per_second: 2 }", StringComparison.Ordinal);
        var account = await Account(yaml);
        account.Token = (await account.CreateTokenAsync("web", "site")).GetProperty("token").GetString()!;
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? limited = null;
        for (var i = 0; i < 5; i++)
        {
            var response = await account.PostEvent(Pageview("rate"));
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests) limited = response;
        }
        Assert.Equal(HttpStatusCode.OK, statuses[0]);
        Assert.NotNull(limited);
        await AssertError(limited, HttpStatusCode.TooManyRequests, 2003, "Ingest Rate Limit Exceeded");
        Assert.Equal("1", limited.Headers.GetValues("Retry-After").Single());
        Assert.Equal(statuses.Count(s => s == HttpStatusCode.OK), (await account.Events()).GetArrayLength());
    }
}
