namespace Tailor.Core.Configuration;

/// <summary>Base of every configuration element: where it was written, and where each of its fields was.</summary>
public abstract class ConfigElement
{
    private Dictionary<string, SourceLocation>? _fields;

    public SourceLocation Location { get; set; }

    /// <summary>The location of a field's value, or of the element when the field was not written.</summary>
    public SourceLocation At(string field) =>
        _fields is not null && _fields.TryGetValue(field, out var location) ? location : Location;

    /// <summary>True when the binder rejected something inside this element (already reported).</summary>
    public bool BindFailed { get; internal set; }

    /// <summary>True when the field was written (even if its value was rejected).</summary>
    public bool Has(string field) => _fields is not null && _fields.ContainsKey(field);

    internal void SetFieldLocation(string field, SourceLocation location) => (_fields ??= [])[field] = location;
}

/// <summary>A criteria-language text, where its first character is in the file, and the indent of its later lines.</summary>
public sealed record RuleText(string Text, SourceLocation Start, int ContinuationIndent = 0);

/// <summary>One account's whole configuration document (see docs/configuration.md).</summary>
public sealed class TailorConfig : ConfigElement
{
    public string File { get; set; } = "tailor.yaml";
    public List<string> Databases { get; set; } = [];
    public List<AudienceConfig> Audiences { get; set; } = [];
    public List<ServiceConfig> Services { get; set; } = [];
    public LookupConfig Lookup { get; set; } = new();
    public LimitsConfig Limits { get; set; } = new();
}

public sealed class AudienceConfig : ConfigElement
{
    public string Name { get; set; } = "";
    public List<StitchingKeyConfig> StitchingKeys { get; set; } = [];
    public List<string> EventTables { get; set; } = [];
    public List<KeyEventConfig> KeyEvents { get; set; } = [];
    public List<AttributeConfig> Attributes { get; set; } = [];
    public List<SegmentConfig> Segments { get; set; } = [];
    public List<BatchSegmentConfig> BatchSegments { get; set; } = [];
}

public sealed class StitchingKeyConfig : ConfigElement
{
    public string Name { get; set; } = "";
    public string? ValidRegex { get; set; }
    public List<string> InvalidValues { get; set; } = [];
}

public sealed class KeyEventConfig : ConfigElement
{
    public string Name { get; set; } = "";
    /// <summary><c>database.table</c>.</summary>
    public string Table { get; set; } = "";
    public RuleText? Filter { get; set; }
}

public enum AttributeType { Single, List, Counter, Imported }

public enum CounterType { Sliding, Total }

public enum DataType { Any, String, Number }

public sealed class AttributeConfig : ConfigElement
{
    public string Name { get; set; } = "";
    /// <summary>Null when missing or unknown (already reported).</summary>
    public AttributeType? Type { get; set; }
    public string? Event { get; set; }
    public string? Field { get; set; }
    public TimeSpan? Ttl { get; set; }
    public DataType DataType { get; set; }
    public int MaxItems { get; set; } = 10;
    public TimeSpan? Window { get; set; }
    public bool Distinct { get; set; }
    public List<TimeSpan> SubWindows { get; set; } = [];
    public string? IncrementField { get; set; }
    public CounterType CounterType { get; set; } = CounterType.Sliding;
    public bool Sensitive { get; set; }
}

public sealed class SegmentConfig : ConfigElement
{
    public string Name { get; set; } = "";
    public RuleText Rule { get; set; } = new("", default);
}

public sealed class BatchSegmentConfig : ConfigElement
{
    public string Id { get; set; } = "";
    public string? Name { get; set; }
}

public sealed class ServiceConfig : ConfigElement
{
    public string Name { get; set; } = "";
    public string Audience { get; set; } = "";
    public bool Public { get; set; }
    public List<string> AllowedOrigins { get; set; } = [];
    public List<TokenConfig> Tokens { get; set; } = [];
    public ServiceLimitsConfig Limits { get; set; } = new();
    public List<PersonalizationConfig> Personalizations { get; set; } = [];
}

public sealed class TokenConfig : ConfigElement
{
    public string Name { get; set; } = "";
    public List<IpNetwork> AllowedIps { get; set; } = [];
}

public sealed class ServiceLimitsConfig : ConfigElement
{
    /// <summary>Concurrent in-flight calls; beyond it 429 code 2013.</summary>
    public int Concurrent { get; set; } = 256;
}

public sealed class PersonalizationConfig : ConfigElement
{
    public string Name { get; set; } = "";
    public List<SectionConfig> Sections { get; set; } = [];
}

public sealed class SectionConfig : ConfigElement
{
    public string Name { get; set; } = "";
    public CriteriaConfig Criteria { get; set; } = new();
    public PayloadConfig Payload { get; set; } = new();
}

public sealed class CriteriaConfig : ConfigElement
{
    public string? Event { get; set; }
    public RuleText? EventFilter { get; set; }
    public RuleText? Profile { get; set; }
    public bool AcceptUnknownProfiles { get; set; }
}

public sealed class PayloadConfig : ConfigElement
{
    public List<PayloadAttributeConfig> Attributes { get; set; } = [];
    public List<PayloadStringConfig> Strings { get; set; } = [];
    public List<string> BatchSegments { get; set; } = [];
}

public sealed class PayloadAttributeConfig : ConfigElement
{
    /// <summary>An attribute name, optionally with a counter sub-window (<c>views.1d</c>).</summary>
    public string Attribute { get; set; } = "";
    public string Output { get; set; } = "";
}

public sealed class PayloadStringConfig : ConfigElement
{
    public string Output { get; set; } = "";
    public string Value { get; set; } = "";
}

public sealed class LookupConfig : ConfigElement
{
    /// <summary>The audience whose profiles lookups read; may be left out when there is only one.</summary>
    public string? Audience { get; set; }
    public List<string> Fields { get; set; } = [];
}

public sealed class LimitsConfig : ConfigElement
{
    public int IngestPerSecond { get; set; } = 20_000;
}
