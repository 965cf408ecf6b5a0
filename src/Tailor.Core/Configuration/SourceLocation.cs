namespace Tailor.Core.Configuration;

/// <summary>A position in a configuration file (1-based line and column).</summary>
public readonly record struct SourceLocation(string File, int Line, int Column)
{
    public static SourceLocation None(string file) => new(file, 0, 0);

    /// <summary>
    /// The location of a character at (line, column) of a text that starts here; lines after the first
    /// are shifted by <paramref name="continuationIndent"/> (the indentation YAML strips from block scalars).
    /// </summary>
    public SourceLocation Offset(int textLine, int textColumn, int continuationIndent = 0) =>
        textLine <= 1 ? this with { Column = Column + textColumn - 1 } : this with { Line = Line + textLine - 1, Column = continuationIndent + textColumn };

    public override string ToString() => $"{File}:{Line}:{Column}";
}

/// <summary>One validation problem, phrased for a human: where, what is wrong, what was expected.</summary>
public sealed record ConfigError(SourceLocation Location, string Message)
{
    public override string ToString() => $"{Location}: {Message}";
}

/// <summary>Thrown only by <see cref="ConfigLoader.LoadOrThrow"/>; carries every error of the document.</summary>
public sealed class ConfigValidationException(IReadOnlyList<ConfigError> errors)
    : Exception($"The configuration has {errors.Count} error(s):\n" + string.Join('\n', errors))
{
    public IReadOnlyList<ConfigError> Errors { get; } = errors;
}
