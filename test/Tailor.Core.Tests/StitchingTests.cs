using Microsoft.Extensions.Time.Testing;
using Tailor.Core.Evaluation;
using Tailor.Core.Events;
using Tailor.Core.Identity;
using Tailor.Core.Profiles;

namespace Tailor.Core.Tests;

/// <summary>ID stitching: identifiers of an event, new / attach / merge into the oldest, merge of state.</summary>
public sealed class StitchingTests
{
    private const string Config = """
        databases: [db1]
        audiences:
          - name: people
            stitching_keys:
              - { name: td_client_id }
              - { name: email, valid_regex: '^[^@\s]+@[^@\s]+$', invalid_values: [unknown, "null"] }
              - { name: user_id }
            event_tables: [db1.events]
            key_events: [ { name: view, table: db1.events } ]
            attributes:
              - { name: last, type: single, event: view, field: product }
              - { name: seen, type: list, event: view, field: product, max_items: 4, distinct: true }
              - { name: views, type: counter, event: view, window: 7d }
              - { name: tier, type: imported }
            segments:
              - { name: viewer, rule: 'views.7d >= 1' }
            batch_segments: [ { id: "7" }, { id: "8" } ]
        services:
          - name: web
            audience: people
            personalizations: []
        """;

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly LocalPersonalizer _engine;
    private readonly CompiledAudience _audience;

    public StitchingTests()
    {
        var config = TestConfigs.Load(Config);
        _engine = new LocalPersonalizer(config, _time);
        _audience = config.Audiences["people"];
    }

    private PersonalizeOutcome Send(params (string Name, string Value)[] fields) =>
        _engine.Personalize("web", "db1", "events", EventData.From([.. fields.Select(f => (f.Name, Value.FromString(f.Value)))]));

    private long Now => _time.GetUtcNow().ToUnixTimeMilliseconds();

    [Fact]
    public void Identifiers_are_the_valid_stitching_keys_in_priority_order()
    {
        var data = EventData.From(("user_id", Value.FromString(" u1 ")), ("email", Value.FromString("unknown")), ("td_client_id", Value.FromString("c1")), ("x", Value.FromString("y")));
        Assert.True(_audience.TryGetIdentifiers(data, out var ids, out _));
        Assert.Equal([new Identifier("td_client_id", "c1"), new Identifier("user_id", "u1")], ids);
    }

    [Fact]
    public void An_array_to_reuse_is_filled_when_it_has_the_identifiers_size_and_left_alone_otherwise()
    {
        var data = EventData.From(("user_id", Value.FromString("u1")), ("td_client_id", Value.FromString("c1")));
        var pair = new Identifier[2];
        Assert.True(_audience.TryGetIdentifiers(data, static (key, value) => new Identifier(key, value), out var filled, out _, reuse: pair));
        Assert.Same(pair, filled);
        Assert.Equal([new Identifier("td_client_id", "c1"), new Identifier("user_id", "u1")], filled);

        var single = new Identifier[1];
        Assert.True(_audience.TryGetIdentifiers(data, static (key, value) => new Identifier(key, value), out var made, out _, reuse: single));
        Assert.NotSame(single, made);
        Assert.Equal(filled, made);
        Assert.Equal(default, single[0]);
    }

    [Theory]
    [InlineData("email", "not-an-email")]
    [InlineData("email", "null")]
    [InlineData("user_id", "  ")]
    public void Invalid_values_and_regex_misses_are_not_identifiers(string key, string value)
    {
        Assert.False(_audience.TryGetIdentifiers(EventData.From((key, Value.FromString(value))), out _, out var error));
        Assert.StartsWith("no identifier: the event needs a valid non-empty string in one of td_client_id, email, user_id", error);
    }

    [Fact]
    public void An_identifier_that_is_not_a_string_is_an_error()
    {
        Assert.False(_audience.TryGetIdentifiers(EventData.From(("user_id", Value.FromNumber(5))), out _, out var error));
        Assert.Equal("identifier `user_id` must be a string", error);
    }

    [Fact]
    public void Unknown_identifiers_make_a_new_profile_with_a_uuid_v7_of_the_current_time()
    {
        var outcome = Send(("td_client_id", "c1"));
        Assert.True(outcome.ProfileIsNew);
        Assert.IsType<StitchPlan.NewProfile>(outcome.Plan);
        Assert.Equal(7, outcome.ProfileId.Version);
        Assert.Equal(Now, IdentityStitcher.CreatedMs(outcome.ProfileId));
    }

