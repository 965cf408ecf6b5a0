using Tailor.Core.Configuration;

namespace Tailor.Core.Evaluation;

/// <summary>
/// One account's configuration, validated and compiled: immutable, shared by all threads, swapped
/// as a whole when a new version is applied.
/// </summary>
public sealed class CompiledConfig
{
    internal CompiledConfig(TailorConfig source, IReadOnlyList<CompiledAudience> audiences, IReadOnlyList<CompiledService> services)
    {
        Source = source;
        Databases = source.Databases.ToHashSet(StringComparer.Ordinal);
        Audiences = audiences.ToDictionary(a => a.Name, StringComparer.Ordinal);
        Services = services.ToDictionary(s => s.Name, StringComparer.Ordinal);
        LookupFields = source.Lookup.Fields;
        IngestPerSecond = source.Limits.IngestPerSecond;
    }

    public TailorConfig Source { get; }
    public IReadOnlySet<string> Databases { get; }
    public IReadOnlyDictionary<string, CompiledAudience> Audiences { get; }
    public IReadOnlyDictionary<string, CompiledService> Services { get; }
    public IReadOnlyList<string> LookupFields { get; }
    public int IngestPerSecond { get; }
}
