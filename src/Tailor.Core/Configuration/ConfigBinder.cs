using System.Globalization;
using System.Net;

namespace Tailor.Core.Configuration;

/// <summary>
/// Binds a <see cref="ConfigNode"/> tree to <see cref="TailorConfig"/>, reporting every shape error
/// (unknown or duplicate keys, wrong types, bad durations and CIDRs) instead of stopping at the first.
/// </summary>
internal sealed class ConfigBinder(List<ConfigError> errors)
{
    public TailorConfig Bind(ConfigNode root, string file)
    {
        var config = new TailorConfig { File = file, Location = root.Location };
        if (Fields(root, config, "the configuration", "databases", "audiences", "services", "lookup", "limits") is not { } f) return config;
        config.Databases = StringList(f["databases"], "a database name");
        config.Audiences = List(f["audiences"], BindAudience);
        config.Services = List(f["services"], BindService);
        if (f["lookup"] is { } lookup && Fields(lookup, config.Lookup, "lookup", "audience", "fields") is { } lf)
        {
            config.Lookup.Audience = String(lf["audience"]);
            config.Lookup.Fields = StringList(lf["fields"], "a lookup field name");
        }
        if (f["limits"] is { } limits && Fields(limits, config.Limits, "limits", "ingest_per_second") is { } lim)
            config.Limits.IngestPerSecond = Int(lim["ingest_per_second"], 1, 10_000_000) ?? config.Limits.IngestPerSecond;
        return config;
    }

    private AudienceConfig? BindAudience(ConfigNode node)
    {
        var a = new AudienceConfig();
        if (Fields(node, a, "an audience", "name", "stitching_keys", "event_tables", "key_events", "attributes", "segments", "batch_segments") is not { } f) return null;
        a.Name = Name(f, "name") ?? "";
        a.StitchingKeys = List(f["stitching_keys"], BindStitchingKey);
        a.EventTables = StringList(f["event_tables"], "a table as database.table");
        a.KeyEvents = List(f["key_events"], n =>
        {
            var e = new KeyEventConfig();
            if (Fields(n, e, "a key event", "name", "table", "filter") is not { } kf) return null;
            e.Name = Name(kf, "name") ?? "";
            e.Table = Required(kf, "table") ?? "";
            e.Filter = Rule(kf["filter"]);
            return e;
        });
        a.Attributes = List(f["attributes"], BindAttribute);
        a.Segments = List(f["segments"], n =>
        {
            var s = new SegmentConfig();
            if (Fields(n, s, "a segment", "name", "rule") is not { } sf) return null;
            s.Name = Name(sf, "name") ?? "";
            s.Rule = Rule(sf["rule"]) ?? (sf["rule"] is null ? Missing(sf, "rule", new RuleText("", s.Location)) : new RuleText("", s.Location));
            return s;
        });
        a.BatchSegments = List(f["batch_segments"], n =>
        {
            var b = new BatchSegmentConfig();
            if (Fields(n, b, "a batch segment", "id", "name") is not { } bf) return null;
            b.Id = Required(bf, "id") ?? "";
            b.Name = String(bf["name"]);
            return b;
        });
        return a;
    }

    private StitchingKeyConfig? BindStitchingKey(ConfigNode node)
    {
        var k = new StitchingKeyConfig { Location = node.Location };
        if (node is ScalarNode { Value: { } shorthand })
        {
            k.Name = shorthand;
            k.SetFieldLocation("name", node.Location);
            return k;
        }
        if (Fields(node, k, "a stitching key", "name", "valid_regex", "invalid_values") is not { } f) return null;
        k.Name = Name(f, "name") ?? "";
        k.ValidRegex = String(f["valid_regex"]);
        k.InvalidValues = StringList(f["invalid_values"], "a value");
        return k;
    }

