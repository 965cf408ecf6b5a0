using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;

namespace Tailor.Server.Tests;

/// <summary>State survives a restart on the same data directory: accounts, configuration, profiles, identities, the log.</summary>
public sealed class RestartTests
{
    [Fact]
    public async Task Profiles_identities_configuration_and_events_survive_a_restart()
    {
        var directory = TestDirectories.New("tailor-restart-");
        string profileId;
        TestAccount account;
        await using (var first = new TailorServerFactory(directory))
        {
            account = await first.CreateAccountAsync();
            await account.PostEvent("""{"td_client_id":"r1","td_path":"/retail","product_name":"boots","product_category":"women"}""");
            await account.PostEvent("""{"td_client_id":"r1","email":"r1@example.com","td_path":"/retail","product_name":"hat","product_category":"women"}""");
            profileId = (await account.Profile("td_client_id", "r1")).GetProperty("id").GetString()!;
        }

        await using var second = new TailorServerFactory(directory);
        var again = new TestAccount(second.CreateClient(), account.Id, account.MasterKey) { WriteKey = account.WriteKey, Token = account.Token };
        var profile = await again.Profile("email", "r1@example.com");
        Assert.Equal(profileId, profile.GetProperty("id").GetString());
        Assert.Equal(2, profile.GetProperty("attributes").GetProperty("views.7d").GetInt32());
        // The third pageview (after the restart) turns the engaged offer on: nothing was lost or counted twice.
        var offers = await again.Offers(await again.PostEvent("""{"td_client_id":"r1","td_path":"/retail","product_name":"scarf","product_category":"women"}"""));
        Assert.Equal("""["scarf","hat","boots"]""", offers.GetProperty("offer_for_high_loyalty").GetProperty("attributes").GetProperty("recent").GetRawText());
        Assert.Equal(3, (await again.Events()).GetArrayLength());
    }

