using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;

namespace Tailor.Server.Tests;

/// <summary>
/// A returning customer's call goes straight to the profile (the edge's identity hints); a hint that no
/// longer holds (a merge, an erasure) is caught by the profile and the call is stitched as usual.
/// Alone in its collection: the hint counters are process-wide and other tests would move them.
/// </summary>
[Collection(nameof(IdentityHintsTests))]
public sealed class IdentityHintsTests
{
    private static string Pageview(string clientId, string? email = null, string product = "boots") =>
        "{" + $"\"td_client_id\":\"{clientId}\",\"td_path\":\"/retail/x\",\"product_category\":\"women\",\"product_name\":\"{product}\""
            + (email is null ? "" : $",\"email\":\"{email}\"") + "}";

    /// <summary>Counts the hint outcomes (hit, rejected, miss) measured while it listens.</summary>
    private sealed class HintOutcomes : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentDictionary<string, long> _counts = new();

        public HintOutcomes()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Name == "tailor.identity.hints") listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                    if (tag.Key == "outcome") _counts.AddOrUpdate((string)tag.Value!, value, (_, count) => count + value);
            });
            _listener.Start();
        }

        public long this[string outcome] => _counts.GetValueOrDefault(outcome);

        public void Dispose() => _listener.Dispose();
    }

    private static async Task Post(TestAccount account, string body) =>
        Assert.Equal(HttpStatusCode.OK, (await account.PostEvent(body)).StatusCode);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_returning_customer_reaches_the_same_profile_with_or_without_hints(bool hints)
    {
        await using var server = new TailorServerFactory(settings: new Dictionary<string, string?> { ["Tailor:IdentityHints"] = hints ? "1000" : "0" });
        var account = await server.CreateAccountAsync();
        using var outcomes = new HintOutcomes();
        await Post(account, Pageview("returning", email: "ret@example.com"));
        for (var i = 0; i < 4; i++) await Post(account, Pageview("returning", email: "ret@example.com", product: $"p{i}"));
        await Post(account, Pageview("returning"));

        var profile = await account.Profile("email", "ret@example.com");
        Assert.Equal(6, profile.GetProperty("events").GetInt32());
        Assert.Equal(6, profile.GetProperty("attributes").GetProperty("views.7d").GetInt32());
        Assert.Equal(profile.GetProperty("id").GetString(), (await account.Profile("td_client_id", "returning")).GetProperty("id").GetString());
        // The first call is stitched; the next five go straight to the profile when the hints are on.
        Assert.Equal(hints ? 5 : 0, outcomes["hit"]);
        Assert.Equal(hints ? 1 : 6, outcomes["miss"]);
        Assert.Equal(0, outcomes["rejected"]);
    }

    [Fact]
    public async Task A_device_whose_profile_was_merged_away_finds_the_merged_profile()
    {
        await using var server = new TailorServerFactory();
        var account = await server.CreateAccountAsync();
        using var outcomes = new HintOutcomes();
        await Post(account, Pageview("laptop"));
        // The tablet's profile, known by its email too: the hints hold the tablet and the email.
        await Post(account, Pageview("tablet", email: "max@example.com"));
        // The laptop signs in: the tablet's (newer) profile merges into the laptop's, but the tablet's hint still names it.
        await Post(account, Pageview("laptop", email: "max@example.com"));
        await Post(account, Pageview("tablet", product: "hat"));

        Assert.Equal(1, outcomes["rejected"]);
        var merged = await account.Profile("td_client_id", "laptop");
        Assert.Equal(merged.GetProperty("id").GetString(), (await account.Profile("td_client_id", "tablet")).GetProperty("id").GetString());
        Assert.Equal(4, merged.GetProperty("events").GetInt32());
        // The rejected hint was replaced: the tablet now goes straight to the merged profile.
        await Post(account, Pageview("tablet"));
        Assert.Equal(1, outcomes["hit"]);
        Assert.Equal(5, (await account.Profile("td_client_id", "tablet")).GetProperty("events").GetInt32());
    }

    [Fact]
    public async Task A_customer_erased_and_back_is_a_new_profile_though_the_hint_named_the_old_one()
    {
        await using var server = new TailorServerFactory();
        var account = await server.CreateAccountAsync();
        using var outcomes = new HintOutcomes();
        await Post(account, Pageview("ida-phone", email: "ida@example.com"));
        await Post(account, Pageview("ida-phone", email: "ida@example.com", product: "hat"));
        var old = await account.Profile("email", "ida@example.com");
        Assert.Equal(HttpStatusCode.OK, (await account.Send(HttpMethod.Delete, "/v1/audiences/shoppers/profiles?email=ida@example.com", account.MasterKey)).StatusCode);

        await Post(account, Pageview("ida-phone", product: "scarf"));
        Assert.Equal(1, outcomes["rejected"]);
        var fresh = await account.Profile("td_client_id", "ida-phone");
        Assert.NotEqual(old.GetProperty("id").GetString(), fresh.GetProperty("id").GetString());
        Assert.Equal(1, fresh.GetProperty("events").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, (await account.Send(HttpMethod.Get, "/v1/audiences/shoppers/profiles?email=ida@example.com", account.MasterKey)).StatusCode);
    }
}

[CollectionDefinition(nameof(IdentityHintsTests), DisableParallelization = true)]
public sealed class IdentityHintsCollection;
