using Tailor.Core.Configuration;

namespace Tailor.Core.Tests;

/// <summary>Validation names file, line, column and what was expected, for every error at once.</summary>
public sealed class ConfigValidationTests
{
    private static void AssertHasError(IReadOnlyList<ConfigError> errors, int line, int column, string message) =>
        Assert.True(errors.Any(e => e.Location.Line == line && e.Location.Column == column && e.Message.Contains(message, StringComparison.Ordinal)),
            $"expected {line}:{column} `{message}` in:\n{string.Join("\n", errors)}");

    [Fact]
    public void Five_distinct_mistakes_are_all_reported_with_their_positions()
    {
        var errors = TestConfigs.Errors("""
            databases: [demo_db]
            audiences:
              - name: shoppers
                stitching_keys: [ { name: td_client_id } ]
                event_tables: [demo_db.pageviews]
                key_events:
                  - { name: pageview, table: demo_db.pageviews }
                attributes:
                  - { name: views, type: counter, event: pageview, window: 7d }
                  - { name: last_product, type: single, event: pageview, field: product, ttl: 1 day }
                  - { name: browsed, type: list, event: pagview, field: product, max_items: 500 }
                segments:
                  - { name: engaged, rule: 'viewz.7d >= 3' }
            services:
              - name: web
                audience: shoppers
                tokens: [ { name: site, allowed_ips: [10.0.0.1/8] } ]
                personalizations: []
            """);
        Assert.Equal(5, errors.Count);
        AssertHasError(errors, 10, 83, "expected a duration such as 30s, 15m, 1h, 7d or 2w, found `1 day`");
        AssertHasError(errors, 11, 45, "unknown key event `pagview` (did you mean `pageview`?)");
        AssertHasError(errors, 11, 81, "max_items is at most 100, found 500");
        AssertHasError(errors, 13, 33, "in rule `viewz.7d >= 3`: unknown attribute `viewz.7d` (did you mean `views.7d`?)");
        AssertHasError(errors, 17, 43, "found `10.0.0.1/8` (the address has bits set beyond the /8 prefix; did you mean `10.0.0.0/8`?)");
        Assert.All(errors, e => Assert.Equal("test.yaml", e.Location.File));
    }

    [Fact]
    public void Errors_print_as_file_line_column_message()
    {
        var error = Assert.Single(TestConfigs.Errors(TestConfigs.Audience("- { name: x, type: countr, event: view, window: 1d }")));
        Assert.Equal("test.yaml:10:26: unknown type `countr` (did you mean `counter`?); expected one of: single, list, counter, imported", error.ToString());
    }

    [Fact]
    public void A_misspelt_key_gets_a_suggestion()
    {
        var errors = TestConfigs.Errors(TestConfigs.Audience("- { name: x, type: imported, sensitiv: true }"));
        AssertHasError(errors, 10, 36, "unknown key `sensitiv` in an attribute (did you mean `sensitive`?)");
    }

    [Fact]
    public void More_than_200_attributes_are_rejected()
    {
        var attributes = string.Join("\n", Enumerable.Range(0, 201).Select(i => $"- {{ name: a{i}, type: imported }}"));
        Assert.Contains(TestConfigs.Errors(TestConfigs.Audience(attributes)), e => e.Message == "at most 200 attributes per audience, found 201");
    }

    [Fact]
    public void More_than_50_tokens_in_a_service_are_rejected()
    {
        var tokens = string.Join(", ", Enumerable.Range(0, 51).Select(i => $"{{ name: t{i} }}"));
        var errors = TestConfigs.Errors(TestConfigs.Audience("- { name: x, type: imported }", extra: $"""
            services:
              - name: web
                audience: people
                tokens: [ {tokens} ]
            """));
        Assert.Contains(errors, e => e.Message == "a service has at most 50 tokens, found 51");
    }

