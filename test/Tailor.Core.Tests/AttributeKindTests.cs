using Tailor.Core.Profiles;

namespace Tailor.Core.Tests;

/// <summary>Every attribute kind across its window and ttl boundaries, on virtual time.</summary>
public sealed class AttributeKindTests
{
    private readonly RuleHarness _h = new();

    [Fact]
    public void A_single_keeps_the_latest_value()
    {
        _h.Event(("product", "boots"));
        _h.Event(("product", "hat"));
        Assert.Equal(Value.FromString("hat"), _h.Read("last"));
    }

    [Fact]
    public void A_single_with_a_ttl_expires_exactly_at_the_ttl()
    {
        _h.Event(("city", "Oslo"));
        _h.Time.Advance(TimeSpan.FromHours(1) - TimeSpan.FromMilliseconds(1));
        Assert.Equal(Value.FromString("Oslo"), _h.Read("city"));
        _h.Time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(Value.Missing, _h.Read("city"));
        Assert.True(_h.Holds("city is null"));
        _h.Event(("city", "Rome"));
        Assert.Equal(Value.FromString("Rome"), _h.Read("city"));
    }

    [Fact]
    public void A_single_with_data_type_number_keeps_numbers_and_ignores_text()
    {
        _h.Event(("price", "19.90"));
        _h.Event(("price", "n/a"));
        Assert.Equal(Value.FromNumber(19.9), _h.Read("price"));
    }

    [Fact]
    public void Strings_over_500_bytes_are_truncated_without_splitting_a_character()
    {
        _h.Event(("product", new string('é', 300)));
        Assert.Equal(new string('é', 250), _h.Read("last").String);
    }

    [Fact]
    public void A_list_holds_the_newest_values_first_up_to_max_items()
    {
        foreach (var tag in new[] { "a", "b", "c", "d", "e", "f", "g" }) _h.Event(("tag", tag));
        Assert.Equal(["g", "f", "e", "d", "c"], _h.List("tags").Select(v => v.String));
    }

    [Fact]
    public void A_list_without_distinct_keeps_repeats()
    {
        foreach (var tag in new[] { "a", "b", "a" }) _h.Event(("tag", tag));
        Assert.Equal(["a", "b", "a"], _h.List("tags").Select(v => v.String));
    }

    [Fact]
    public void A_distinct_list_moves_a_repeated_value_to_the_front()
    {
        var h = new RuleHarness("- { name: seen, type: list, event: view, field: tag, max_items: 3, distinct: true }", "");
        foreach (var tag in new[] { "a", "b", "c", "a", "d" }) h.Event(("tag", tag));
        Assert.Equal(["d", "a", "c"], h.List("seen").Select(v => v.String));
    }

    [Fact]
    public void A_list_with_a_window_forgets_values_older_than_the_window()
    {
        var h = new RuleHarness("- { name: seen, type: list, event: view, field: tag, max_items: 10, window: 2d }", "");
        h.Event(("tag", "old"));
        h.Time.Advance(TimeSpan.FromDays(1));
        h.Event(("tag", "new"));
        h.Time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(["new", "old"], h.List("seen").Select(v => v.String)); // exactly 2d old: still inside
        h.Time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(["new"], h.List("seen").Select(v => v.String));
        Assert.True(h.Holds("size(seen) == 1 and seen == \"new\" and not (seen == \"old\")"));
    }

    [Fact]
    public void A_sliding_counter_counts_an_event_for_at_least_its_window_and_drops_it_within_one_bucket_after()
    {
        _h.Event();
        var window = TimeSpan.FromDays(7);
        var bucket = window / 24;
        _h.Time.Advance(window - TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, _h.Read("views.7d").Number);
        _h.Time.Advance(bucket + TimeSpan.FromMilliseconds(1));
        Assert.Equal(0, _h.Read("views.7d").Number);
    }

