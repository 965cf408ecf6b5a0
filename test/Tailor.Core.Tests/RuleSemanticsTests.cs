using Tailor.Core.Criteria;

namespace Tailor.Core.Tests;

/// <summary>What each operator means, including missing attributes, nulls and lists on the left.</summary>
public sealed class RuleSemanticsTests
{
    private readonly RuleHarness _h = new();

    [Theory]
    [InlineData("last == \"x\"", false)]
    [InlineData("last != \"x\"", false)]
    [InlineData("last < \"x\"", false)]
    [InlineData("last in [\"x\"]", false)]
    [InlineData("last not in [\"x\"]", false)]
    [InlineData("last contains \"x\"", false)]
    [InlineData("last is null", true)]
    [InlineData("last is not null", false)]
    [InlineData("not (last == \"x\")", true)]
    [InlineData("tier == 1", false)]
    [InlineData("tags == \"x\"", false)]
    [InlineData("tags is null", true)]
    [InlineData("size(tags) == 0", true)]
    [InlineData("last within 30d", false)]
    [InlineData("views.7d == 0", true)]
    [InlineData("spent == 0", true)]
    public void A_comparison_with_a_missing_attribute_is_false_and_is_null_is_true(string rule, bool expected) =>
        Assert.Equal(expected, _h.Holds(rule));

    [Fact]
    public void A_null_in_an_event_does_not_set_a_single_attribute()
    {
        _h.Event(("product", "boots"));
        _h.Event(("product", null));
        Assert.True(_h.Holds("last == \"boots\""));
    }

    [Theory]
    [InlineData("tags == \"b\"", true)]
    [InlineData("tags == \"z\"", false)]
    [InlineData("tags != \"z\"", true)]
    [InlineData("tags != \"b\"", false)]
    [InlineData("tags contains \"c\"", true)]
    [InlineData("tags contains \"z\"", false)]
    [InlineData("tags in [\"q\", \"c\"]", true)]
    [InlineData("tags not in [\"a\", \"b\", \"c\"]", false)]
    [InlineData("tags not in [\"q\"]", true)]
    [InlineData("tags starts_with \"c\"", true)]
    [InlineData("tags ends_with \"x\"", false)]
    [InlineData("tags matches \"^[ab]$\"", true)]
    [InlineData("tags > \"b\"", true)]
    [InlineData("size(tags) == 3", true)]
    [InlineData("tags is not null", true)]
    public void A_list_on_the_left_matches_when_any_element_matches(string rule, bool expected)
    {
        foreach (var tag in new[] { "a", "b", "c" }) _h.Event(("tag", tag));
        Assert.Equal(expected, _h.Holds(rule));
    }

    [Theory]
    [InlineData("price >= 12.5", true)]
    [InlineData("price > 12.5", false)]
    [InlineData("price == 12.5", true)]
    [InlineData("price < 100 and price > 1", true)]
    [InlineData("price in [1, 12.5]", true)]
    [InlineData("last == \"boots\"", true)]
    [InlineData("last > \"apple\" and last < \"cat\"", true)]
    [InlineData("last contains \"oot\"", true)]
    [InlineData("last starts_with \"Boo\"", false)]
    [InlineData("last matches \"^b.*s$\"", true)]
    [InlineData("last within 1h", true)]
    [InlineData("size(last) == 5", true)]
    [InlineData("last == \"x\" or price > 12 and views.7d == 1", true)]
    [InlineData("(last == \"x\" or price > 12) and views.7d == 2", false)]
    [InlineData("not last == \"x\" and not (views.1h > 1)", true)]
    public void Scalars_compare_by_kind_with_numeric_strings_as_numbers(string rule, bool expected)
    {
        _h.Event(("product", "boots"), ("price", "12.5"));
        Assert.Equal(expected, _h.Holds(rule));
    }

    [Theory]
    [InlineData("amount > 10", true)]
    [InlineData("amount == 12", true)]
    [InlineData("type == \"buy\" and amount <= 12", true)]
    [InlineData("missing_field == 1", false)]
    [InlineData("missing_field is null", true)]
    [InlineData("flag", true)]
    [InlineData("not flag", false)]
    [InlineData("seen_at within 1h", true)]
    [InlineData("old_at within 1h", false)]
    public void Event_filters_read_the_event_fields(string rule, bool expected)
    {
        var now = _h.Time.GetUtcNow();
        var data = RuleHarness.Data(("amount", "12"), ("type", "buy"), ("flag", true),
            ("seen_at", now.AddMinutes(-5).ToUnixTimeSeconds()), ("old_at", now.AddHours(-2).ToString("O")));
        Assert.Equal(expected, _h.Holds(rule, data, RuleContext.EventFilter));
    }

    [Fact]
    public void Segments_and_batch_segments_are_functions_of_the_profile()
    {
        _h.State.SetBatchSegments(["42"]);
        Assert.True(_h.Holds("in_batch_segment(\"42\")"));
        Assert.False(_h.Holds("in_segment(\"active\")"));
        _h.Event();
        _h.Event();
        Assert.True(_h.Holds("in_segment(\"active\")"));
    }

    [Fact]
    public void A_segment_rule_may_use_an_earlier_segment_and_both_update_on_the_same_event()
    {
        _h.Event();
        _h.Audience.ApplyEvent(_h.State, "db1.events", RuleHarness.Data(("type", "buy"), ("amount", 150)), _h.NowMs);
        Assert.True(_h.Audience.InSegment(_h.State, "active"));
        Assert.True(_h.Audience.InSegment(_h.State, "big"));
    }

    [Fact]
    public void Explain_names_the_innermost_failing_condition_with_the_values_seen()
    {
        _h.Event(("product", "boots"), ("tag", "a"));
        Assert.Null(_h.Explain("last == \"boots\""));
        Assert.Equal("views.7d >= 3 (views.7d = 1)", _h.Explain("last == \"boots\" and views.7d >= 3"));
        Assert.Equal("tags contains \"z\" (tags = [\"a\"])", _h.Explain("tags contains \"z\""));
        Assert.Equal("neither price > 1 (price = <missing>) nor tier is not null (tier = <missing>)", _h.Explain("price > 1 or tier is not null"));
        Assert.Equal("none of last == \"a\" (last = \"boots\"); last == \"b\" (last = \"boots\"); last == \"c\" (last = \"boots\")",
            _h.Explain("last == \"a\" or last == \"b\" or last == \"c\""));
        Assert.Equal("not last == \"boots\"", _h.Explain("not last == \"boots\""));
        _h.Time.Advance(TimeSpan.FromDays(2));
        Assert.Equal("last within 1d (last last updated 2d ago)", _h.Explain("last within 1d"));
        Assert.Equal("tier within 1d (tier never updated)", _h.Explain("tier within 1d"));
    }
}
