using System.Text;

namespace Tailor.Benchmarks;

/// <summary>
/// The benchmark configuration: one audience with 20 attributes (5 single, 5 list, 5 sliding counters
/// with sub-windows, 2 total counters, 3 imported), 4 segments and a 10-section service whose rules
/// are the typical shapes (comparisons, list membership, segments, windows).
/// </summary>
public static class BenchmarkConfig
{
    public static string Yaml { get; } = Build(extraSegments: 0);

    /// <summary>A ~200-line configuration for the parse + compile benchmark.</summary>
    public static string LargeYaml { get; } = Build(extraSegments: 125);

    private static string Build(int extraSegments)
    {
        var y = new StringBuilder();
        y.AppendLine("databases: [shop]");
        y.AppendLine("audiences:");
        y.AppendLine("  - name: customers");
        y.AppendLine("    stitching_keys:");
        y.AppendLine("      - { name: td_client_id }");
        y.AppendLine("      - { name: email, valid_regex: '^[^@\\s]+@[^@\\s]+$', invalid_values: [unknown, \"null\"] }");
        y.AppendLine("    event_tables: [shop.pageviews, shop.orders]");
        y.AppendLine("    key_events:");
        y.AppendLine("      - { name: view, table: shop.pageviews, filter: 'td_path starts_with \"/p/\"' }");
        y.AppendLine("      - { name: order, table: shop.orders }");
        y.AppendLine("    attributes:");
        for (var i = 0; i < 5; i++) y.AppendLine($"      - {{ name: s{i}, type: single, event: view, field: f{i}, ttl: 30d }}");
        for (var i = 0; i < 5; i++) y.AppendLine($"      - {{ name: l{i}, type: list, event: view, field: f{i}, max_items: 10, window: 30d, distinct: true }}");
        for (var i = 0; i < 5; i++) y.AppendLine($"      - {{ name: c{i}, type: counter, event: view, window: 7d, sub_windows: [1h, 1d] }}");
        y.AppendLine("      - { name: spent, type: counter, event: order, increment_field: amount, counter_type: total }");
        y.AppendLine("      - { name: orders, type: counter, event: order, counter_type: total }");
        for (var i = 0; i < 3; i++) y.AppendLine($"      - {{ name: i{i}, type: imported }}");
        y.AppendLine("    segments:");
        y.AppendLine("      - { name: engaged, rule: 'c0.7d >= 3' }");
        y.AppendLine("      - { name: buyer, rule: 'orders >= 1' }");
        y.AppendLine("      - { name: hot, rule: 'c1.1h >= 2 and in_segment(\"engaged\")' }");
        y.AppendLine("      - { name: vip, rule: 'spent > 500 or i0 == \"gold\"' }");
        for (var i = 0; i < extraSegments; i++)
            y.AppendLine($"      - {{ name: extra{i}, rule: 's{i % 5} == \"v{i}\" and (c{i % 5}.1d > {i % 4} or l{i % 5} contains \"x{i}\") and not in_segment(\"buyer\")' }}");
        y.AppendLine("    batch_segments: [ { id: \"100\" }, { id: \"200\" } ]");
        y.AppendLine("services:");
        y.AppendLine("  - name: web");
        y.AppendLine("    audience: customers");
        y.AppendLine("    tokens: [ { name: site, allowed_ips: [10.0.0.0/8, 127.0.0.1/32] } ]");
        y.AppendLine("    personalizations:");
        y.AppendLine("      - name: home");
        y.AppendLine("        sections:");
        string[] rules =
        [
            "i0 == \"gold\" or in_segment(\"engaged\")",
            "c0.7d >= 3 and s0 != \"none\"",
            "l0 contains \"p3\"",
            "s1 in [\"a\", \"b\", \"v1\"]",
            "c2.1d > 1 and c2.1h >= 1",
            "in_segment(\"vip\")",
            "s2 starts_with \"v\" and size(l2) >= 2",
            "in_batch_segment(\"100\") and not in_segment(\"buyer\")",
            "s3 within 1d",
            "c4.7d >= 100",
        ];
        for (var i = 0; i < rules.Length; i++)
        {
            y.AppendLine($"          - name: offer{i}");
            y.AppendLine($"            criteria: {{ profile: '{rules[i]}', accept_unknown_profiles: true }}");
            y.AppendLine($"            payload: {{ attributes: [ {{ attribute: s{i % 5} }}, {{ attribute: c{i % 5}.1d, output: today }} ], strings: [ {{ output: msg, value: \"Offer {i}\" }} ], batch_segments: [\"100\"] }}");
        }
        return y.ToString();
    }
}
