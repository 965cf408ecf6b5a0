using System.Net;
using System.Text.Json;

namespace Tailor.Server.Tests;

/// <summary>Profile import over the admin API: rows, rejections, idempotency, and that imported profiles are the ones events update.</summary>
public sealed class ImportTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private Task<TestAccount> Account(string? yaml = null) => fixture.Server.CreateAccountAsync(yaml);

    private static string Rows(params string[] rows) => string.Join("\n", rows) + "\n";

    [Fact]
    public async Task Good_rows_are_imported_and_bad_rows_are_rejected_with_their_line_and_reason()
    {
        var account = await Account();
        var summary = await account.Import(Rows(
            """{"email":"ann@example.com","age":"25-34","loyalty":"high","batch_segments":["1588214"],"favourite_colour":"red"}""",
            "{\"email\":\"ann@example.com\",\"age\":\"25-34\"",     // truncated JSON
            """{"age":"35-44"}""",                                        // no identifier
            """["not","an","object"]""",
            """{"user_id":"u-7","loyalty":"low","batch_segments":"999"}""", // unknown batch segment
            "",
            """{"email":{"nested":true}}""",                              // identifier of the wrong type
            "{\"user_id\":\"u-8\",\"loyalty\":\"" + new string('x', 600) + "\"}", // over 500 bytes
            """{"td_client_id":"c-9","user_id":42,"spent":"12.5"}"""));
        Assert.Equal(8, summary.GetProperty("rows").GetInt32());
        Assert.Equal(2, summary.GetProperty("created").GetInt32());
        Assert.Equal(6, summary.GetProperty("rejected").GetInt32());
        var rejections = summary.GetProperty("rejections").EnumerateArray().Select(r => (r.GetProperty("line").GetInt32(), r.GetProperty("reason").GetString()!)).ToList();
        Assert.Equal([2, 3, 4, 5, 7, 8], rejections.Select(r => r.Item1));
        Assert.Contains("not valid JSON", rejections[0].Item2);
        Assert.Contains("no identifier", rejections[1].Item2);
        Assert.Contains("JSON object", rejections[2].Item2);
        Assert.Contains("unknown batch segment `999`", rejections[3].Item2);
        Assert.Contains("`email` must be a string", rejections[4].Item2);
        Assert.Contains("at most 500", rejections[5].Item2);
        Assert.Equal(["favourite_colour"], summary.GetProperty("ignored_columns").EnumerateArray().Select(c => c.GetString()));

        var ann = await account.Profile("email", "ann@example.com");
        Assert.Equal("high", ann.GetProperty("attributes").GetProperty("loyalty").GetString());
        Assert.Equal(["1588214"], ann.GetProperty("batch_segments").EnumerateArray().Select(s => s.GetString()));
        var numeric = await account.Profile("user_id", "42");
        Assert.Equal(12.5, numeric.GetProperty("attributes").GetProperty("spent").GetDouble());
    }

    [Fact]
    public async Task Re_importing_the_same_file_changes_nothing()
    {
        var account = await Account();
        var file = Rows(
            """{"email":"bo@example.com","first":"Bo","last":"Lee","zip":"94105","age":"45-54","interests":{"travel":true}}""",
            """{"first":"Cy","last":"Ng","street":"1 Main St","city":"Springfield","state":"IL","gender":"Male"}""");
        var first = await account.Import(file);
        Assert.Equal(2, first.GetProperty("created").GetInt32());
        var profile = await account.Profile("email", "bo@example.com");
        var lookups = await Task.WhenAll(account.Lookup("email=bo@example.com"), account.Lookup("first=cy&last=ng&street=1+Main+St.&city=springfield&state=il"));
        var before = await Task.WhenAll(lookups.Select(r => r.Content.ReadAsStringAsync()));

        var second = await account.Import(file);
        Assert.Equal(0, second.GetProperty("created").GetInt32());
        Assert.Equal(2, second.GetProperty("updated").GetInt32());
        var again = await account.Profile("email", "bo@example.com");
        Assert.Equal(profile.GetProperty("id").GetString(), again.GetProperty("id").GetString());
        Assert.Equal(profile.GetProperty("attributes").GetRawText(), again.GetProperty("attributes").GetRawText());
        Assert.Equal(profile.GetProperty("identifiers").GetRawText(), again.GetProperty("identifiers").GetRawText());
        var after = await Task.WhenAll((await Task.WhenAll(account.Lookup("email=bo@example.com"), account.Lookup("first=cy&last=ng&street=1+Main+St.&city=springfield&state=il")))
            .Select(r => r.Content.ReadAsStringAsync()));
        Assert.Equal(before, after);
        Assert.Equal("""{"gender":"Male"}""", after[1]);
    }

    [Fact]
    public async Task An_imported_profile_is_the_profile_events_update_and_the_reverse()
    {
        var account = await Account();
        await account.Import(Rows("""{"email":"dee@example.com","loyalty":"high","batch_segments":"1588214"}"""));
        var offers = await account.Offers(await account.PostEvent("""{"td_client_id":"dee-browser","email":"dee@example.com","td_path":"/retail/x","product_category":"women","product_name":"boots"}"""));
        var offer = offers.GetProperty("offer_for_high_loyalty");
        Assert.Equal("high", offer.GetProperty("attributes").GetProperty("status").GetString());
        Assert.Equal("1588214", offer.GetProperty("batch_segments")[0].GetProperty("id").GetString());

        // A profile made by an event is updated by an import row with its identifier, not duplicated.
        await account.PostEvent("""{"td_client_id":"eve-browser","email":"eve@example.com","td_path":"/retail/x"}""");
        var summary = await account.Import(Rows("""{"td_client_id":"eve-browser","age":"21-24"}"""));
        Assert.Equal(1, summary.GetProperty("updated").GetInt32());
        var eve = await account.Profile("email", "eve@example.com");
        Assert.Equal("21-24", eve.GetProperty("attributes").GetProperty("age").GetString());
        Assert.Equal(1, eve.GetProperty("events").GetInt32());
        // ...and the lookup API finds it by the email the event brought.
        Assert.Equal("""{"age":"21-24"}""", await (await account.Lookup("email=EVE@example.com")).Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task An_import_row_with_identifiers_of_two_profiles_merges_them_like_an_event()
    {
        var account = await Account();
        await account.PostEvent("""{"td_client_id":"m-1","td_path":"/retail/x","product_name":"boots"}""");
        await account.PostEvent("""{"user_id":"m-user","td_path":"/retail/x","product_name":"hat"}""");
        await account.Import(Rows("""{"td_client_id":"m-1","user_id":"m-user","loyalty":"medium"}"""));
        var byClient = await account.Profile("td_client_id", "m-1");
        var byUser = await account.Profile("user_id", "m-user");
        Assert.Equal(byClient.GetProperty("id").GetString(), byUser.GetProperty("id").GetString());
        Assert.Equal(2, byUser.GetProperty("events").GetInt32());
        Assert.Equal("medium", byUser.GetProperty("attributes").GetProperty("loyalty").GetString());
    }

    [Fact]
    public async Task A_rejected_row_leaves_the_existing_profile_as_it_was()
    {
        var account = await Account();
        await account.Import(Rows("""{"email":"fay@example.com","loyalty":"high","age":"25-34"}"""));
        var before = (await account.Profile("email", "fay@example.com")).GetProperty("attributes").GetRawText();
        var summary = await account.Import(Rows("{\"email\":\"fay@example.com\",\"loyalty\":\"low\",\"age\":\"" + new string('9', 501) + "\"}"));
        Assert.Equal(1, summary.GetProperty("rejected").GetInt32());
        Assert.Equal(before, (await account.Profile("email", "fay@example.com")).GetProperty("attributes").GetRawText());
    }

    [Fact]
    public async Task Columns_can_be_mapped_to_attributes_and_an_unknown_audience_is_404()
    {
        var account = await Account();
        var summary = await account.Import(Rows("""{"mail":"gus@example.com","tier":"low"}"""), query: "?map=mail:email&map=tier:loyalty");
        Assert.Equal(1, summary.GetProperty("created").GetInt32());
        Assert.Equal("low", (await account.Profile("email", "gus@example.com")).GetProperty("attributes").GetProperty("loyalty").GetString());
        var missing = await account.Send(HttpMethod.Post, "/v1/audiences/nobody/import", account.MasterKey, new StringContent("{}\n"));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        var notMaster = await account.Send(HttpMethod.Post, "/v1/audiences/shoppers/import", account.WriteKey, new StringContent("{}\n"));
        Assert.Equal(HttpStatusCode.Forbidden, notMaster.StatusCode);
    }

    [Fact]
    public async Task The_same_person_twice_in_one_file_is_one_profile_with_the_later_values()
    {
        var account = await Account();
        var summary = await account.Import(Rows(
            """{"email":"hal@example.com","loyalty":"low"}""",
            """{"email":"hal@example.com","user_id":"hal-1","loyalty":"high"}"""));
        Assert.Equal(2, summary.GetProperty("created").GetInt32() + summary.GetProperty("updated").GetInt32());
        var hal = await account.Profile("user_id", "hal-1");
        Assert.Equal("high", hal.GetProperty("attributes").GetProperty("loyalty").GetString());
        Assert.Equal(hal.GetProperty("id").GetString(), (await account.Profile("email", "hal@example.com")).GetProperty("id").GetString());
    }
}
