using System.Net;
using System.Text.Json;

namespace Tailor.Server.Tests;

/// <summary>Privacy operations: export everything held about a customer; erase a customer from the store and the lookup index.</summary>
public sealed class PrivacyTests
{
    private static async Task<TestAccount> SeedAsync(TestAccount account)
    {
        await account.Import("""{"email":"zoe@example.com","first":"Zoe","last":"Ray","zip":"73301","age":"25-34","loyalty":"high"}""" + "\n");
        await account.PostEvent("""{"td_client_id":"zoe-phone","td_path":"/retail/a","product_name":"boots"}""");
        // This event merges the phone's profile into the imported one.
        await account.PostEvent("""{"td_client_id":"zoe-phone","email":"zoe@example.com","td_path":"/retail/b","product_name":"hat"}""");
        return account;
    }

    [Fact]
    public async Task Export_returns_the_profile_its_lookup_answer_and_every_event_of_the_customer()
    {
        await using var server = new TailorServerFactory();
        var account = await SeedAsync(await server.CreateAccountAsync());
        var export = await TailorServerFactory.Json(await account.Send(HttpMethod.Get, "/v1/audiences/shoppers/profiles/export?email=zoe@example.com", account.MasterKey));
        Assert.Equal("high", export.GetProperty("profile").GetProperty("attributes").GetProperty("loyalty").GetString());
        Assert.Equal("""{"age":"25-34","loyalty":"high"}""", export.GetProperty("lookup").GetRawText());
        var products = export.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("event").GetProperty("product_name").GetString()).ToList();
        Assert.Equal(["boots", "hat"], products);
    }

    [Fact]
    public async Task Erasing_a_customer_removes_the_profile_identifiers_events_and_lookup_entries_for_good()
    {
        var directory = TestDirectories.New("tailor-erase-");
        TestAccount account;
        await using (var server = new TailorServerFactory(directory))
        {
            account = await SeedAsync(await server.CreateAccountAsync());
            var other = await server.CreateAccountAsync();
            // Another account cannot erase (or find) this customer.
            Assert.Equal(HttpStatusCode.NotFound, (await other.Send(HttpMethod.Delete, "/v1/audiences/shoppers/profiles?email=zoe@example.com", other.MasterKey)).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await account.Send(HttpMethod.Delete, "/v1/audiences/shoppers/profiles?email=zoe@example.com", account.WriteKey)).StatusCode);

            var erased = await TailorServerFactory.Json(await account.Send(HttpMethod.Delete, "/v1/audiences/shoppers/profiles?email=zoe@example.com", account.MasterKey));
            Assert.Equal(2, erased.GetProperty("events").GetInt32());
            Assert.Equal(2, erased.GetProperty("identifiers").GetInt32());
            await AssertGone(account);
            Assert.Equal(HttpStatusCode.NotFound, (await account.Send(HttpMethod.Delete, "/v1/audiences/shoppers/profiles?email=zoe@example.com", account.MasterKey)).StatusCode);
            var audit = await TailorServerFactory.Json(await account.Send(HttpMethod.Get, "/v1/audit", account.MasterKey));
            Assert.Contains(audit.GetProperty("entries").EnumerateArray(), e => e.GetProperty("action").GetString() == "profile.erase");
        }
        await using (var restarted = new TailorServerFactory(directory))
        {
            var again = new TestAccount(restarted.CreateClient(), account.Id, account.MasterKey) { WriteKey = account.WriteKey, LookupKey = account.LookupKey, Token = account.Token };
            await AssertGone(again);
            // The customer coming back is a new profile that knows nothing of the old one.
            await again.PostEvent("""{"td_client_id":"zoe-phone","td_path":"/retail/c","product_name":"scarf"}""");
            var fresh = await again.Profile("td_client_id", "zoe-phone");
            Assert.Equal(1, fresh.GetProperty("events").GetInt32());
            Assert.False(fresh.GetProperty("attributes").TryGetProperty("loyalty", out _));
        }
    }

    private static async Task AssertGone(TestAccount account)
    {
        foreach (var query in new[] { "email=zoe@example.com", "key=td_client_id&value=zoe-phone" })
            Assert.Equal(HttpStatusCode.NotFound, (await account.Send(HttpMethod.Get, $"/v1/audiences/shoppers/profiles?{query}", account.MasterKey)).StatusCode);
        Assert.Equal("{}", await (await account.Lookup("email=zoe@example.com")).Content.ReadAsStringAsync());
        Assert.Equal("{}", await (await account.Lookup("first=zoe&last=ray&zip=73301")).Content.ReadAsStringAsync());
        Assert.Equal(0, (await account.Events()).GetArrayLength());
    }
}
