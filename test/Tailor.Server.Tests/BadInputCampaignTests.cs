using System.Net;
using System.Text;
using System.Text.Json;

namespace Tailor.Server.Tests;

/// <summary>Runs alone (no other test allocates in the process meanwhile), so that its memory figure is its own.</summary>
[CollectionDefinition(nameof(BadInputCampaignTests), DisableParallelization = true)]
public sealed class BadInputCampaignCollection;

/// <summary>
/// The bad-input campaign: at least 10,000 generated bad requests across every public endpoint
/// (events, lookups single and bulk, import, configuration, keys, tokens, profiles, audit, usage).
/// Every answer is a 4xx with a JSON error body, none is a 5xx, memory stays bounded, and nothing
/// that was refused changed the data. The counts are written to campaign-report.txt (printed by .ci/run).
/// </summary>
[Collection(nameof(BadInputCampaignTests))]
public sealed class BadInputCampaignTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const int Requests = 10_000;

    private sealed record BadRequest(HttpMethod Method, string Path, byte[]? Body, string? ContentType, string? Authorization, (string Name, string Value)[] Headers);

    private static string Junk(Random random)
    {
        string[] junk = ["", " ", "%00", "..%2F..%2Fetc%2Fpasswd", "../../etc/passwd", new string('a', 3000), "😀", "%FF%FE", "1/2", "null", "-1", "99999999999999999999", "<script>", "a/b", "%", "'; DROP TABLE events;--"];
        return junk[random.Next(junk.Length)];
    }

    private static byte[] BadJson(Random random) => random.Next(12) switch
    {
        0 => "{\"td_client_id\":\"x\",\"#"u8.ToArray(),                                           // truncated
        1 => [.. "{\"email\":\""u8, 0xC3, 0x28, 0xFF, .. "\"}"u8],                                      // invalid UTF-8
        2 => Encoding.UTF8.GetBytes(new string('[', 70 + random.Next(2000)) + new string(']', 70)),       // deep nesting
        3 => Encoding.UTF8.GetBytes("{\"n\":1" + new string('9', 500 + random.Next(500)) + "}"),           // huge number
        4 => """{"td_client_id":"a","td_client_id":"b"}"""u8.ToArray(),                                   // duplicate keys
        5 => """{"td_client_id":["a"],"email":{"x":1},"user_id":true}"""u8.ToArray(),                     // wrong identifier types
        6 => """[1,"two",null,[],true]"""u8.ToArray(),                                                    // non-object elements
        7 => "null"u8.ToArray(),
        8 => Encoding.UTF8.GetBytes(Junk(random)),
        9 => [],
        10 => Encoding.UTF8.GetBytes("[" + string.Join(",", Enumerable.Repeat("{\"email\":\"x\"}", 3)) + "," + new string('{', 10) + "]"),
        _ => Encoding.UTF8.GetBytes("{\"td_client_id\":\"x\"" + new string(',', random.Next(1, 5)) + "}"),
    };

    private static BadRequest Generate(Random random, TestAccount account, string tooManyBody, byte[] oversizeEvent)
    {
        string Key() => random.Next(6) switch { 0 => "", 1 => "TD1 " + Junk(random), 2 => $"TD1 {account.Id}/{new string('0', 40)}", 3 => "Bearer admin/nope", 4 => $"TD1 {account.WriteKey}", _ => $"TD1 {account.LookupKey}" };
        string Api() => random.Next(4) == 0 ? Uri.EscapeDataString(Junk(random)) : random.Next(2) == 0 ? Uri.EscapeDataString(account.WriteKey) : "";
        string? Type() => random.Next(5) switch { 0 => null, 1 => "text/plain", 2 => "application/json", 3 => "application/x-www-form-urlencoded", _ => TestAccount.MediaType };
        var none = Array.Empty<(string, string)>();
        switch (random.Next(12))
        {
            case 0: // events: bad bodies, tokens, tables, content types
            case 1:
                string[] paths = ["/demo_db/pageviews", "/public/demo_db/pageviews", "/demo_db/..%2F..%2Fetc", "/demo_db/page%20views", "/DEMO/pageviews", "/demo_db/p", "/" + Uri.EscapeDataString(Junk(random)) + "/x"];
                var token = random.Next(3) switch { 0 => "", 1 => Junk(random), _ => account.Token };
                var body = random.Next(40) == 0 ? oversizeEvent : BadJson(random);
                return new BadRequest(HttpMethod.Post, paths[random.Next(paths.Length)], body, Type(), random.Next(3) == 0 ? Key() : $"TD1 {account.WriteKey}",
                    random.Next(4) == 0 ? [("WP13n-Token", token), ("WP13n-Token", account.Token)] : [("WP13n-Token", token), ("Origin", random.Next(2) == 0 ? "null" : TestAccount.Origin)]);
            case 2: // single lookups
                string[] single = ["/v5/td", "/v5/ei", "/v4/dr"];
                var query = random.Next(5) switch
                {
                    0 => "email=" + Uri.EscapeDataString(Junk(random)),
                    1 => "md5_email=" + new string('z', 32),
                    2 => "first=a&zip=" + Uri.EscapeDataString(Junk(random)),
                    3 => "sha256_email=" + new string('A', 63),
                    _ => "email=&email=&first=",
                };
                return new BadRequest(HttpMethod.Get, $"{single[random.Next(3)]}?api_key={(random.Next(3) == 0 ? Api() : Uri.EscapeDataString(account.LookupKey))}&{query}", null, null, null, none);
            case 3: // bulk lookups
            case 4:
                byte[] bulk = random.Next(50) == 0 ? Encoding.UTF8.GetBytes(tooManyBody) : BadJson(random);
                var apiKey = random.Next(4) == 0 ? Api() : Uri.EscapeDataString(account.LookupKey);
                return new BadRequest(HttpMethod.Post, random.Next(2) == 0 ? $"/v5/ei/bulk?api_key={apiKey}" : $"/v4/bulk?api_key={apiKey}", bulk, random.Next(3) == 0 ? Type() : "application/json", null, none);
            case 5: // import: refused as a whole (key, audience, map)
                var importPath = random.Next(3) switch
                {
                    0 => "/v1/audiences/" + Uri.EscapeDataString(Junk(random) + "x") + "/import",
                    1 => "/v1/audiences/shoppers/import?map=" + Uri.EscapeDataString(random.Next(2) == 0 ? "nocolon" : ":"),
                    _ => "/v1/audiences/shoppers/import",
                };
                var importKey = importPath.EndsWith("/import", StringComparison.Ordinal) && importPath.Contains("shoppers", StringComparison.Ordinal) ? (random.Next(2) == 0 ? "" : $"TD1 {account.WriteKey}") : $"TD1 {account.MasterKey}";
                return new BadRequest(HttpMethod.Post, importPath, BadJson(random), "application/x-ndjson", importKey, none);
            case 6: // configuration
                return new BadRequest(HttpMethod.Put, "/v1/config?file=" + Uri.EscapeDataString(Junk(random)), random.Next(2) == 0 ? BadJson(random) : Encoding.UTF8.GetBytes("databases: [\n  - {"),
                    random.Next(2) == 0 ? "application/yaml" : "application/json", random.Next(4) == 0 ? Key() : $"TD1 {account.MasterKey}", none);
            case 7: // keys and tokens
                var keyBody = random.Next(3) switch
                {
                    0 => """{"kind":"superuser"}""",
                    1 => """{"kind":"lookup","lookup":{"period":"century","quota":-5}}""",
                    _ => Encoding.UTF8.GetString(BadJson(random)),
                };
                string[] adminPaths = ["/v1/keys", "/v1/tokens", "/v1/keys/999999/lookup", "/v1/accounts"];
                var adminPath = adminPaths[random.Next(adminPaths.Length)];
                return new BadRequest(adminPath.EndsWith("lookup", StringComparison.Ordinal) ? HttpMethod.Put : HttpMethod.Post, adminPath, Encoding.UTF8.GetBytes(keyBody), "application/json",
                    adminPath == "/v1/accounts" ? Key() : $"TD1 {account.MasterKey}", none);
            case 8: // revocations of nothing
                return new BadRequest(HttpMethod.Delete, random.Next(2) == 0 ? $"/v1/keys/{random.Next(100_000, 999_999)}" : $"/v1/tokens/{random.Next(100_000, 999_999)}", null, null, $"TD1 {account.MasterKey}", none);
            case 9: // profiles: missing or unknown identifiers, unknown audiences, erasure of nobody
                var profilePath = random.Next(3) switch
                {
                    0 => "/v1/audiences/shoppers/profiles",
                    1 => "/v1/audiences/shoppers/profiles?key=email&value=" + Uri.EscapeDataString(Junk(random) + "@nobody"),
                    _ => "/v1/audiences/" + Uri.EscapeDataString(Junk(random) + "q") + "/profiles/export?email=a@b.c",
                };
                return new BadRequest(random.Next(2) == 0 ? HttpMethod.Delete : HttpMethod.Get, profilePath, null, null, random.Next(4) == 0 ? Key() : $"TD1 {account.MasterKey}", none);
            case 10: // reads with bad keys or parameters
                string[] reads = ["/v1/audit?after=-5", "/v1/runtime", "/v1/usage?api_key=" + Api(), "/v1/lookup/status", "/v1/databases/demo_db/tables/pageviews/events?after=abc", "/v1/config?version=999"];
                var read = reads[random.Next(reads.Length)];
                return new BadRequest(HttpMethod.Get, read, null, null, read.Contains("api_key", StringComparison.Ordinal) ? null : (read.Contains("version", StringComparison.Ordinal) || read.Contains("abc", StringComparison.Ordinal) ? $"TD1 {account.MasterKey}" : Key()), none);
            default: // methods the paths do not take
                string[] wrong = ["/v5/ei/bulk", "/v1/audit", "/v1/runtime", "/demo_db/pageviews", "/v1/audiences/shoppers/import"];
                return new BadRequest(random.Next(2) == 0 ? HttpMethod.Patch : HttpMethod.Put, wrong[random.Next(wrong.Length)], BadJson(random), "application/json", $"TD1 {account.MasterKey}", none);
        }
    }

    [Fact]
    public async Task Ten_thousand_generated_bad_requests_get_4xx_never_5xx_and_change_nothing()
    {
        var account = await fixture.Server.CreateAccountAsync();
        var client = fixture.Server.CreateClient();
        var tooMany = "[" + string.Join(",", Enumerable.Repeat("{\"email\":\"a@b.co\"}", 10_001)) + "]";
        var oversize = Encoding.UTF8.GetBytes("{\"td_client_id\":\"big\",\"pad\":\"" + new string('x', 1024 * 1024 + 10) + "\"}");
        var auditBefore = (await TailorServerFactory.Json(await account.Send(HttpMethod.Get, "/v1/audit", account.MasterKey))).GetProperty("entries").GetArrayLength();
        var keysBefore = (await TailorServerFactory.Json(await account.Send(HttpMethod.Get, "/v1/keys", account.MasterKey))).GetArrayLength();
        GC.Collect();
        var memoryBefore = GC.GetTotalMemory(forceFullCollection: true);

        var random = new Random(20261123);
        var statuses = new SortedDictionary<int, int>();
        var byEndpoint = new SortedDictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < Requests; i++)
        {
            var bad = Generate(random, account, tooMany, oversize);
            using var request = new HttpRequestMessage(bad.Method, bad.Path);
            if (bad.Body is not null)
            {
                request.Content = new ByteArrayContent(bad.Body);
                if (bad.ContentType is not null) request.Content.Headers.TryAddWithoutValidation("Content-Type", bad.ContentType);
            }
            if (bad.Authorization is { Length: > 0 } authorization) request.Headers.TryAddWithoutValidation("Authorization", authorization);
            foreach (var (name, value) in bad.Headers) request.Headers.TryAddWithoutValidation(name, value);
            using var response = await client.SendAsync(request);
            var status = (int)response.StatusCode;
            var text = await response.Content.ReadAsStringAsync();
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            var endpoint = bad.Path.Split('?')[0];
            endpoint = System.Text.RegularExpressions.Regex.Replace(endpoint, "/[0-9]+(?=/|$)", "/{id}");
            endpoint = endpoint.StartsWith("/v1/audiences/", StringComparison.Ordinal) ? "/v1/audiences/…" : endpoint.Count(c => c == '/') == 2 && !endpoint.StartsWith("/v", StringComparison.Ordinal) ? "/{database}/{table}" : endpoint;
            byEndpoint[$"{bad.Method} {endpoint}"] = byEndpoint.GetValueOrDefault($"{bad.Method} {endpoint}") + 1;
            Assert.True(status is >= 400 and < 500, $"request {i} ({bad.Method} {bad.Path}) answered {status}: {text}");
            if (status != 405 && status != 404 || text.Length > 0)
            {
                // Every refusal explains itself in JSON: {"code","message"} or, on the lookup API, {"error_code","error_msg"}.
                var json = JsonDocument.Parse(text).RootElement;
                Assert.True(json.TryGetProperty("code", out _) || json.TryGetProperty("error_code", out _), $"request {i} ({bad.Method} {bad.Path}): {text}");
            }
        }

        GC.Collect();
        var memoryAfter = GC.GetTotalMemory(forceFullCollection: true);
        Assert.Empty((await account.Events()).EnumerateArray());
        Assert.Equal(auditBefore, (await TailorServerFactory.Json(await account.Send(HttpMethod.Get, "/v1/audit", account.MasterKey))).GetProperty("entries").GetArrayLength());
        Assert.Equal(keysBefore, (await TailorServerFactory.Json(await account.Send(HttpMethod.Get, "/v1/keys", account.MasterKey))).GetArrayLength());
        Assert.Equal(0, (await TailorServerFactory.Json(await account.Send(HttpMethod.Get, "/v1/lookup/status", account.MasterKey))).GetProperty("profiles").GetInt32());
        Assert.True(memoryAfter - memoryBefore < 64 * 1024 * 1024, $"managed memory grew by {(memoryAfter - memoryBefore) / 1024 / 1024} MiB");
        Assert.True(statuses.Count >= 6, string.Join(", ", statuses));

        var report = $"bad-input campaign: {Requests} requests, 5xx: 0, statuses {string.Join(", ", statuses.Select(s => $"{s.Key}×{s.Value}"))}; "
            + $"managed memory {memoryBefore / 1024 / 1024} → {memoryAfter / 1024 / 1024} MiB; endpoints: {string.Join(", ", byEndpoint.Select(e => $"{e.Key}×{e.Value}"))}";
        await File.WriteAllTextAsync(Path.Combine(AppContext.BaseDirectory, "campaign-report.txt"), report + "\n");
    }
}