    [Fact]
    public void Known_identifiers_attach_new_ones_to_their_profile()
    {
        var first = Send(("td_client_id", "c1"));
        var second = Send(("td_client_id", "c1"), ("email", "a@x.io"));
        var plan = Assert.IsType<StitchPlan.Existing>(second.Plan);
        Assert.Equal(first.ProfileId, second.ProfileId);
        Assert.Equal([new Identifier("email", "a@x.io")], plan.Added);
        Assert.Equal(first.ProfileId, Send(("email", "a@x.io")).ProfileId);
    }

    [Fact]
    public void An_event_linking_two_profiles_merges_them_into_the_oldest()
    {
        var older = Send(("td_client_id", "c1"), ("product", "boots"));
        _time.Advance(TimeSpan.FromMinutes(5));
        var newer = Send(("email", "a@x.io"), ("product", "hat"));
        _time.Advance(TimeSpan.FromMinutes(5));
        var linking = Send(("email", "a@x.io"), ("td_client_id", "c1"), ("product", "scarf"));

        var plan = Assert.IsType<StitchPlan.Merge>(linking.Plan);
        Assert.Equal(older.ProfileId, plan.Target);
        Assert.Equal([newer.ProfileId], plan.Sources);
        var merged = _engine.Get(newer.ProfileId)!;
        Assert.Equal(older.ProfileId, merged.Id);
        Assert.Equal(older.ProfileId, _engine.Find("people", new("email", "a@x.io"))!.Id);
        Assert.Equal(1, _engine.ProfileCount);
        // counters summed (1 + 1, then this event's view), lists by recency, single by latest update
        Assert.Equal(3, _audience.ReadAttribute(merged, "views", Now).Number);
        Assert.Equal(["scarf", "hat", "boots"], _audience.ReadList(merged, "seen", Now).Select(v => v.String));
        Assert.Equal("scarf", _audience.ReadAttribute(merged, "last", Now).String);
    }

    [Fact]
    public void A_merge_takes_singles_by_latest_update_and_unions_segments()
    {
        var target = _audience.NewProfile(Guid.CreateVersion7(_time.GetUtcNow()), Now);
        _audience.ApplyEvent(target, "db1.events", EventData.From(("product", Value.FromString("old"))), Now);
        target.SetBatchSegments(["7"]);
        _time.Advance(TimeSpan.FromDays(8));
        var source = _audience.NewProfile(Guid.CreateVersion7(_time.GetUtcNow()), Now);
        _audience.Import(source, "tier", Value.FromString("gold"), Now);
        _audience.ApplyEvent(source, "db1.events", EventData.From(("product", Value.FromString("new"))), Now);
        source.SetBatchSegments(["8"]);
        target.AddIdentifiers([new("user_id", "t")], Now);
        source.AddIdentifiers([new("user_id", "s")], Now);

        ProfileMerger.Merge(_audience, target, [source]);

        Assert.Equal("new", _audience.ReadAttribute(target, "last", Now).String);
        Assert.Equal("gold", _audience.ReadAttribute(target, "tier", Now).String);
        Assert.Equal(["7", "8"], target.BatchSegments);
        Assert.True(_audience.InSegment(target, "viewer"));
        Assert.Equal([new Identifier("user_id", "t"), new Identifier("user_id", "s")], target.Identifiers.Select(i => i.Identifier));
        Assert.Equal(2, target.EventCount);
    }

    [Fact]
    public void Three_profiles_merge_into_the_oldest_in_one_event()
    {
        var a = Send(("user_id", "a"));
        _time.Advance(TimeSpan.FromSeconds(1));
        var b = Send(("email", "b@x.io"));
        _time.Advance(TimeSpan.FromSeconds(1));
        var c = Send(("td_client_id", "c"));
        var merged = Send(("td_client_id", "c"), ("email", "b@x.io"), ("user_id", "a"));
        var plan = Assert.IsType<StitchPlan.Merge>(merged.Plan);
        Assert.Equal(a.ProfileId, plan.Target);
        Assert.Equal([b.ProfileId, c.ProfileId], plan.Sources);
        Assert.Equal(4, _audience.ReadAttribute(_engine.Get(a.ProfileId)!, "views", Now).Number);
    }