    [Theory]
    [InlineData("- { name: x, type: list, event: view, field: f, window: 61d }", "a list's window is at most 60d, found 61d")]
    [InlineData("- { name: x, type: list, event: view, field: f, max_items: 101 }", "max_items is at most 100, found 101")]
    [InlineData("- { name: x, type: list, event: view, field: f, increment_field: n }", "`increment_field` does not apply to a list attribute; it is for counter attributes")]
    [InlineData("- { name: x, type: single, event: view, field: f, window: 1d }", "`window` does not apply to a single attribute")]
    [InlineData("- { name: x, type: counter, event: view }", "sliding counter `x` needs `window` (e.g. 7d), or `counter_type: total`")]
    [InlineData("- { name: x, type: counter, event: view, counter_type: total, window: 1d }", "`window` does not apply to a counter attribute; it is for sliding counters")]
    [InlineData("- { name: x, type: counter, event: view, window: 1d, sub_windows: [1d] }", "window 1d is listed twice for counter `x`")]
    [InlineData("- { name: x, type: counter, event: view, window: 30s }", "a counter window is at least 1m, found 30s")]
    [InlineData("- { name: x, type: single, event: view }", "attribute `x` (single) needs `field`")]
    [InlineData("- { name: x, type: imported, event: view }", "`event` does not apply to an imported attribute")]
    [InlineData("- { name: 9x, type: imported }", "attribute name `9x` must start with a letter or _")]
    [InlineData("- { name: x, type: single, event: view, field: f, ttl: 0d }", "expected a duration such as 30s, 15m, 1h, 7d or 2w, found `0d`")]
    [InlineData("- { name: x, type: single, event: view, field: f, max_items: ten }", "expected a whole number, found `ten`")]
    [InlineData("- { name: x, type: single, event: view, field: f, sensitive: yes please }", "expected true or false, found `yes please`")]
    [InlineData("- { type: imported }", "missing required key `name` in an attribute")]
    [InlineData("- { name: x, type: imported }\n- { name: x, type: imported }", "duplicate attribute name `x` (first defined at line 10)")]
    public void Attribute_options_are_checked(string attributes, string message) =>
        Assert.Contains(TestConfigs.Errors(TestConfigs.Audience(attributes)), e => e.Message.Contains(message, StringComparison.Ordinal));