    private AttributeConfig? BindAttribute(ConfigNode node)
    {
        var a = new AttributeConfig();
        if (Fields(node, a, "an attribute", "name", "type", "event", "field", "ttl", "data_type", "max_items", "window", "distinct",
                "sub_windows", "increment_field", "counter_type", "sensitive") is not { } f) return null;
        a.Name = Name(f, "name") ?? "";
        a.Type = f["type"] is null ? Missing<AttributeType?>(f, "type", null) : Enum(f["type"], "type", AttributeType.Single);
        a.Event = String(f["event"]);
        a.Field = String(f["field"]);
        a.Ttl = DurationValue(f["ttl"]);
        a.DataType = Enum(f["data_type"], "data_type", DataType.Any) ?? DataType.Any;
        a.MaxItems = Int(f["max_items"], 1, int.MaxValue) ?? a.MaxItems;
        a.Window = DurationValue(f["window"]);
        a.Distinct = Bool(f["distinct"]) ?? false;
        a.SubWindows = List(f["sub_windows"], n => DurationValue(n) is { } d ? (TimeSpan?)d : null).Select(d => d!.Value).ToList();
        a.IncrementField = String(f["increment_field"]);
        a.CounterType = Enum(f["counter_type"], "counter_type", CounterType.Sliding) ?? CounterType.Sliding;
        a.Sensitive = Bool(f["sensitive"]) ?? false;
        return a;
    }

    private ServiceConfig? BindService(ConfigNode node)
    {
        var s = new ServiceConfig();
        if (Fields(node, s, "a service", "name", "audience", "public", "allowed_origins", "tokens", "limits", "personalizations") is not { } f) return null;
        s.Name = Name(f, "name") ?? "";
        s.Audience = Required(f, "audience") ?? "";
        s.Public = Bool(f["public"]) ?? false;
        s.AllowedOrigins = StringList(f["allowed_origins"], "an origin such as https://shop.example.com");
        s.Tokens = List(f["tokens"], n =>
        {
            var t = new TokenConfig();
            if (Fields(n, t, "a token", "name", "allowed_ips") is not { } tf) return null;
            t.Name = Name(tf, "name") ?? "";
            t.AllowedIps = List(tf["allowed_ips"], Cidr).Select(c => c!.Value).ToList();
            return t;
        });
        if (f["limits"] is { } limits && Fields(limits, s.Limits, "service limits", "concurrent") is { } lf)
            s.Limits.Concurrent = Int(lf["concurrent"], 1, 1_000_000) ?? s.Limits.Concurrent;
        s.Personalizations = List(f["personalizations"], n =>
        {
            var p = new PersonalizationConfig();
            if (Fields(n, p, "a personalization", "name", "sections") is not { } pf) return null;
            p.Name = Name(pf, "name") ?? "";
            p.Sections = List(pf["sections"], BindSection);
            return p;
        });
        return s;
    }

    private SectionConfig? BindSection(ConfigNode node)
    {
        var s = new SectionConfig();
        if (Fields(node, s, "a section", "name", "criteria", "payload") is not { } f) return null;
        s.Name = Name(f, "name") ?? "";
        s.Criteria.Location = s.Location;
        if (f["criteria"] is { } criteria && Fields(criteria, s.Criteria, "criteria", "event", "event_filter", "profile", "accept_unknown_profiles") is { } cf)
        {
            s.Criteria.Event = String(cf["event"]);
            s.Criteria.EventFilter = Rule(cf["event_filter"]);
            s.Criteria.Profile = Rule(cf["profile"]);
            s.Criteria.AcceptUnknownProfiles = Bool(cf["accept_unknown_profiles"]) ?? false;
        }
        s.Payload.Location = s.Location;
        if (f["payload"] is { } payload && Fields(payload, s.Payload, "payload", "attributes", "strings", "batch_segments") is { } pf)
        {
            s.Payload.Attributes = List(pf["attributes"], n =>
            {
                var a = new PayloadAttributeConfig();
                if (Fields(n, a, "a payload attribute", "attribute", "output") is not { } af) return null;
                a.Attribute = Required(af, "attribute") ?? "";
                a.Output = String(af["output"]) ?? a.Attribute;
                return a;
            });
            s.Payload.Strings = List(pf["strings"], n =>
            {
                var str = new PayloadStringConfig();
                if (Fields(n, str, "a payload string", "output", "value") is not { } sf) return null;
                str.Output = Required(sf, "output") ?? "";
                str.Value = Required(sf, "value") ?? "";
                return str;
            });
            s.Payload.BatchSegments = StringList(pf["batch_segments"], "a batch segment id");
        }
        return s;
    }

