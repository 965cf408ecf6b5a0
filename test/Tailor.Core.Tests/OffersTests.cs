using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Tailor.Core.Evaluation;
using Tailor.Core.Events;

namespace Tailor.Core.Tests;

/// <summary>The offers answer: order, payloads, sensitive attributes, unknown profiles, the size cap.</summary>
public sealed class OffersTests
{
    private static string Config(string sections) => $$"""
        databases: [db1]
        audiences:
          - name: people
            stitching_keys: [ { name: user_id } ]
            event_tables: [db1.events, db1.orders]
            key_events:
              - { name: view, table: db1.events }
              - { name: order, table: db1.orders }
            attributes:
              - { name: last, type: single, event: view, field: product }
              - { name: email, type: single, event: view, field: email, sensitive: true }
              - { name: seen, type: list, event: view, field: product, max_items: 3 }
              - { name: views, type: counter, event: view, window: 7d, sub_windows: [1d] }
              - { name: note, type: single, event: view, field: note }
            batch_segments: [ { id: "10" }, { id: "20" }, { id: "30" } ]
        services:
          - name: web
            audience: people
            personalizations:
              - name: page
                sections:
        {{sections}}
        """;

    private const string ThreeSections = """
                  - name: zeta
                    criteria: { accept_unknown_profiles: true }
                    payload: { strings: [ { output: hello, value: "hi" } ] }
                  - name: alpha
                    criteria: { profile: 'views.7d >= 2', accept_unknown_profiles: true }
                    payload:
                      attributes: [ { attribute: last }, { attribute: email, output: mail }, { attribute: seen }, { attribute: views.1d, output: today } ]
                      batch_segments: ["30", "10", "20"]
                  - name: ordered
                    criteria: { event: order, accept_unknown_profiles: true }
        """;

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 5, 1, 0, 0, 0, TimeSpan.Zero));

    private LocalPersonalizer Engine(string sections) => new(TestConfigs.Load(Config(sections)), _time);

    private static EventData View(string product, string? note = null) => EventData.From(
        ("user_id", Value.FromString("u1")), ("product", Value.FromString(product)), ("email", Value.FromString("u1@example.com")),
        ("note", note is null ? Value.Missing : Value.FromString(note)));

    [Fact]
    public void Matching_sections_come_in_configuration_order_with_their_payloads()
    {
        var engine = Engine(ThreeSections);
        engine.Personalize("web", "db1", "events", View("boots"));
        engine.Import("people", [new("user_id", "u1")], new Dictionary<string, Value>(), ["20", "10"]);
        var outcome = engine.Personalize("web", "db1", "events", View("hat"));
        Assert.Equal("""{"offers":{"zeta":{"attributes":{"hello":"hi"}},"alpha":{"attributes":{"last":"hat","mail":"u1@example.com","seen":["hat","boots"],"today":2},"batch_segments":[{"id":"10"},{"id":"20"}]}}}""",
            outcome.OffersJson);
    }

    [Fact]
    public void Public_calls_never_get_sensitive_attributes()
    {
        var engine = Engine(ThreeSections);
        engine.Personalize("web", "db1", "events", View("boots"), isPublic: true);
        var outcome = engine.Personalize("web", "db1", "events", View("hat"), isPublic: true);
        var alpha = JsonDocument.Parse(outcome.OffersJson).RootElement.GetProperty("offers").GetProperty("alpha").GetProperty("attributes");
        Assert.False(alpha.TryGetProperty("mail", out _));
        Assert.Equal("hat", alpha.GetProperty("last").GetString());
    }

    [Fact]
    public void A_section_with_an_event_criterion_matches_only_that_key_event()
    {
        var engine = Engine(ThreeSections);
        Assert.DoesNotContain("ordered", engine.Personalize("web", "db1", "events", View("hat")).OffersJson, StringComparison.Ordinal);
        var order = engine.Personalize("web", "db1", "orders", EventData.From(("user_id", Value.FromString("u1"))));
        Assert.Equal("""{"offers":{"zeta":{"attributes":{"hello":"hi"}},"ordered":{}}}""", order.OffersJson);
    }

    [Fact]
    public void A_profile_created_by_the_event_matches_only_sections_that_accept_unknown_profiles()
    {
        var engine = Engine("""
                  - name: welcome_new
                    criteria: { accept_unknown_profiles: true }
                  - name: known_only
        """);
        var first = engine.Personalize("web", "db1", "events", View("a"), explain: true);
        Assert.Equal("""{"offers":{"welcome_new":{}}}""", first.OffersJson);
        Assert.Equal("accept_unknown_profiles: false, and this event created the profile", first.Explanation![1].FailedCondition);
        Assert.Equal("""{"offers":{"welcome_new":{},"known_only":{}}}""", engine.Personalize("web", "db1", "events", View("b")).OffersJson);
    }

    [Fact]
    public void Sections_that_would_make_the_answer_exceed_10_KiB_are_cut_and_reported()
    {
        var sections = string.Join("\n", Enumerable.Range(0, 5).Select(i => $$"""
                      - name: big{{i}}
                        criteria: { accept_unknown_profiles: true }
                        payload: { attributes: [ { attribute: note } ], strings: [ { output: s, value: "{{new string('x', 2800)}}" } ] }
            """));
        var config = TestConfigs.Load(Config(sections));
        var engine = new LocalPersonalizer(config, _time);
        var outcome = engine.Personalize("web", "db1", "events", View("a", note: new string('n', 400)));
        Assert.True(outcome.OffersJson.Length <= CompiledService.MaxResponseBytes, $"{outcome.OffersJson.Length} bytes");
        var offers = JsonDocument.Parse(outcome.OffersJson).RootElement.GetProperty("offers");
        Assert.Equal(["big0", "big1", "big2"], offers.EnumerateObject().Select(p => p.Name));

        var service = config.Services["web"];
        var state = engine.Find("people", new("user_id", "u1"))!;
        using var stream = new MemoryStream();
        using var writer = new Utf8JsonWriter(stream);
        var summary = service.WriteOffers(writer, state, View("a"), default, false, false, _time.GetUtcNow().ToUnixTimeMilliseconds());
        Assert.Equal(5, summary.SectionsMatched);
        Assert.Equal(["big3", "big4"], summary.SectionsCut);
    }

    [Fact]
    public void Explain_lists_every_section_with_its_outcome()
    {
        var engine = Engine(ThreeSections);
        var outcome = engine.Personalize("web", "db1", "events", View("boots"), explain: true);
        Assert.Equal(
            [
                new SectionExplanation("page", "zeta", true, null),
                new SectionExplanation("page", "alpha", false, "profile: views.7d >= 2 (views.7d = 1)"),
                new SectionExplanation("page", "ordered", false, "event: this event is not a `order` key event (it matched view)"),
            ],
            outcome.Explanation);
    }
}