    [Fact]
    public void The_decision_alone_is_a_new_profile_the_one_known_or_the_oldest_with_the_others_merging_into_it()
    {
        var oldest = Guid.CreateVersion7(_time.GetUtcNow());
        var middle = Guid.CreateVersion7(_time.GetUtcNow().AddSeconds(1));
        var newest = Guid.CreateVersion7(_time.GetUtcNow().AddSeconds(2));
        var made = Guid.CreateVersion7(_time.GetUtcNow().AddSeconds(3));
        Guid Make() => made;

        Assert.Equal(new StitchDecision(made, IsNew: true, MergeSources: null), IdentityStitcher.Decide([null, null], Make));
        Assert.Equal(new StitchDecision(middle, IsNew: false, MergeSources: null), IdentityStitcher.Decide([null, middle, middle], Make));
        var merge = IdentityStitcher.Decide([newest, null, oldest, middle, newest], Make);
        Assert.Equal((oldest, false), (merge.Profile, merge.IsNew));
        Assert.Equal([middle, newest], merge.MergeSources);
        Assert.Throws<ArgumentOutOfRangeException>(() => IdentityStitcher.Decide([], Make));
    }

    [Fact]
    public void A_profile_keeps_at_most_200_identifiers_and_forgets_the_oldest()
    {
        // Each event brings one new identifier and the previous event's one, alternating keys.
        static string Key(int i) => i % 2 == 0 ? "user_id" : "td_client_id";
        var first = Send((Key(0), "k0"));
        for (var i = 1; i <= 205; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            Assert.Equal(first.ProfileId, Send((Key(i), $"k{i}"), (Key(i - 1), $"k{i - 1}")).ProfileId);
        }
        var profile = _engine.Get(first.ProfileId)!;
        Assert.Equal(ProfileState.MaxIdentifiers, profile.Identifiers.Count);
        // 206 identifiers were seen: the six oldest (k0..k5) are evicted from the profile and the index.
        Assert.Null(_engine.Find("people", new(Key(0), "k0")));
        Assert.Null(_engine.Find("people", new(Key(5), "k5")));
        Assert.Equal(first.ProfileId, _engine.Find("people", new(Key(6), "k6"))!.Id);
    }

    [Fact]
    public void The_oldest_profile_is_chosen_by_uuid_v7_time_and_ties_deterministically()
    {
        var early = Guid.CreateVersion7(DateTimeOffset.FromUnixTimeMilliseconds(1000));
        var late = Guid.CreateVersion7(DateTimeOffset.FromUnixTimeMilliseconds(2000));
        Assert.Equal(early, IdentityStitcher.Oldest([late, early]));
        var tieA = Guid.CreateVersion7(DateTimeOffset.FromUnixTimeMilliseconds(5000));
        var tieB = Guid.CreateVersion7(DateTimeOffset.FromUnixTimeMilliseconds(5000));
        Assert.Equal(IdentityStitcher.Oldest([tieA, tieB]), IdentityStitcher.Oldest([tieB, tieA]));
    }

    /// <summary>Property: merging is order-independent for counters and lists (same events, any split).</summary>
    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    public void Merging_split_histories_gives_the_same_counters_and_lists_as_one_history(int seed)
    {
        var random = new Random(seed);
        var whole = _audience.NewProfile(Guid.CreateVersion7(_time.GetUtcNow()), Now);
        var left = _audience.NewProfile(Guid.CreateVersion7(_time.GetUtcNow()), Now);
        var right = _audience.NewProfile(Guid.CreateVersion7(_time.GetUtcNow()), Now);
        for (var i = 0; i < 60; i++)
        {
            _time.Advance(TimeSpan.FromMinutes(random.Next(1, 240)));
            var data = EventData.From(("product", Value.FromString($"p{random.Next(6)}")));
            _audience.ApplyEvent(whole, "db1.events", data, Now);
            _audience.ApplyEvent(random.Next(2) == 0 ? left : right, "db1.events", data, Now);
        }
        ProfileMerger.Merge(_audience, left, [right]);
        Assert.Equal(_audience.ReadAttribute(whole, "views", Now), _audience.ReadAttribute(left, "views", Now));
        Assert.Equal(_audience.ReadList(whole, "seen", Now), _audience.ReadList(left, "seen", Now));
        Assert.Equal(_audience.ReadAttribute(whole, "last", Now), _audience.ReadAttribute(left, "last", Now));
    }
}
