using Microsoft.Extensions.Time.Testing;
using Tailor.Core.Criteria;
using Tailor.Core.Evaluation;
using Tailor.Core.Events;
using Tailor.Core.Profiles;

namespace Tailor.Core.Tests;

/// <summary>A compiled audience with one profile, fed events on virtual time, for rule and attribute tests.</summary>
internal sealed class RuleHarness
{
    public const string Attributes = """
        - { name: last, type: single, event: view, field: product }
        - { name: price, type: single, event: view, field: price, data_type: number }
        - { name: tags, type: list, event: view, field: tag, max_items: 5 }
        - { name: views, type: counter, event: view, window: 7d, sub_windows: [1h, 1d] }
        - { name: spent, type: counter, event: buy, increment_field: amount, counter_type: total }
        - { name: tier, type: imported }
        - { name: city, type: single, event: view, field: city, ttl: 1h }
        - { name: secret, type: single, event: view, field: secret, sensitive: true }
        """;

    public const string Segments = """
        - { name: active, rule: 'views.1d >= 2' }
        - { name: big, rule: 'spent > 100 and in_segment("active")' }
        """;

    public RuleHarness(string? attributes = null, string? segments = null)
    {
        Config = TestConfigs.Load(TestConfigs.Audience(attributes ?? Attributes, segments ?? Segments));
        Audience = Config.Audiences["people"];
        State = Audience.NewProfile(Guid.CreateVersion7(Time.GetUtcNow()), NowMs);
    }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    public CompiledConfig Config { get; }
    public CompiledAudience Audience { get; }
    public ProfileState State { get; set; }
    public long NowMs => Time.GetUtcNow().ToUnixTimeMilliseconds();

    public ApplyResult Event(params (string Name, object? Value)[] fields) =>
        Audience.ApplyEvent(State, "db1.events", Data(fields), NowMs);

    public static EventData Data(params (string Name, object? Value)[] fields) =>
        EventData.From([.. fields.Prepend((Name: "user_id", Value: (object?)"u1")).Select(f => (f.Name, ToValue(f.Value)))]);

    public static Value ToValue(object? value) => value switch
    {
        null => Value.Null,
        string s => Value.FromString(s),
        bool b => Value.FromBool(b),
        int i => Value.FromNumber(i),
        double d => Value.FromNumber(d),
        long l => Value.FromNumber(l),
        Value v => v,
        _ => throw new ArgumentException($"unsupported {value.GetType()}"),
    };

    public bool Holds(string rule, EventData? data = null, RuleContext context = RuleContext.Profile)
    {
        var compiled = Audience.CompileRule(rule, context, out var errors);
        Assert.True(compiled is not null, $"`{rule}`: {string.Join("; ", errors)}");
        return Audience.Evaluate(compiled, State, data, NowMs);
    }

    public string? Explain(string rule)
    {
        var compiled = Audience.CompileRule(rule, RuleContext.Profile, out var errors);
        Assert.True(compiled is not null, string.Join("; ", errors));
        return Audience.Explain(compiled, State, null, NowMs);
    }

    public IReadOnlyList<RuleError> Errors(string rule, RuleContext context = RuleContext.Profile)
    {
        Assert.Null(Audience.CompileRule(rule, context, out var errors));
        return errors;
    }

    public Value Read(string attribute) => Audience.ReadAttribute(State, attribute, NowMs);

    public IReadOnlyList<Value> List(string attribute) => Audience.ReadList(State, attribute, NowMs);
}
