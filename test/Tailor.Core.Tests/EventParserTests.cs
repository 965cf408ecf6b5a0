using System.Text;
using Tailor.Core.Events;

namespace Tailor.Core.Tests;

/// <summary>Event bodies: what is accepted, and the reason given for what is not.</summary>
public sealed class EventParserTests
{
    private static (EventData? Data, string? Error) Parse(string json) =>
        EventParser.TryParse(Encoding.UTF8.GetBytes(json), out var data, out var error) ? (data, null) : (null, error);

    [Fact]
    public void Top_level_fields_are_read_and_nested_values_kept_as_raw_json()
    {
        var (data, error) = Parse("""{"td_client_id":"c1","n":12.5,"ok":true,"none":null,"tags":["a",{"b":1}],"o":{"x":[1,2]}}""");
        Assert.Null(error);
        Assert.Equal(Value.FromString("c1"), data!["td_client_id"]);
        Assert.Equal(Value.FromNumber(12.5), data["n"]);
        Assert.Equal(Value.True, data["ok"]);
        Assert.Equal(Value.Null, data["none"]);
        Assert.Equal(Value.FromJson("""["a",{"b":1}]"""), data["tags"]);
        Assert.Equal(Value.FromJson("""{"x":[1,2]}"""), data["o"]);
        Assert.Equal(Value.Missing, data["absent"]);
    }

    [Theory]
    [InlineData("", "the body is empty; expected a JSON object")]
    [InlineData("[1]", "the body must be a JSON object, found an array")]
    [InlineData("\"x\"", "the body must be a JSON object, found a string")]
    [InlineData("{\"a\":1", "invalid JSON at byte")]
    [InlineData("{\"a\":1}{}", "unexpected content after the JSON object")]
    [InlineData("{\"a\":1,\"a\":2}", "field `a` appears twice")]
    [InlineData("{\"a\":1,\"\\u0061\":2}", "field `a` appears twice")]
    [InlineData("{\"a\":1e400}", "field `a` holds a number out of range")]
    [InlineData("{a:1}", "invalid JSON at byte")]
    public void Bad_bodies_are_rejected_with_a_reason(string json, string reason) =>
        Assert.StartsWith(reason, Parse(json).Error, StringComparison.Ordinal);

    [Fact]
    public void Nesting_deeper_than_32_levels_is_rejected()
    {
        var ok = "{\"a\":" + new string('[', 31) + new string(']', 31) + "}";
        Assert.Null(Parse(ok).Error);
        var deep = "{\"a\":" + new string('[', 32) + new string(']', 32) + "}";
        Assert.Equal("the object is nested deeper than 32 levels", Parse(deep).Error);
    }

    [Fact]
    public void Invalid_utf8_is_rejected()
    {
        byte[] bytes = [.. "{\"a\":\""u8, 0xC3, 0x28, .. "\"}"u8];
        Assert.False(EventParser.TryParse(bytes, out _, out var error));
        Assert.NotNull(error);
        // In a field name too, also once the same name's valid prefix has been seen.
        Assert.Null(Parse("{\"ab\":1}").Error);
        byte[] name = [.. "{\"a"u8, 0xC3, 0x28, .. "\":1}"u8];
        Assert.False(EventParser.TryParse(name, out _, out error));
        Assert.StartsWith("invalid text in JSON", error, StringComparison.Ordinal);
    }

    [Fact]
    public void String_values_read_as_sent_whether_shared_or_not()
    {
        string[] values = ["/retail/shoes", "caf\\u00e9", "é" + new string('x', 254), new string('y', 255) + "é", new string('z', 300), ""];
        for (var round = 0; round < 2; round++)
        {
            var (data, error) = Parse("{" + string.Join(",", values.Select((v, i) => $"\"v{i}\":\"{v}\"")) + "}");
            Assert.Null(error);
            Assert.Equal(values.Select(v => v.Replace("\\u00e9", "é")), values.Select((_, i) => data!["v" + i].String));
        }
    }

    [Fact]
    public void An_event_parsed_into_a_pooled_array_reads_the_same_and_is_empty_once_released()
    {
        const string json = """{"a":"x","b":2,"c":true,"d":[1,2]}""";
        var (expected, _) = Parse(json);
        for (var round = 0; round < 3; round++)
        {
            Assert.True(EventParser.TryParse(Encoding.UTF8.GetBytes(json), out var data, out _, rented: true));
            // Room for the two fields the server adds, then past it (the array outgrows the pooled one).
            data!.SetField("time", Value.FromNumber(1));
            data.SetField("uuid", Value.FromString("u"));
            for (var extra = 0; extra < round * 20; extra++) data.SetField($"e{extra}", Value.FromNumber(extra));
            Assert.Equal([.. Fields(expected!), ("time", Value.FromNumber(1)), ("uuid", Value.FromString("u"))], Fields(data).Take(expected!.Count + 2));
            data.Release();
            Assert.Equal(0, data.Count);
            Assert.Equal(Value.Missing, data["a"]);
        }
    }

