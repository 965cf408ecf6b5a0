using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Tailor.Core.Evaluation;
using Tailor.Core.Events;

namespace Tailor.Core.Tests;

/// <summary>The engine decides offers for the spec's example configuration exactly as the spec describes.</summary>
public sealed class ExampleConfigTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero));
    private readonly LocalPersonalizer _engine;

    public ExampleConfigTests() => _engine = new LocalPersonalizer(TestConfigs.Example, _time);

    private static EventData Pageview(string clientId, string path = "/retail/shoes", string? category = null, string? product = null, string? email = null)
    {
        var fields = new List<(string, Value)> { ("td_client_id", Value.FromString(clientId)), ("td_path", Value.FromString(path)) };
        if (category is not null) fields.Add(("product_category", Value.FromString(category)));
        if (product is not null) fields.Add(("product_name", Value.FromString(product)));
        if (email is not null) fields.Add(("email", Value.FromString(email)));
        return EventData.From([.. fields]);
    }

    private static JsonElement Offers(PersonalizeOutcome outcome)
    {
        Assert.Null(outcome.Error);
        return JsonDocument.Parse(outcome.OffersJson).RootElement.GetProperty("offers");
    }

    [Fact]
    public void The_example_configuration_is_valid()
    {
        var config = TestConfigs.Example;
        Assert.Equal(["demo_db"], config.Databases);
        Assert.Single(config.Audiences);
        Assert.Single(config.Services["web"].Sections);
    }

    [Fact]
    public void No_offer_for_a_new_profile_and_an_empty_offers_object_is_still_answered()
    {
        var outcome = _engine.Personalize("web", "demo_db", "pageviews", Pageview("c1", category: "women"));
        Assert.True(outcome.ProfileIsNew);
        Assert.Equal("""{"offers":{}}""", outcome.OffersJson);
    }

    [Fact]
    public void The_third_retail_pageview_in_seven_days_makes_the_profile_engaged_and_turns_the_offer_on()
    {
        _engine.Personalize("web", "demo_db", "pageviews", Pageview("c1", category: "women", product: "boots"));
        _time.Advance(TimeSpan.FromHours(1));
        var second = _engine.Personalize("web", "demo_db", "pageviews", Pageview("c1", category: "women", product: "hat"));
        Assert.Empty(Offers(second).EnumerateObject());

        _time.Advance(TimeSpan.FromHours(1));
        var third = _engine.Personalize("web", "demo_db", "pageviews", Pageview("c1", category: "women", product: "boots"));
        var offer = Offers(third).GetProperty("offer_for_high_loyalty");
        // browsed is distinct and newest first; loyalty is not set so it is omitted; the fixed string is there.
        Assert.Equal("""{"recent":["boots","hat"],"welcome_message":"Welcome back!"}""", offer.GetProperty("attributes").GetRawText());
        Assert.False(offer.TryGetProperty("batch_segments", out _));
    }

    [Fact]
    public void Pageviews_outside_the_retail_path_are_not_key_events()
    {
        for (var i = 0; i < 5; i++) _engine.Personalize("web", "demo_db", "pageviews", Pageview("c1", path: "/blog", category: "women"));
        var profile = _engine.Find("shoppers", new("td_client_id", "c1"))!;
        Assert.Equal(Value.FromNumber(0), TestConfigs.Example.Audiences["shoppers"].ReadAttribute(profile, "views.7d", _time.GetUtcNow().ToUnixTimeMilliseconds()));
    }

    [Fact]
    public void The_section_needs_the_event_filter_to_hold_for_this_event()
    {
        for (var i = 0; i < 3; i++) _engine.Personalize("web", "demo_db", "pageviews", Pageview("c1", category: "women"));
        var men = _engine.Personalize("web", "demo_db", "pageviews", Pageview("c1", category: "men"), explain: true);
        Assert.Empty(Offers(men).EnumerateObject());
        var explanation = Assert.Single(men.Explanation!);
        Assert.False(explanation.Matched);
        Assert.Equal("event_filter: product_category == \"women\" (product_category = \"men\")", explanation.FailedCondition);
    }

    [Fact]
    public void Imported_high_loyalty_matches_at_once_and_reports_the_batch_segment()
    {
        _engine.Import("shoppers", [new("email", "ann@example.com")],
            new Dictionary<string, Value> { ["loyalty"] = Value.FromString("high") }, ["1588214"]);
        // The event carries the email and a new td_client_id: it joins the imported profile, which is not new.
        var outcome = _engine.Personalize("web", "demo_db", "pageviews", Pageview("c9", category: "women", email: "ann@example.com"));
        Assert.False(outcome.ProfileIsNew);
        var offer = Offers(outcome).GetProperty("offer_for_high_loyalty");
        Assert.Equal("high", offer.GetProperty("attributes").GetProperty("status").GetString());
        Assert.Equal("""[{"id":"1588214"}]""", offer.GetProperty("batch_segments").GetRawText());
    }

    [Fact]
    public void A_purchase_is_not_a_pageview_so_the_section_does_not_match()
    {
        _engine.Import("shoppers", [new("td_client_id", "c1")], new Dictionary<string, Value> { ["loyalty"] = Value.FromString("high") });
        var outcome = _engine.Personalize("web", "demo_db", "purchases",
            EventData.From(("td_client_id", Value.FromString("c1")), ("amount", Value.FromNumber(30)), ("product_category", Value.FromString("women"))), explain: true);
        Assert.Equal("""{"offers":{}}""", outcome.OffersJson);
        Assert.StartsWith("event: this event is not a `pageview` key event (it matched purchase)", outcome.Explanation![0].FailedCondition);
        var profile = _engine.Find("shoppers", new("td_client_id", "c1"))!;
        Assert.Equal(Value.FromNumber(30), TestConfigs.Example.Audiences["shoppers"].ReadAttribute(profile, "spent", 0));
    }

    [Fact]
    public void Engaged_wears_off_when_the_views_leave_the_seven_day_window()
    {
        for (var i = 0; i < 3; i++) _engine.Personalize("web", "demo_db", "pageviews", Pageview("c1", category: "women"));
        var audience = TestConfigs.Example.Audiences["shoppers"];
        Assert.True(audience.InSegment(_engine.Find("shoppers", new("td_client_id", "c1"))!, "engaged"));

        _time.Advance(TimeSpan.FromDays(8));
        var later = _engine.Personalize("web", "demo_db", "pageviews", Pageview("c1", category: "women"), explain: true);
        Assert.Equal("""{"offers":{}}""", later.OffersJson);
        Assert.False(audience.InSegment(_engine.Find("shoppers", new("td_client_id", "c1"))!, "engaged"));
        Assert.Equal("profile: neither loyalty == \"high\" (loyalty = <missing>) nor in_segment(\"engaged\")",
            later.Explanation![0].FailedCondition);
    }
}

/// <summary>Every configuration shipped in samples/ stays valid.</summary>
public sealed class SampleConfigTests
{
    public static TheoryData<string> Samples() => [.. Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "samples"), "*.yaml").Select(f => Path.GetFileName(f))];

    [Theory]
    [MemberData(nameof(Samples))]
    public void The_sample_configuration_is_valid(string file)
    {
        var result = Tailor.Core.Configuration.ConfigLoader.LoadFile(Path.Combine(AppContext.BaseDirectory, "samples", file));
        Assert.True(result.Succeeded, string.Join("\n", result.Errors));
    }
}
