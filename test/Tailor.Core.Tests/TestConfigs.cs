using Tailor.Core.Configuration;
using Tailor.Core.Evaluation;

namespace Tailor.Core.Tests;

internal static class TestConfigs
{
    public static string ExampleYaml => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "samples", "example.yaml"));

    public static CompiledConfig Example => Load(ExampleYaml);

    public static CompiledConfig Load(string yaml)
    {
        var result = ConfigLoader.Load(yaml, "test.yaml");
        Assert.True(result.Succeeded, string.Join("\n", result.Errors));
        return result.Compiled!;
    }

    public static IReadOnlyList<ConfigError> Errors(string yaml)
    {
        var result = ConfigLoader.Load(yaml, "test.yaml");
        Assert.False(result.Succeeded, "expected the configuration to be rejected");
        return result.Errors;
    }

    /// <summary>A minimal audience with the given attributes and segments, for focused tests.</summary>
    public static string Audience(string attributes, string segments = "", string extra = "") => $$"""
        databases: [db1]
        audiences:
          - name: people
            stitching_keys: [ { name: user_id } ]
            event_tables: [db1.events]
            key_events:
              - { name: view, table: db1.events }
              - { name: buy, table: db1.events, filter: 'type == "buy"' }
            attributes:
        {{Indent(attributes, 6)}}
            segments:
        {{Indent(segments, 6)}}
            batch_segments:
              - { id: "42", name: vip }
        {{extra}}
        """;

    private static string Indent(string text, int spaces) =>
        string.Join("\n", text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => new string(' ', spaces) + l.TrimEnd()));
}
