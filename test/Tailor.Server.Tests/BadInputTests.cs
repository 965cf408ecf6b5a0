using System.Net;
using System.Text;

namespace Tailor.Server.Tests;

/// <summary>Generated bad requests: every answer is a documented 4xx, never a 5xx, and nothing is stored.</summary>
public sealed class BadInputTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string Valid = """{"td_client_id":"fuzz","td_path":"/retail","product_name":"boots","n":12}""";

    private static byte[] Mutate(Random random)
    {
        var valid = Encoding.UTF8.GetBytes(Valid);
        switch (random.Next(9))
        {
            case 0: return valid[..random.Next(valid.Length - 1)];                            // truncated
            case 1:
                var corrupted = (byte[])valid.Clone();
                for (var i = 0; i < 3; i++) corrupted[random.Next(corrupted.Length)] = (byte)random.Next(256);
                return corrupted;                                                             // random bytes
            case 2: return [.. "{\"td_client_id\":\""u8, 0xC3, 0x28, 0xFF, .. "\"}"u8];     // invalid UTF-8
            case 3: return Encoding.UTF8.GetBytes("{\"td_client_id\":\"x\",\"a\":" + new string('[', 33 + random.Next(500)) + new string(']', 33) + "}");
            case 4: return Encoding.UTF8.GetBytes("{\"td_client_id\":\"x\",\"n\":1" + new string('0', 400 + random.Next(400)) + "}");
            case 5:
                return Encoding.UTF8.GetBytes(random.Next(4) switch
                {
                    0 => "{\"td_client_id\":[\"a\"]}",
                    1 => "{\"td_client_id\":{\"x\":1}}",
                    2 => "{\"td_client_id\":true,\"email\":7}",
                    _ => "{\"td_client_id\":null}",
                });
            case 6: return Encoding.UTF8.GetBytes("{\"td_client_id\":\"x\",\"k\":1,\"k\":2}");
            case 7: return Encoding.UTF8.GetBytes(random.Next(3) switch { 0 => "[]", 1 => "null", _ => "\"text\"" });
            default: return Encoding.UTF8.GetBytes("{\"td_client_id\":\"x\"," + new string(' ', random.Next(10)) + "}");
        }
    }

    [Fact]
    public async Task Five_hundred_generated_bad_requests_get_4xx_and_store_nothing()
    {
        var account = await fixture.Server.CreateAccountAsync();
        var random = new Random(6);
        string[] paths = ["/demo_db/pageviews", "/public/demo_db/pageviews", "/demo_db/..%2F..%2Fetc", "/demo_db/page%20views", "/DEMO/pageviews", "/demo_db/p", "/a/b/c"];
        string?[] contentTypes = [TestAccount.MediaType, "application/json", "text/plain", "", "application/vnd.treasuredata.v1+json; charset=latin1"];
        string?[] tokens = [account.Token, "", "1/2", $"{account.Id}/0/{new string('z', 65)}", $"{account.Id}/99999999999999999999/abcdefgh", account.PublicToken];
        var statuses = new Dictionary<int, int>();
        for (var i = 0; i < 500; i++)
        {
            var body = Mutate(random);
            var path = random.Next(3) == 0 ? paths[random.Next(paths.Length)] : paths[0];
            var contentType = random.Next(4) == 0 ? contentTypes[random.Next(contentTypes.Length)] : TestAccount.MediaType;
            var token = random.Next(4) == 0 ? tokens[random.Next(tokens.Length)] : account.Token;
            var content = new ByteArrayContent(body);
            if (!string.IsNullOrEmpty(contentType)) content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            var response = await account.Send(HttpMethod.Post, path, random.Next(10) == 0 ? "bogus" : account.WriteKey, content, r =>
            {
                if (token is not null) r.Headers.TryAddWithoutValidation("WP13n-Token", token);
                if (random.Next(2) == 0) r.Headers.TryAddWithoutValidation("Origin", random.Next(2) == 0 ? TestAccount.Origin : "null");
            });
            var status = (int)response.StatusCode;
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            Assert.True(status is >= 400 and < 500, $"request {i} to {path} answered {status}: {await response.Content.ReadAsStringAsync()}");
        }
        Assert.Empty((await account.Events()).EnumerateArray());
        Assert.True(statuses.Count >= 4, string.Join(", ", statuses.Select(s => $"{s.Key}: {s.Value}")));
    }
}