    [Fact]
    public async Task The_lookup_index_is_rebuilt_from_the_store_at_startup()
    {
        var directory = TestDirectories.New("tailor-lookup-restart-");
        TestAccount account;
        string before;
        await using (var first = new TailorServerFactory(directory))
        {
            account = await first.CreateAccountAsync();
            await account.Import("""{"email":"lia@example.com","first":"Lia","last":"Ray","zip":"30301","age":"35-44"}""" + "\n"
                + """{"td_client_id":"lia-web","user_id":"lia-7","gender":"Female"}""" + "\n");
            // An event merges the two profiles: the lookup follows the survivor, before and after the restart.
            await account.PostEvent("""{"td_client_id":"lia-web","email":"lia@example.com","td_path":"/retail/x"}""");
            before = await (await account.Lookup("first=lia&last=ray&zip=30301")).Content.ReadAsStringAsync();
        }
        Assert.Equal("""{"age":"35-44","gender":"Female"}""", before);

        await using var second = new TailorServerFactory(directory);
        var again = new TestAccount(second.CreateClient(), account.Id, account.MasterKey) { LookupKey = account.LookupKey };
        Assert.Equal(before, await (await again.Lookup("first=lia&last=ray&zip=30301")).Content.ReadAsStringAsync());
        Assert.Equal(before, await (await again.Lookup("email=lia@example.com")).Content.ReadAsStringAsync());
        Assert.Equal($"[{before},{{}}]", await (await again.Bulk("""[{"email":"lia@example.com"},{"email":"nobody@example.com"}]""")).Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task An_online_backup_restores_into_a_working_server()
    {
        var directory = TestDirectories.New("tailor-backup-src-");
        var restored = Path.Combine(TestDirectories.New("tailor-backup-dst-"), "copy");
        TestAccount account;
        await using (var live = new TailorServerFactory(directory))
        {
            account = await live.CreateAccountAsync();
            await account.Import("""{"email":"bea@example.com","age":"55-64"}""" + "\n" + """{"email":"gone@example.com","age":"18-24"}""" + "\n");
            await account.PostEvent("""{"td_client_id":"bea-web","email":"bea@example.com","td_path":"/retail/x","product_name":"boots"}""");
            // An erasure writes everything pending behind first: what came so far is in the profile tables' file,
            Assert.Equal(HttpStatusCode.OK, (await account.Send(HttpMethod.Delete, "/v1/audiences/shoppers/profiles?key=email&value=gone%40example.com", account.MasterKey)).StatusCode);
            // and this event's change is still pending in the log's file when the backup is taken.
            await account.PostEvent("""{"td_client_id":"bea-web","td_path":"/retail/y","product_name":"scarf"}""");

            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/backup") { Content = JsonContent.Create(new { directory = restored }) };
            request.Headers.Authorization = new("Bearer", live.AdminKey);
            var backup = await TailorServerFactory.Json(await live.CreateClient().SendAsync(request), HttpStatusCode.Created);
            Assert.Equal(4, backup.GetProperty("files").GetArrayLength());
            // A second backup into the same directory would mix two moments: refused.
            using var again = new HttpRequestMessage(HttpMethod.Post, "/v1/backup") { Content = JsonContent.Create(new { directory = restored }) };
            again.Headers.Authorization = new("Bearer", live.AdminKey);
            Assert.Equal(HttpStatusCode.BadRequest, (await live.CreateClient().SendAsync(again)).StatusCode);
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();

        await using var fromBackup = new TailorServerFactory(restored);
        var copy = new TestAccount(fromBackup.CreateClient(), account.Id, account.MasterKey) { WriteKey = account.WriteKey, LookupKey = account.LookupKey, Token = account.Token };
        var profile = await copy.Profile("td_client_id", "bea-web");
        Assert.Equal("55-64", profile.GetProperty("attributes").GetProperty("age").GetString());
        Assert.Equal(2, (await copy.Events()).GetArrayLength());
        Assert.Equal("""{"age":"55-64"}""", await (await copy.Lookup("email=bea@example.com")).Content.ReadAsStringAsync());
        Assert.Equal("{}", await (await copy.Lookup("email=gone@example.com")).Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await copy.PostEvent("""{"td_client_id":"bea-web","td_path":"/retail/z"}""")).StatusCode);
    }

    [Fact]
    public async Task A_client_uuid_forgotten_by_memory_or_a_restart_is_still_recognised_from_the_log()
    {
        var directory = TestDirectories.New("tailor-idem-");
        var settings = new Dictionary<string, string?> { ["Tailor:IdempotencyMemoryEntries"] = "2" };
        TestAccount account;
        await using (var first = new TailorServerFactory(directory, settings))
        {
            account = await first.CreateAccountAsync();
            for (var i = 0; i < 6; i++) await account.PostEvent($$"""{"td_client_id":"idem","td_path":"/retail","uuid":"u-{{i}}"}""");
            // u-0 left memory long ago (capacity 2): the log still knows it.
            await account.PostEvent("""{"td_client_id":"idem","td_path":"/retail","uuid":"u-0"}""");
            Assert.Equal(6, (await account.Profile("td_client_id", "idem")).GetProperty("events").GetInt32());
        }
        await using var second = new TailorServerFactory(directory, settings);
        var again = new TestAccount(second.CreateClient(), account.Id, account.MasterKey) { WriteKey = account.WriteKey, Token = account.Token };
        await again.PostEvent("""{"td_client_id":"idem","td_path":"/retail","uuid":"u-5"}""");
        Assert.Equal(6, (await again.Profile("td_client_id", "idem")).GetProperty("events").GetInt32());
        Assert.Equal(6, (await again.Events()).GetArrayLength());
    }

    [Fact]
    public async Task A_deactivated_profile_comes_back_identical()
    {
        await using var server = new TailorServerFactory();
        var account = await server.CreateAccountAsync();
        await account.PostEvent("""{"td_client_id":"idle","td_path":"/retail","product_name":"boots"}""");
        var before = (await account.Profile("td_client_id", "idle")).GetRawText();

        var management = server.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0);
        await management.ForceActivationCollection(TimeSpan.Zero);
        var profiles = (await management.GetSimpleGrainStatistics()).Where(s => s.GrainType.Contains("ProfilePartitionGrain", StringComparison.Ordinal)).Sum(s => s.ActivationCount);
        Assert.Equal(0, profiles);

        var after = (await account.Profile("td_client_id", "idle")).GetRawText();
        Assert.Equal(before, after);
        Assert.Equal(HttpStatusCode.OK, (await account.PostEvent("""{"td_client_id":"idle"}""")).StatusCode);
    }
}
