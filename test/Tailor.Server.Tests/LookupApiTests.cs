using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Tailor.Server.Tests;

/// <summary>The enrichment lookup API over HTTP (../shared/spec/lookup-api.md): single and bulk lookups and their errors.</summary>
public sealed class LookupApiTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string People = """
        {"email":"ivy@example.com","first":"Ivy","last":"Stone","street":"12 Oak Road","city":"Portland","state":"OR","zip":"97201","age":"25-34","gender":"Female","household_income":"50k-75k","interests":{"travel":true,"cooking":true},"loyalty":"high"}
        {"email":"jon@example.com","first":"Jon","last":"Hart","zip":"10001","age":"45-54","gender":"Male"}
        """;

    private async Task<TestAccount> Account()
    {
        var account = await fixture.Server.CreateAccountAsync();
        await account.Import(People + "\n");
        return account;
    }

    private static async Task<string> Body(HttpResponseMessage response, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"expected {expected}, got {(int)response.StatusCode}: {text}");
        Assert.False(string.IsNullOrEmpty(text), "an answer is never an empty body");
        return text;
    }

    private static string Hex(byte[] hash, bool upper = false) => upper ? Convert.ToHexString(hash) : Convert.ToHexStringLower(hash);
#pragma warning disable CA5351, CA5350 // the API's hashed identifiers
    private static string Md5(string text) => Hex(MD5.HashData(Encoding.UTF8.GetBytes(text)));
    private static string Sha1(string text) => Hex(SHA1.HashData(Encoding.UTF8.GetBytes(text)));