    [Theory]
    [InlineData("audience: peple", "unknown audience `peple` (did you mean `people`?)")]
    [InlineData("audience: people\n    public: true", "public service `web` needs `allowed_origins`")]
    [InlineData("audience: people\n    allowed_origins: [\"https://a.example\"]", "`allowed_origins` applies to public services only")]
    [InlineData("audience: people\n    public: true\n    allowed_origins: [\"https://a.example/path\"]", "origin `https://a.example/path` must be scheme://host[:port]")]
    [InlineData("audience: people\n    tokens: [ { name: t, allowed_ips: [\"not-an-ip\"] } ]", "expected an IP network in CIDR notation such as 10.0.0.0/8 or 2001:db8::/32, found `not-an-ip`")]
    [InlineData("audience: people\n    tokens: [ { name: t }, { name: t } ]", "duplicate token name `t`")]
    [InlineData("audience: people\n    limits: { concurrent: 0 }", "expected a whole number from 1 to 1000000, found 0")]
    public void Service_options_are_checked(string service, string message)
    {
        var errors = TestConfigs.Errors(TestConfigs.Audience("- { name: x, type: imported }", extra: $"""
            services:
              - name: web
                {service}
            """));
        Assert.Contains(errors, e => e.Message.Contains(message, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("criteria: { event: veiw }", "unknown key event `veiw` (did you mean `view`?)")]
    [InlineData("criteria: { profile: 'tier = 1' }", "in rule `tier = 1`: expected `==` (a single `=` is not an operator)")]
    [InlineData("criteria: { event_filter: 'in_segment(\"s\")' }", "event filters see only the event's fields")]
    [InlineData("payload: { attributes: [ { attribute: teir } ] }", "unknown attribute `teir` (did you mean `tier`?)")]
    [InlineData("payload: { attributes: [ { attribute: tier.1d } ] }", "`tier` has no windows; only sliding counters do")]
    [InlineData("payload: { batch_segments: [\"43\"] }", "unknown batch segment id `43` (did you mean `42`?)")]
    [InlineData("payload: { attributes: [ { attribute: tier, output: o } ], strings: [ { output: o, value: v } ] }", "output `o` appears twice in section `s1`")]
    public void Section_criteria_and_payloads_are_checked(string section, string message)
    {
        var errors = TestConfigs.Errors(TestConfigs.Audience("- { name: tier, type: imported }", extra: $$"""
            services:
              - name: web
                audience: people
                personalizations:
                  - name: p
                    sections:
                      - name: s1
                        {{section}}
            """));
        Assert.Contains(errors, e => e.Message.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public void Section_names_are_unique_across_a_services_personalizations()
    {
        var errors = TestConfigs.Errors(TestConfigs.Audience("- { name: tier, type: imported }", extra: """
            services:
              - name: web
                audience: people
                personalizations:
                  - { name: p1, sections: [ { name: hero } ] }
                  - { name: p2, sections: [ { name: hero } ] }
            """));
        Assert.Contains(errors, e => e.Message.StartsWith("duplicate section name `hero` in service `web` (first defined at line 19)", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("databases: [Demo]\naudiences: []", 1, "database name `Demo` must be 3 to 128 characters")]
    [InlineData("databases: []\naudiences: []", 1, "expected at least one database")]
    [InlineData("databases: [db1]\naudiences: [ { name: a, stitching_keys: [k], event_tables: [db2.events] } ]", 2, "is in database `db2`, which is not listed under `databases`")]
    [InlineData("databases: [db1]\naudiences: [ { name: a, stitching_keys: [k], event_tables: [events] } ]", 2, "event table `events` must be written database.table")]
    [InlineData("databases: [db1]\naudiences: [ { name: a, event_tables: [db1.events] } ]", 2, "needs at least one stitching key")]
    [InlineData("databases: [db1]\naudiences: [ { name: a, stitching_keys: [ { name: e, valid_regex: '(' } ], event_tables: [db1.events] } ]", 2, "invalid valid_regex")]
    [InlineData("databases: [db1]\naudiences: { name: a }", 2, "expected a list, found a mapping")]
    [InlineData("databases: [db1]\nservice: []", 2, "unknown key `service` in the configuration (did you mean `services`?)")]
    [InlineData("databases: [db1\naudiences: []", 1, "invalid YAML")]
    [InlineData("- just\n- a list", 1, "expected the configuration as a mapping")]
    public void Document_level_mistakes_are_reported(string yaml, int line, string message)
    {
        var errors = TestConfigs.Errors(yaml);
        Assert.Contains(errors, e => e.Location.Line == line && e.Message.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public void The_json_form_is_validated_with_positions_too()
    {
        var result = ConfigLoader.Load("""
            {
              "databases": ["db1"],
              "audiences": [{
                "name": "a",
                "stitching_keys": [{"name": "user_id"}],
                "event_tables": ["db1.events"],
                "key_events": [{"name": "view", "table": "db1.events"}],
                "attributes": [{"name": "n", "type": "counter", "event": "view", "window": "7d"}],
                "segments": [{"name": "s", "rule": "n.7d >= 1"}],
                "segmnts": []
              }],
              "services": [{"name": "web", "audience": "a", "tokens": [{"name": "t", "allowed_ips": ["::1/128"]}]}]
            }
            """, "tailor.json");
        var error = Assert.Single(result.Errors);
        Assert.Equal("tailor.json:10:5: unknown key `segmnts` in an audience (did you mean `segments`?); expected one of: name, stitching_keys, event_tables, key_events, attributes, segments, batch_segments", error.ToString());
    }

    [Fact]
    public void Valid_json_compiles_like_yaml()
    {
        var result = ConfigLoader.Load("""
            {"databases": ["db1"], "audiences": [{"name": "a", "stitching_keys": [{"name": "user_id"}], "event_tables": ["db1.events"],
              "key_events": [{"name": "view", "table": "db1.events", "filter": "path starts_with \"/p\""}],
              "attributes": [{"name": "n", "type": "counter", "event": "view", "window": "7d", "sub_windows": ["1h"]}],
              "segments": [{"name": "s", "rule": "n.1h >= 1"}]}],
             "services": [{"name": "web", "audience": "a", "limits": {"concurrent": 8}, "personalizations": [{"name": "p", "sections": [{"name": "x", "criteria": {"profile": "in_segment(\"s\")"}}]}]}],
             "limits": {"ingest_per_second": 500}}
            """, "tailor.json");
        Assert.True(result.Succeeded, string.Join("\n", result.Errors));
        Assert.Equal(500, result.Compiled!.IngestPerSecond);
        Assert.Equal(8, result.Compiled.Services["web"].ConcurrentLimit);
    }

    [Fact]
    public void A_json_syntax_error_names_its_line()
    {
        var error = Assert.Single(ConfigLoader.Load("{\n  \"databases\": [\"db1\"],\n  \"audiences\": [ }\n", "x.json").Errors);
        Assert.Equal(3, error.Location.Line);
        Assert.StartsWith("invalid JSON", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_multi_line_rule_reports_the_line_inside_the_file()
    {
        var errors = TestConfigs.Errors(TestConfigs.Audience("- { name: tier, type: imported }", """
            - name: s
              rule: |
                tier == "gold"
                and tier == nul
            """));
        var error = Assert.Single(errors);
        Assert.Equal((15, 23), (error.Location.Line, error.Location.Column));
        Assert.Contains("unknown attribute `nul`", error.Message, StringComparison.Ordinal);
    }
}
