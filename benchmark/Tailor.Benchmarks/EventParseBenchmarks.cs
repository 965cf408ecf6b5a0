using System.Text;
using BenchmarkDotNet.Attributes;
using Tailor.Core.Events;

namespace Tailor.Benchmarks;

/// <summary>
/// Parsing a call's event body: the harness's ~300-byte pageview (benchmark/load/personalize.lua), whose
/// text values repeat across calls (path, url, title, user agent) but for the visitor's own ids, which
/// are new on every call.
/// </summary>
[MemoryDiagnoser]
public class EventParseBenchmarks
{
    private byte[][] _bodies = null!;
    private int _next;

    private const string Template = """
        {"td_client_id":"VISITOR","email":"EMAIL","td_path":"/retail/shoes/running",
        "td_url":"https://shop.example.com/retail/shoes/running?utm_source=mail","td_title":"Trail running shoes",
        "product_category":"CATEGORY","product_name":"PRODUCT",
        "td_user_agent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"}
        """;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(7);
        string[] categories = ["women", "men", "kids"];
        _bodies = [.. Enumerable.Range(0, 4096).Select(i => Encoding.UTF8.GetBytes(Template
            .Replace("VISITOR", $"visitor-{random.Next(1_000_000)}").Replace("EMAIL", $"customer{random.Next(1_000_000)}@example.com")
            .Replace("CATEGORY", categories[i % 3]).Replace("PRODUCT", $"trail runner {random.Next(50)}")))];
    }

    [Benchmark(Description = "parse a ~300-byte pageview (8 text values, 2 of them new)")]
    public int Parse()
    {
        var body = _bodies[_next++ & (_bodies.Length - 1)];
        if (!EventParser.TryParse(body, out var data, out _, rented: true)) throw new InvalidOperationException();
        var count = data!.Count;
        data.Release();
        return count;
    }
}