    [Fact]
    public void Sub_windows_count_independently()
    {
        _h.Event();
        _h.Time.Advance(TimeSpan.FromHours(2));
        _h.Event();
        _h.Event();
        Assert.Equal(2, _h.Read("views.1h").Number);
        Assert.Equal(3, _h.Read("views.1d").Number);
        Assert.Equal(3, _h.Read("views.7d").Number);
        Assert.Equal(3, _h.Read("views").Number);
        _h.Time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromHours(1) / 24);
        Assert.Equal(0, _h.Read("views.1h").Number);
        Assert.Equal(3, _h.Read("views.1d").Number);
        _h.Time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(0, _h.Read("views.1d").Number);
        Assert.Equal(3, _h.Read("views.7d").Number);
    }

    [Fact]
    public void A_counter_with_increment_field_sums_it_and_ignores_events_without_a_number()
    {
        var h = new RuleHarness("- { name: revenue, type: counter, event: view, increment_field: amount, window: 1d }", "");
        h.Event(("amount", 10));
        h.Event(("amount", "2.5"));
        h.Event(("amount", "free"));
        h.Event();
        Assert.Equal(12.5, h.Read("revenue").Number);
    }

    [Fact]
    public void A_total_counter_adds_events_to_the_imported_base_for_all_time()
    {
        Assert.True(_h.Audience.Import(_h.State, "spent", Value.FromNumber(1000), _h.NowMs));
        _h.Audience.ApplyEvent(_h.State, "db1.events", RuleHarness.Data(("type", "buy"), ("amount", 50)), _h.NowMs);
        _h.Time.Advance(TimeSpan.FromDays(400));
        _h.Audience.ApplyEvent(_h.State, "db1.events", RuleHarness.Data(("type", "buy"), ("amount", 25)), _h.NowMs);
        Assert.Equal(1075, _h.Read("spent").Number);
    }

    [Fact]
    public void Only_events_matching_the_key_event_filter_update_its_attributes()
    {
        _h.Audience.ApplyEvent(_h.State, "db1.events", RuleHarness.Data(("type", "view"), ("amount", 50)), _h.NowMs);
        Assert.Equal(0, _h.Read("spent").Number);
        var result = _h.Audience.ApplyEvent(_h.State, "db1.events", RuleHarness.Data(("type", "buy"), ("amount", 50)), _h.NowMs);
        Assert.True(result.Matched(1));
        Assert.Equal(50, _h.Read("spent").Number);
    }

    [Fact]
    public void Events_of_other_tables_are_not_key_events()
    {
        var result = _h.Audience.ApplyEvent(_h.State, "db1.other", RuleHarness.Data(("product", "boots")), _h.NowMs);
        Assert.Equal(0UL, result.MatchedKeyEvents);
        Assert.Equal(Value.Missing, _h.Read("last"));
    }

    [Fact]
    public void Imported_attributes_change_only_by_import()
    {
        _h.Event(("tier", "gold"));
        Assert.Equal(Value.Missing, _h.Read("tier"));
        Assert.True(_h.Audience.Import(_h.State, "tier", Value.FromString("gold"), _h.NowMs));
        Assert.False(_h.Audience.Import(_h.State, "last", Value.FromString("x"), _h.NowMs));
        Assert.Equal(Value.FromString("gold"), _h.Read("tier"));
    }

    [Fact]
    public void A_sliding_counter_keeps_bounded_memory_however_many_events_arrive()
    {
        for (var i = 0; i < 20_000; i++)
        {
            _h.Event();
            _h.Time.Advance(TimeSpan.FromMinutes(3));
        }
        var counter = (SlidingCounterState)_h.State.Attributes[_h.Audience.Layout.Find("views")!.Slot]!;
        Assert.InRange(counter.BucketCount, 1, 3 * (SlidingCounterState.BucketsPerWindow + 1));
    }

    /// <summary>Property: for random event times, the counter lies between the exact counts over W and W + W/24.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void A_sliding_counter_is_bounded_by_the_exact_counts_of_its_window_and_its_window_plus_one_bucket(int seed)
    {
        var random = new Random(seed);
        var h = new RuleHarness("- { name: hits, type: counter, event: view, window: 1h, sub_windows: [10m, 1d] }", "");
        var start = h.NowMs;
        var times = new List<long>();
        var windows = new Dictionary<string, long> { ["1h"] = 3_600_000, ["10m"] = 600_000, ["1d"] = 86_400_000 };
        for (var step = 0; step < 400; step++)
        {
            h.Time.Advance(TimeSpan.FromSeconds(random.Next(0, 600)));
            if (random.Next(3) > 0)
            {
                h.Event();
                times.Add(h.NowMs);
            }
            foreach (var (name, w) in windows)
            {
                var now = h.NowMs;
                var atLeast = times.Count(t => t > now - w);
                var atMost = times.Count(t => t > now - w - w / 24 - 1);
                Assert.InRange(h.Read($"hits.{name}").Number, atLeast, atMost);
            }
        }
        Assert.True(h.NowMs > start);
    }
}
