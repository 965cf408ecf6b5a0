using System.Buffers;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Tailor.Core;
using Tailor.Core.Configuration;
using Tailor.Core.Criteria;
using Tailor.Core.Evaluation;
using Tailor.Core.Events;
using Tailor.Core.Profiles;

namespace Tailor.Benchmarks;

/// <summary>
/// The engine's hot path, without HTTP, storage or Orleans: what one personalization call costs the
/// reactor. Targets (issue 2): one section rule ≤ 200 ns with 0 B allocated; apply-event + evaluate a
/// 10-section service ≤ 5 µs.
/// </summary>
[MemoryDiagnoser]
public class EngineBenchmarks
{
    private CompiledAudience _audience = null!;
    private CompiledService _service = null!;
    private ProfileState _profile = null!;
    private EventData _event = null!;
    private EventData _identified = null!;
    private CompiledRule _typicalRule = null!;
    private CompiledRule _listRule = null!;
    private ArrayBufferWriter<byte> _buffer = null!;
    private byte[] _snapshot = null!;
    private ProfileState _reused = null!;
    private Utf8JsonWriter _writer = null!;
    private long _now;

    [GlobalSetup]
    public void Setup()
    {
        var config = ConfigLoader.LoadOrThrow(BenchmarkConfig.Yaml, "bench.yaml");
        _audience = config.Audiences["customers"];
        _service = config.Services["web"];
        _now = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        _profile = _audience.NewProfile(Guid.CreateVersion7(), _now);
        _audience.Import(_profile, "i0", Value.FromString("silver"), _now);
        _audience.Import(_profile, "i1", Value.FromNumber(42), _now);
        _audience.Import(_profile, "i2", Value.FromString("x"), _now);
        _profile.SetBatchSegments(["100"]);
        // Warm the profile: every attribute set, lists and counters populated.
        for (var i = 0; i < 40; i++)
        {
            _now += 60_000;
            _audience.ApplyEvent(_profile, "shop.pageviews", Event(i), _now);
        }
        _audience.ApplyEvent(_profile, "shop.orders", EventData.From(("td_client_id", Value.FromString("c1")), ("amount", Value.FromNumber(20))), _now);
        _event = Event(7);
        _identified = EventData.From(("td_client_id", Value.FromString("42a508e2-d9b1-4baa-9eb2-6c3fb8bd5e16")),
            ("email", Value.FromString("customer42@example.com")), ("td_path", Value.FromString("/p/shoes/running")));
        _typicalRule = _audience.CompileRule("i0 == \"gold\" or in_segment(\"engaged\")", RuleContext.Profile, out _)!;
        _listRule = _audience.CompileRule("c0.7d >= 3 and s1 in [\"a\", \"b\", \"v1\"] and l0 contains \"p3\"", RuleContext.Profile, out _)!;
        _snapshot = ProfileSnapshot.Write(_profile);
        _reused = ProfileSnapshot.Read(_snapshot, _audience.Layout);
        _buffer = new ArrayBufferWriter<byte>(4096);
        _writer = new Utf8JsonWriter(_buffer);
    }

    /// <summary>A ~300-byte pageview with the fields the attributes read.</summary>
    private static EventData Event(int i) => EventData.From(
        ("td_client_id", Value.FromString("42a508e2-d9b1-4baa-9eb2-6c3fb8bd5e16")),
        ("td_path", Value.FromString("/p/shoes/running")),
        ("td_url", Value.FromString("https://shop.example.com/p/shoes/running?utm_source=mail")),
        ("f0", Value.FromString($"p{i % 6}")), ("f1", Value.FromString($"v{i % 3}")), ("f2", Value.FromString($"v{i % 4}")),
        ("f3", Value.FromString("v3")), ("f4", Value.FromString($"v{i % 2}")),
        ("td_user_agent", Value.FromString("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36")));

    [Benchmark(Description = "one section rule: a == \"x\" or in_segment(..)")]
    public bool SectionRule() => _audience.Evaluate(_typicalRule, _profile, _event, _now);

    [Benchmark(Description = "one section rule: counter, in [..], list contains")]
    public bool SectionRuleThreeConditions() => _audience.Evaluate(_listRule, _profile, _event, _now);

    [Benchmark(Description = "an event's identifiers: a client id, an email matched by its regex")]
    public int Identifiers() =>
        _audience.TryGetIdentifiers(_identified, static (key, value) => new Identifier(key, value), out Identifier[] found, out _) ? found.Length : 0;

    [Benchmark(Description = "apply one event (20 attributes, 4 segments)")]
    public ApplyResult ApplyEvent()
    {
        _now += 1_000;
        return _audience.ApplyEvent(_profile, "shop.pageviews", _event, _now);
    }

    [Benchmark(Description = "read a profile's snapshot (20 attributes) into a reused state")]
    public ProfileState ReadSnapshot() => ProfileSnapshot.Read(_snapshot, _audience.Layout, _reused);

    [Benchmark(Description = "write a profile's snapshot (20 attributes) into a rented array")]
    public int WriteSnapshot()
    {
        var rented = ProfileSnapshot.WriteRented(_profile);
        RentedBytes.Return(rented);
        return rented.Count;
    }

    [Benchmark(Description = "apply one event + offers of a 10-section service")]
    public int ApplyAndEvaluate()
    {
        _now += 1_000;
        var applied = _audience.ApplyEvent(_profile, "shop.pageviews", _event, _now);
        _buffer.ResetWrittenCount();
        _writer.Reset(_buffer);
        var summary = _service.WriteOffers(_writer, _profile, _event, applied, isPublic: false, profileIsNew: false, _now);
        _writer.Flush();
        return summary.SectionsMatched;
    }
}

/// <summary>Applying a configuration: parse, bind, validate, compile a ~200-line document.</summary>
[MemoryDiagnoser]
public class ConfigBenchmarks
{
    [GlobalSetup]
    public void Setup()
    {
        var lines = BenchmarkConfig.LargeYaml.Split('\n').Length;
        if (lines < 180) throw new InvalidOperationException($"the large configuration has {lines} lines");
    }

    [Benchmark(Description = "parse + compile a 200-line config")]
    public CompiledConfig ParseAndCompile() => ConfigLoader.LoadOrThrow(BenchmarkConfig.LargeYaml, "bench.yaml");
}