    private static List<(string Name, Value Value)> Fields(EventData data)
    {
        var fields = new List<(string Name, Value Value)>();
        foreach (var field in data) fields.Add(field);
        return fields;
    }

    [Theory]
    [InlineData(3)]
    [InlineData(24)]
    [InlineData(25)]
    [InlineData(3000)]
    public void Events_of_any_width_keep_their_fields_in_order_and_refuse_a_repeated_name(int width)
    {
        var fields = Enumerable.Range(0, width).Select(i => $"\"f{i}\":{i}");
        var (data, error) = Parse("{" + string.Join(",", fields) + "}");
        Assert.Null(error);
        Assert.Equal(width, data!.Count);
        for (var i = 0; i < width; i++) Assert.Equal(Value.FromNumber(i), data[$"f{i}"]);
        var names = new List<string>();
        foreach (var (name, _) in data) names.Add(name);
        Assert.Equal(Enumerable.Range(0, width).Select(i => $"f{i}"), names);
        // The server's additions: a new field at the end, an existing one replaced in place.
        data.SetField("time", Value.FromNumber(1));
        data.SetField("f0", Value.FromString("x"));
        Assert.Equal(Value.FromNumber(1), data["time"]);
        Assert.Equal(Value.FromString("x"), data["f0"]);
        Assert.Equal(width + 1, data.Count);

        Assert.Equal($"field `f{width - 1}` appears twice", Parse("{" + string.Join(",", fields) + $",\"f{width - 1}\":0}}").Error);
        // A rejected body leaves nothing behind for the next one parsed on this thread.
        Assert.Equal(1, Parse("{\"only\":1}").Data!.Count);
    }

    [Fact]
    public void An_event_built_in_code_refuses_a_repeated_name() =>
        Assert.Throws<ArgumentException>(() => EventData.From(("a", Value.True), ("a", Value.False)));

    [Fact]
    public void A_text_value_that_repeats_is_one_shared_string_and_a_long_one_is_not()
    {
        var title = "Trail running shoes";
        var longValue = new string('x', 257);
        var bodies = Enumerable.Range(0, 3).Select(i => Parse($$"""{"td_title":"{{title}}","n":"{{longValue}}","id":"visitor-{{i}}"}""").Data!).ToList();
        Assert.All(bodies, b => Assert.Equal(title, b["td_title"].Text));
        Assert.Same(bodies[0]["td_title"].Text, bodies[1]["td_title"].Text);
        Assert.Same(bodies[0]["td_title"].Text, bodies[2]["td_title"].Text);
        Assert.Equal(longValue, bodies[1]["n"].Text);
        Assert.NotSame(bodies[0]["n"].Text, bodies[1]["n"].Text);
        Assert.Equal(["visitor-0", "visitor-1", "visitor-2"], bodies.Select(b => b["id"].Text));
    }

    [Fact]
    public void A_value_beyond_ascii_is_shared_too_and_read_as_sent()
    {
        var title = "Laufschuhe für Damen – 42 €";
        var bodies = Enumerable.Range(0, 2).Select(_ => Parse($$"""{"td_title":"{{title}}","other":"Laufschuhe fur Damen – 42 €"}""").Data!).ToList();
        Assert.All(bodies, b => Assert.Equal(title, b["td_title"].Text));
        Assert.Same(bodies[0]["td_title"].Text, bodies[1]["td_title"].Text);
        Assert.Equal("Laufschuhe fur Damen – 42 €", bodies[1]["other"].Text);
    }

    [Fact]
    public void An_event_released_before_takes_the_next_parse_and_one_still_in_use_is_refused()
    {
        Assert.True(EventParser.TryParse("""{"a":"1","b":2}"""u8, out var first, out _, rented: true));
        first!.Release();
        Assert.True(EventParser.TryParse("""{"c":"3"}"""u8, out var second, out _, rented: true, into: first));
        Assert.Same(first, second);
        Assert.Equal((1, "3", Value.Missing), (second!.Count, second["c"].Text, second["a"]));
        Assert.Throws<InvalidOperationException>(() => EventParser.TryParse("""{"d":4}"""u8, out _, out _, rented: true, into: second));
    }
}
