using Tailor.Core.Criteria;

namespace Tailor.Core.Tests;

/// <summary>The parser and the type checker name the position and what was expected.</summary>
public sealed class RuleErrorTests
{
    private readonly RuleHarness _h = new();

    private void AssertError(string rule, int offset, string messagePart, RuleContext context = RuleContext.Profile)
    {
        var errors = _h.Errors(rule, context);
        Assert.Contains(errors, e => e.Offset == offset && e.Message.Contains(messagePart, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("views.7d >= ", 12, "expected a value, a name or `(`, found the end of the rule")]
    [InlineData("views.7d = 3", 9, "expected `==`")]
    [InlineData("(views.7d > 1", 13, "expected `)`, found the end of the rule")]
    [InlineData("last == \"abc", 8, "unterminated string")]
    [InlineData("views.7d > 1 views.1d > 2", 13, "unexpected name `views.1d`; expected `and`, `or` or the end of the rule")]
    [InlineData("last within 7x", 12, "`7x` is neither a number nor a duration")]
    [InlineData("last is nul", 8, "expected `null` or `not null` after `is`, found name `nul`")]
    [InlineData("tags not contains \"a\"", 9, "expected `in` after `not`")]
    [InlineData("last in [\"a\", last]", 14, "list items must be literal values")]
    [InlineData("", 0, "the rule is empty")]
    [InlineData("last == \"a\" & tier == 1", 12, "unexpected character `&`")]
    public void Syntax_errors_name_their_position(string rule, int offset, string message) => AssertError(rule, offset, message);

    [Theory]
    [InlineData("veiws > 1", 0, "unknown attribute `veiws` (did you mean `views`?)")]
    [InlineData("views.2d > 1", 6, "counter `views` has no window `2d`; its windows are views.7d, views.1h, views.1d")]
    [InlineData("last.1d > 1", 4, "`last` is not a counter")]
    [InlineData("views.7d > \"3\"", 9, "cannot compare `views.7d` (a number) with text \"3\"")]
    [InlineData("in_segmnt(\"active\")", 0, "unknown function `in_segmnt` (did you mean `in_segment`?)")]
    [InlineData("in_segment(\"activ\")", 11, "unknown segment `activ` (did you mean `active`?)")]
    [InlineData("in_batch_segment(\"43\")", 17, "unknown batch segment id `43` (did you mean `42`?)")]
    [InlineData("tags", 0, "expected a condition, but `tags` is a list of values")]
    [InlineData("views.1d", 0, "expected a condition, but `views.1d` is a number (did you mean `views.1d > 0`?)")]
    [InlineData("views.7d == null", 12, "use `is null` or `is not null`")]
    [InlineData("last matches \"(\"", 13, "invalid regular expression")]
    [InlineData("views.7d starts_with \"1\"", 0, "`starts_with` works on text, but `views.7d` is `views.7d` (a number)")]
    [InlineData("spent in [\"a\", 2]", 10, "`\"a\"` can never equal `spent` (a number)")]
    [InlineData("size(views.7d) > 1", 5, "`size` takes a list attribute or text")]
    [InlineData("tags < views.7d and views.7d > tags", 31, "a list attribute can only be on the left")]
    [InlineData("(views.7d within 1d) == true and [1] == 1", 33, "a literal list can only follow `in`")]
    public void Type_errors_name_their_position(string rule, int offset, string message) => AssertError(rule, offset, message);

    [Fact]
    public void Functions_that_read_the_profile_are_rejected_in_event_filters() =>
        AssertError("in_segment(\"active\")", 0, "event filters see only the event's fields", RuleContext.EventFilter);

    [Fact]
    public void Every_type_error_of_a_rule_is_reported_not_only_the_first()
    {
        var errors = _h.Errors("veiws > 1 and views.2d > 1 or last.1d == \"x\"");
        Assert.Equal([0, 20, 34], errors.Select(e => e.Offset));
    }
}
