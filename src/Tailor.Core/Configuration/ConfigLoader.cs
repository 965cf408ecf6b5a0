using Tailor.Core.Evaluation;

namespace Tailor.Core.Configuration;

/// <summary>The outcome of loading a configuration: the compiled form, or every error found.</summary>
public sealed record ConfigLoadResult(TailorConfig? Config, CompiledConfig? Compiled, IReadOnlyList<ConfigError> Errors)
{
    public bool Succeeded => Compiled is not null && Errors.Count == 0;
}

/// <summary>
/// Loads a YAML or JSON configuration document: parse, bind, validate, compile. All errors of the
/// document are reported together, each with file, line and column.
/// </summary>
public static class ConfigLoader
{
    public static ConfigLoadResult Load(string text, string file = "tailor.yaml")
    {
        var errors = new List<ConfigError>();
        var root = LooksLikeJson(text, file) ? JsonNodeReader.Read(text, file, errors) : YamlNodeReader.Read(text, file, errors);
        if (root is null) return new ConfigLoadResult(null, null, errors);
        var config = new ConfigBinder(errors).Bind(root, file);
        var compiled = new ConfigCompiler(errors).Compile(config);
        var ordered = errors.Distinct().OrderBy(e => e.Location.Line).ThenBy(e => e.Location.Column).ToList();
        return new ConfigLoadResult(config, ordered.Count == 0 ? compiled : null, ordered);
    }

    public static ConfigLoadResult LoadFile(string path) => Load(File.ReadAllText(path), path);

    /// <summary>Loads or throws <see cref="ConfigValidationException"/> listing every error.</summary>
    public static CompiledConfig LoadOrThrow(string text, string file = "tailor.yaml")
    {
        var result = Load(text, file);
        return result.Succeeded ? result.Compiled! : throw new ConfigValidationException(result.Errors);
    }

    /// <summary>A <c>.json</c> file, or text opening with <c>{"</c> (a YAML flow mapping has unquoted keys).</summary>
    private static bool LooksLikeJson(string text, string file)
    {
        if (file.EndsWith(".json", StringComparison.OrdinalIgnoreCase)) return true;
        var trimmed = text.AsSpan().TrimStart();
        return trimmed.StartsWith("{") && trimmed[1..].TrimStart() is var rest && (rest.StartsWith("\"") || rest.StartsWith("}"));
    }
}