#pragma warning restore CA5351, CA5350
    private static string Sha256(string text) => Hex(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private const string Ivy = """{"age":"25-34","gender":"Female","household_income":"50k-75k","loyalty":"high","interests":{"travel":true,"cooking":true}}""";

    [Theory]
    [InlineData("/v5/ei", "email=ivy@example.com")]
    [InlineData("/v5/td", "email=%20IVY@Example.COM%20")]
    [InlineData("/v4/dr", "md5_email=MD5U")]
    [InlineData("/v5/ei", "md5_email=MD5L")]
    [InlineData("/v5/ei", "sha1_email=SHA1")]
    [InlineData("/v5/ei", "sha256_email=SHA256")]
    [InlineData("/v5/ei", "first=ivy&last=STONE&street=12+Oak+Rd&city=portland&state=or")]
    [InlineData("/v5/ei", "first=Ivy&last=Stone&zip=97201")]
    [InlineData("/v5/ei", "first=Ivy&last=Stone&zip4=97201-1234")]
    [InlineData("/v5/ei", "email=not-an-email&first=Ivy&last=Stone&zip=97201&company=Acme")]
    public async Task A_person_is_found_by_each_identifier_and_its_normalisations(string path, string query)
    {
        var account = await Account();
        query = query.Replace("MD5U", Md5("ivy@example.com").ToUpperInvariant(), StringComparison.Ordinal).Replace("MD5L", Md5("ivy@example.com"), StringComparison.Ordinal)
            .Replace("SHA256", Sha256("ivy@example.com"), StringComparison.Ordinal).Replace("SHA1", Sha1("ivy@example.com").ToUpperInvariant(), StringComparison.Ordinal);
        var response = await account.Lookup(query, path: path);
        Assert.Equal(Ivy.Replace("12 Oak Road", "", StringComparison.Ordinal), await Body(response));
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("email=nobody@example.com")]
    [InlineData("first=Ivy&last=Stone&zip=97202")]
    [InlineData("md5_email=00000000000000000000000000000000")]
    public async Task No_match_is_an_empty_object(string query) =>
        Assert.Equal("{}", await Body(await (await Account()).Lookup(query)));

    [Theory]
    [InlineData("")]
    [InlineData("email=not-an-email")]
    [InlineData("md5_email=abc")]
    [InlineData("sha1_email=zz" + "0000000000000000000000000000000000000")]
    [InlineData("first=Ivy&last=Stone")]
    [InlineData("first=Ivy&zip=97201")]
    [InlineData("first=Ivy&last=Stone&zip=9720")]
    [InlineData("first=Ivy&last=Stone&street=1+A&city=B&state=Oregon")]
    public async Task An_unusable_identifier_is_400_invalid_identifier(string query) =>
        Assert.Equal("""{"error_code":400,"error_msg":"Invalid identifier."}""", await Body(await (await Account()).Lookup(query), HttpStatusCode.BadRequest));

    [Fact]
    public async Task Fields_narrow_the_answer_and_a_sub_field_returns_its_parent()
    {
        var account = await Account();
        Assert.Equal("""{"age":"25-34","interests":{"travel":true,"cooking":true}}""", await Body(await account.Lookup("email=ivy@example.com&fields=age,interests.travel,unknown")));
    }

    [Fact]
    public async Task A_key_sees_only_its_fields_and_show_available_marks_the_others()
    {
        var account = await Account();
        var limited = (await account.CreateKeyAsync("lookup", new { fields = new[] { "age", "gender" } })).GetProperty("key").GetString()!;
        Assert.Equal("""{"age":"25-34","gender":"Female"}""", await Body(await account.Lookup("email=ivy@example.com", limited)));
        foreach (var flag in new[] { "show_available", "show_available=true", "show_available=1" })
            Assert.Equal("""{"age":"25-34","gender":"Female","household_income":"Data Available","loyalty":"Data Available","interests":"Data Available"}""",
                await Body(await account.Lookup($"email=ivy@example.com&{flag}", limited)));
        // Fields the person does not have are not announced.
        Assert.Equal("""{"age":"45-54","gender":"Male"}""", await Body(await account.Lookup("email=jon@example.com&show_available", limited)));
    }

    [Fact]
    public async Task Format_html_is_a_small_table()
    {
        var account = await Account();
        var response = await account.Lookup("email=ivy@example.com&format=html&fields=age");
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var html = await Body(response);
        Assert.Contains("<td>age</td><td>&quot;25-34&quot;</td>", html);
        Assert.DoesNotContain("gender", html);
    }

    [Fact]
    public async Task Keys_are_checked_missing_or_unknown_is_401_a_write_key_403_a_master_key_may_look_up()
    {
        var account = await Account();
        var invalidKey = """{"error_code":401,"error_msg":"Invalid API key."}""";
        Assert.Equal(invalidKey, await Body(await fixture.Server.CreateClient().GetAsync("/v5/ei?email=ivy@example.com"), HttpStatusCode.Unauthorized));
        Assert.Equal(invalidKey, await Body(await account.Lookup("email=ivy@example.com", $"{account.Id}/0000000000000000000000000000000000000000"), HttpStatusCode.Unauthorized));
        Assert.Equal(invalidKey, await Body(await account.Bulk("[]", "garbage"), HttpStatusCode.Unauthorized));
        var forbidden = await Body(await account.Lookup("email=ivy@example.com", account.WriteKey), HttpStatusCode.Forbidden);
        Assert.Equal(403, JsonDocument.Parse(forbidden).RootElement.GetProperty("error_code").GetInt32());
        await Body(await account.Bulk("[]", account.WriteKey), HttpStatusCode.Forbidden);
        Assert.Equal(Ivy, await Body(await account.Lookup("email=ivy@example.com", account.MasterKey)));
    }

    [Fact]
    public async Task One_account_never_sees_another_accounts_people()
    {
        var owner = await Account();
        var other = await fixture.Server.CreateAccountAsync();
        Assert.Equal("{}", await Body(await other.Lookup("email=ivy@example.com")));
        Assert.Equal("[{}]", await Body(await other.Bulk("""[{"email":"ivy@example.com"}]""")));
        Assert.Equal(Ivy, await Body(await owner.Lookup("email=ivy@example.com")));
    }

    [Fact]
    public async Task Bulk_answers_in_input_order_with_empty_objects_and_per_record_errors()
    {
        var account = await Account();
        // A generated file of people: every 3rd matches, every 5th is invalid, the rest are unknown.
        var random = new Random(7);
        var people = new List<string>();
        var expected = new List<string>();
        for (var i = 0; i < 500; i++)
        {
            if (i % 5 == 4)
            {
                people.Add(random.Next(3) switch { 0 => """{"email":"broken"}""", 1 => """{"first":"Solo"}""", _ => """{"company":"Acme"}""" });
                expected.Add("""{"error_code":400,"error_msg":"Invalid identifier."}""");
            }
            else if (i % 3 == 0)
            {
                people.Add(random.Next(2) == 0 ? """{"email":"jon@example.com"}""" : $$"""{"md5_email":"{{Md5("jon@example.com").ToUpperInvariant()}}","first":"x"}""");
                expected.Add("""{"age":"45-54","gender":"Male"}""");
            }
            else
            {
                people.Add($$"""{"email":"stranger{{i}}@example.com","first":"A","last":"B","zip":"12345"}""");
                expected.Add("{}");
            }
        }
        var answer = JsonDocument.Parse(await Body(await account.Bulk("[" + string.Join(",", people) + "]"))).RootElement;
        Assert.Equal(expected, answer.EnumerateArray().Select(e => e.GetRawText()));
        Assert.Equal("[]", await Body(await account.Bulk("[]", path: "/v4/bulk")));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"email\":\"ivy@example.com\"}")]
    [InlineData("[{\"email\":\"ivy@example.com\"}, 3]")]
    [InlineData("[{\"email\":\"ivy@example.com\"}")]
    [InlineData("[{\"email\":\"ivy@example.com\"}] []")]
    [InlineData("[\"ivy@example.com\"]")]
    [InlineData("")]
    public async Task A_body_that_is_not_a_json_array_of_objects_is_invalid_json(string body) =>
        Assert.Equal("""{"error_code":400,"error_msg":"Invalid JSON."}""", await Body(await (await Account()).Bulk(body), HttpStatusCode.BadRequest));

    [Theory]
    [InlineData(null)]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    public async Task A_content_type_other_than_json_is_invalid_json(string? contentType) =>
        Assert.Equal("""{"error_code":400,"error_msg":"Invalid JSON."}""", await Body(await (await Account()).Bulk("""[{"email":"ivy@example.com"}]""", contentType: contentType), HttpStatusCode.BadRequest));

    [Fact]
    public async Task More_than_the_limit_is_refused_with_the_actual_numbers()
    {
        var account = await Account();
        var body = "[" + string.Join(",", Enumerable.Repeat("""{"email":"ivy@example.com"}""", 10_001)) + "]";
        Assert.Equal("""{"error_code":400,"error_msg":"Too many records requested. Limit is 10000 and you requested 10001."}""", await Body(await account.Bulk(body), HttpStatusCode.BadRequest));
        var small = (await account.CreateKeyAsync("lookup", new { bulk_limit = 3 })).GetProperty("key").GetString()!;
        Assert.Equal("""{"error_code":400,"error_msg":"Too many records requested. Limit is 3 and you requested 4."}""",
            await Body(await account.Bulk("[{},{},{},{}]", small), HttpStatusCode.BadRequest));
        Assert.Equal(3, JsonDocument.Parse(await Body(await account.Bulk("[{},{},{}]", small))).RootElement.GetArrayLength());
    }

    [Fact]
    public async Task A_quota_stops_lookups_past_it_and_usage_is_metered()
    {
        var account = await Account();
        var created = await account.CreateKeyAsync("lookup", new { quota = 3, period = "day" });
        var key = created.GetProperty("key").GetString()!;
        await Body(await account.Bulk("""[{"email":"ivy@example.com"},{"email":"jon@example.com"}]""", key));
        await Body(await account.Lookup("email=ivy@example.com", key));
        Assert.Equal("""{"error_code":403,"error_msg":"Query limit exceeded."}""", await Body(await account.Lookup("email=ivy@example.com", key), HttpStatusCode.Forbidden));
        Assert.Equal("""{"error_code":403,"error_msg":"Query limit exceeded."}""", await Body(await account.Bulk("""[{"email":"ivy@example.com"}]""", key), HttpStatusCode.Forbidden));
        var usage = JsonDocument.Parse(await Body(await fixture.Server.CreateClient().GetAsync($"/v1/usage?api_key={Uri.EscapeDataString(key)}"))).RootElement;
        Assert.Equal(3, usage.GetProperty("records").GetInt32());
        Assert.Equal(3, usage.GetProperty("quota").GetInt32());
        Assert.Equal(DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), usage.GetProperty("period").GetString());
        var all = await TailorServerFactory.Json(await account.Send(HttpMethod.Get, "/v1/usage", account.MasterKey));
        Assert.Contains(all.EnumerateArray(), k => k.GetProperty("key_id").GetInt64() == created.GetProperty("id").GetInt64() && k.GetProperty("records").GetInt32() == 3);
    }

    [Fact]
    public async Task Bulk_requests_built_like_the_csharp_client_upper_case_md5_in_10000_record_chunks()
    {
        var account = await Account();
        var emails = Enumerable.Range(0, 20_000).Select(i => i % 1000 == 0 ? "ivy@example.com" : $"user{i}@example.com").ToList();
        var answers = new List<JsonElement>();
        foreach (var chunk in emails.Chunk(10_000))
        {
            var body = JsonSerializer.Serialize(chunk.Select(e => new Dictionary<string, string> { ["md5_email"] = Md5(e).ToUpperInvariant() }));
            using var content = new StringContent(body, Encoding.UTF8);
            var response = await account.Bulk(content, contentType: "application/json; charset=utf-8");
            answers.AddRange(JsonDocument.Parse(await Body(response)).RootElement.EnumerateArray().Select(e => e.Clone()));
        }
        Assert.Equal(20_000, answers.Count);
        for (var i = 0; i < answers.Count; i++)
            Assert.Equal(i % 1000 == 0 ? Ivy : "{}", answers[i].GetRawText());
    }

    [Fact]
    public async Task A_retried_bulk_request_like_the_ruby_client_sends_gets_the_same_answer()
    {
        var account = await Account();
        const string body = """[{"email":"ivy@example.com"},{"email":"nobody@example.com"},{"email":"x"}]""";
        var first = await Body(await account.Bulk(body, path: "/v4/bulk"));
        var retry = await Body(await account.Bulk(body, path: "/v4/bulk"));
        Assert.Equal(first, retry);
        Assert.Equal(Ivy, JsonDocument.Parse(retry).RootElement[0].GetRawText());
    }

    [Fact]
    public async Task A_profile_made_by_events_is_found_by_email_with_its_real_time_lookup_fields()
    {
        var yaml = (await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "samples", "demo.yaml")))
            .Replace("fields: [age, gender, household_income, loyalty, interests]", "fields: [age, last_product, views]", StringComparison.Ordinal);
        var account = await fixture.Server.CreateAccountAsync(yaml);
        account.Token = (await account.CreateTokenAsync("web", "site")).GetProperty("token").GetString()!;
        await account.PostEvent("""{"td_client_id":"rt-1","email":"Rita@Example.com","td_path":"/retail/a","product_name":"boots"}""");
        await account.PostEvent("""{"td_client_id":"rt-1","td_path":"/retail/b","product_name":"scarf"}""");
        Assert.Equal("""{"last_product":"scarf","views":2}""", await Body(await account.Lookup("email=rita@example.com")));
        await account.Import("""{"td_client_id":"rt-1","age":"65+"}""" + "\n");
        Assert.Equal("""{"age":"65+","last_product":"scarf","views":2}""", await Body(await account.Lookup("email=rita@example.com")));
    }
}
