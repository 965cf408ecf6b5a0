using Tailor.Core.Configuration;
using Tailor.Core.Lookup;

namespace Tailor.Core.Evaluation;

/// <summary>
/// One account's configuration, validated and compiled: immutable, shared by all threads, swapped
/// as a whole when a new version is applied.
/// </summary>
public sealed class CompiledConfig
{
    internal CompiledConfig(TailorConfig source, IReadOnlyList<CompiledAudience> audiences, IReadOnlyList<CompiledService> services, CompiledLookup? lookup)
    {
        Source = source;
        Databases = source.Databases.ToHashSet(StringComparer.Ordinal);
        Audiences = audiences.ToDictionary(a => a.Name, StringComparer.Ordinal);
        Services = services.ToDictionary(s => s.Name, StringComparer.Ordinal);
        Lookup = lookup;
        IngestPerSecond = source.Limits.IngestPerSecond;
    }

    public TailorConfig Source { get; }
    public IReadOnlySet<string> Databases { get; }
    public IReadOnlyDictionary<string, CompiledAudience> Audiences { get; }
    public IReadOnlyDictionary<string, CompiledService> Services { get; }
    /// <summary>What the enrichment lookup API answers with; null when the account has no lookup section.</summary>
    public CompiledLookup? Lookup { get; }
    public int IngestPerSecond { get; }
}