    // ---- helpers -------------------------------------------------------------------------------

    /// <summary>The fields of a mapping; reports unknown and duplicate keys. Null when the node is not a mapping.</summary>
    private FieldSet? Fields(ConfigNode node, ConfigElement target, string what, params string[] allowed)
    {
        target.Location = node.Location;
        if (node is not MappingNode mapping)
        {
            Error(node.Location, $"expected {what} as a mapping with keys {string.Join(", ", allowed)}, found {node.KindName}");
            return null;
        }
        var set = new FieldSet(node.Location, what);
        foreach (var (key, value) in mapping.Entries)
        {
            var name = key.Value!;
            if (Array.IndexOf(allowed, name) < 0)
            {
                Error(key.Location, $"unknown key `{name}` in {what}{Suggestions.DidYouMean(name, allowed)}; expected one of: {string.Join(", ", allowed)}");
                continue;
            }
            if (!set.Values.TryAdd(name, value))
            {
                Error(key.Location, $"duplicate key `{name}` in {what}");
                continue;
            }
            target.SetFieldLocation(name, value.Location);
        }
        return set;
    }

    private sealed class FieldSet(SourceLocation location, string what)
    {
        public SourceLocation Location { get; } = location;
        public string What { get; } = what;
        public Dictionary<string, ConfigNode> Values { get; } = [];
        public ConfigNode? this[string key] => Values.GetValueOrDefault(key);
    }

    private void Error(SourceLocation location, string message) => errors.Add(new ConfigError(location, message));

    private T Missing<T>(FieldSet f, string field, T fallback)
    {
        Error(f.Location, $"missing required key `{field}` in {f.What}");
        return fallback;
    }

    private string? Name(FieldSet f, string key) => Required(f, key);

    private string? Required(FieldSet f, string key)
    {
        if (f[key] is null)
        {
            Error(f.Location, $"missing required key `{key}` in {f.What}");
            return null;
        }
        var value = String(f[key]);
        if (value is not null && value.Length == 0) Error(f[key]!.Location, $"`{key}` must not be empty");
        return value;
    }

    private string? String(ConfigNode? node)
    {
        if (node is null) return null;
        if (node is ScalarNode scalar) return scalar.Value;
        Error(node.Location, $"expected a text value, found {node.KindName}");
        return null;
    }

    private RuleText? Rule(ConfigNode? node)
    {
        if (node is null) return null;
        if (node is ScalarNode { Value: { } text } scalar) return new RuleText(text, scalar.ContentStart, scalar.ContinuationIndent);
        Error(node.Location, $"expected a rule as text, found {node.KindName}");
        return null;
    }

    private bool? Bool(ConfigNode? node)
    {
        if (node is null) return null;
        if (node is ScalarNode { Quoted: false, Value: { } text })
        {
            if (text is "true" or "True" or "TRUE") return true;
            if (text is "false" or "False" or "FALSE") return false;
        }
        Error(node.Location, $"expected true or false, found {Describe(node)}");
        return null;
    }

    private int? Int(ConfigNode? node, int min, int max)
    {
        if (node is null) return null;
        if (node is ScalarNode { Quoted: false, Value: { } text } && int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
        {
            if (value >= min && value <= max) return value;
            Error(node.Location, $"expected a whole number from {min} to {max}, found {value}");
            return null;
        }
        Error(node.Location, $"expected a whole number, found {Describe(node)}");
        return null;
    }

    private TimeSpan? DurationValue(ConfigNode? node)
    {
        if (node is null) return null;
        if (node is ScalarNode { Value: { } text } && Duration.TryParse(text, out var value)) return value;
        Error(node.Location, $"expected a duration such as 30s, 15m, 1h, 7d or 2w, found {Describe(node)}");
        return null;
    }

    private T? Enum<T>(ConfigNode? node, string key, T _) where T : struct, Enum
    {
        if (node is null) return null;
        var names = System.Enum.GetNames<T>().Select(ToSnake).ToArray();
        if (node is ScalarNode { Value: { } text })
        {
            var index = Array.IndexOf(names, text);
            if (index >= 0) return System.Enum.GetValues<T>()[index];
            Error(node.Location, $"unknown {key} `{text}`{Suggestions.DidYouMean(text, names)}; expected one of: {string.Join(", ", names)}");
            return null;
        }
        Error(node.Location, $"expected {key} as one of: {string.Join(", ", names)}, found {node.KindName}");
        return null;
    }

    private IpNetwork? Cidr(ConfigNode node)
    {
        if (node is ScalarNode { Value: { } text })
        {
            var slashAt = text.IndexOf('/');
            // IPNetwork.TryParse silently clears host bits (10.0.0.1/8 → 10.0.0.0/8); an allow-list entry
            // like that is ambiguous (the /8, or the one host?), so it is reported instead.
            if (IPNetwork.TryParse(text, out var network) && IPAddress.TryParse(text[..slashAt], out var written) && written.Equals(network.BaseAddress))
                return new IpNetwork(network);
            if (slashAt < 0 && IPAddress.TryParse(text, out var address)) return new IpNetwork(new IPNetwork(address, address.GetAddressBytes().Length * 8));
            var hint = "";
            var slash = text.IndexOf('/');
            if (slash > 0 && IPAddress.TryParse(text[..slash], out var baseAddress) && int.TryParse(text[(slash + 1)..], out var prefix)
                && prefix >= 0 && prefix <= baseAddress.GetAddressBytes().Length * 8)
                hint = $" (the address has bits set beyond the /{prefix} prefix; did you mean `{IpNetwork.Truncate(baseAddress, prefix)}/{prefix}`?)";
            Error(node.Location, $"expected an IP network in CIDR notation such as 10.0.0.0/8 or 2001:db8::/32, found `{text}`{hint}");
            return null;
        }
        Error(node.Location, $"expected an IP network in CIDR notation, found {node.KindName}");
        return null;
    }

    private List<string> StringList(ConfigNode? node, string what) =>
        List(node, n => n is ScalarNode { Value: { } text } ? text : Fail<string>(n, $"expected {what}, found {Describe(n)}"));

    private T? Fail<T>(ConfigNode node, string message) where T : class
    {
        Error(node.Location, message);
        return null;
    }

    private List<T> List<T>(ConfigNode? node, Func<ConfigNode, T?> item)
    {
        if (node is null || node is ScalarNode { Value: null }) return [];
        if (node is not SequenceNode sequence)
        {
            Error(node.Location, $"expected a list, found {node.KindName}");
            return [];
        }
        var result = new List<T>(sequence.Items.Count);
        foreach (var child in sequence.Items)
        {
            var before = errors.Count;
            if (item(child) is not { } value) continue;
            if (value is ConfigElement element && errors.Count != before) element.BindFailed = true;
            result.Add(value);
        }
        return result;
    }

    private static string Describe(ConfigNode node) => node switch
    {
        ScalarNode { Value: null } => "null",
        ScalarNode { Value: var v } => $"`{v}`",
        _ => node.KindName,
    };

    internal static string ToSnake(string pascal) =>
        string.Concat(pascal.Select((c, i) => char.IsUpper(c) ? (i > 0 ? "_" : "") + char.ToLowerInvariant(c) : c.ToString()));
}
