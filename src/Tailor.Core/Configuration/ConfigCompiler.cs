using System.Text.RegularExpressions;
using Tailor.Core.Criteria;
using Tailor.Core.Evaluation;
using Tailor.Core.Lookup;
using Tailor.Core.Profiles;

namespace Tailor.Core.Configuration;

/// <summary>
/// Validates a whole <see cref="TailorConfig"/> (names, references, limits, rules) and compiles it.
/// Every problem is reported, each with its position; nothing is compiled when there is one.
/// </summary>
internal sealed partial class ConfigCompiler(List<ConfigError> errors)
{
    private const int MaxAttributes = ConfigLimits.MaxAttributes;
    private const int MaxTokensPerService = ConfigLimits.MaxTokensPerService;
    private const int MaxListItems = ConfigLimits.MaxListItems;
    private const int MaxStitchingKeys = ConfigLimits.MaxStitchingKeys;
    private const int MaxKeyEvents = ConfigLimits.MaxKeyEvents;
    private static readonly TimeSpan MaxListWindow = ConfigLimits.MaxListWindow;
    private static readonly TimeSpan MaxCounterWindow = ConfigLimits.MaxCounterWindow;

    [GeneratedRegex("^[0-9a-z_]{3,128}$")]
    private static partial Regex TableNamePattern();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
    private static partial Regex AttributeNamePattern();

    [GeneratedRegex(@"^https?://[^/\s?#]+$")]
    private static partial Regex OriginPattern();

    private void Error(SourceLocation location, string message) => errors.Add(new ConfigError(location, message));

    public CompiledConfig? Compile(TailorConfig config)
    {
        var before = errors.Count;
        CheckDatabases(config);
        var audiences = new List<CompiledAudience>();
        foreach (var audience in Unique(config.Audiences, a => a.Name, "audience"))
            if (CompileAudience(config, audience) is { } compiled) audiences.Add(compiled);
        var services = new List<CompiledService>();
        foreach (var service in Unique(config.Services, s => s.Name, "service"))
            if (CompileService(service, audiences, config) is { } compiled) services.Add(compiled);
        var lookup = CompileLookup(config.Lookup, audiences);
        return errors.Count == before ? new CompiledConfig(config, audiences, services, lookup) : null;
    }

    /// <summary>Lookup fields are attributes of one audience (imported ones, or real-time ones made lookup-visible).</summary>
    private CompiledLookup? CompileLookup(LookupConfig lookup, List<CompiledAudience> audiences)
    {
        var fields = Unique(lookup.Fields.Select((f, i) => (Name: f, Index: i)).ToList(), f => f.Name, "lookup field", _ => lookup.At("fields")).Select(f => f.Name).ToList();
        if (fields.Count == 0 && lookup.Audience is null) return null;
        CompiledAudience? audience;
        if (lookup.Audience is { } name)
        {
            audience = audiences.Find(a => a.Name == name);
            if (audience is null)
            {
                Error(lookup.At("audience"), $"unknown audience `{name}`{Suggestions.DidYouMean(name, audiences.Select(a => a.Name))}");
                return null;
            }
        }
        else if (audiences.Count == 1) audience = audiences[0];
        else
        {
            Error(lookup.At("fields"), $"lookup needs `audience:` (one of: {string.Join(", ", audiences.Select(a => a.Name))}) when there is not exactly one audience");
            return null;
        }
        foreach (var field in fields)
            if (audience.Layout.Find(field) is null)
                Error(lookup.At("fields"), $"lookup field `{field}` is not an attribute of audience `{audience.Name}`{Suggestions.DidYouMean(field, audience.Layout.Attributes.Select(d => d.Name))}");
        return new CompiledLookup(audience, fields);
    }

    private void CheckDatabases(TailorConfig config)
    {
        if (config.Databases.Count == 0) Error(config.At("databases"), "expected at least one database under `databases`");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var database in config.Databases)
        {
            if (!TableNamePattern().IsMatch(database))
                Error(config.At("databases"), $"database name `{database}` must be 3 to 128 characters of 0-9, a-z and _");
            if (!seen.Add(database)) Error(config.At("databases"), $"database `{database}` is listed twice");
        }
    }

    /// <summary>Yields elements with a unique, non-empty name; reports the rest.</summary>
    private IEnumerable<T> Unique<T>(IEnumerable<T> items, Func<T, string> name, string what, Func<T, SourceLocation>? at = null)
    {
        var seen = new Dictionary<string, T>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            var location = at?.Invoke(item) ?? ((ConfigElement)(object)item!).At("name");
            var key = name(item);
            if (string.IsNullOrEmpty(key)) continue; // already reported by the binder
            if (seen.TryGetValue(key, out var first))
            {
                var firstLocation = at?.Invoke(first) ?? ((ConfigElement)(object)first!).At("name");
                Error(location, $"duplicate {what} name `{key}` (first defined at line {firstLocation.Line})");
                continue;
            }
            seen.Add(key, item);
            yield return item;
        }
    }

    private CompiledAudience? CompileAudience(TailorConfig config, AudienceConfig audience)
    {
        var before = errors.Count;

        // Stitching keys
        if (audience.StitchingKeys.Count == 0) Error(audience.At("stitching_keys"), $"audience `{audience.Name}` needs at least one stitching key (e.g. td_client_id)");
        if (audience.StitchingKeys.Count > MaxStitchingKeys) Error(audience.At("stitching_keys"), $"at most {MaxStitchingKeys} stitching keys per audience, found {audience.StitchingKeys.Count}");
        var keys = new List<CompiledStitchingKey>();
        foreach (var key in Unique(audience.StitchingKeys, k => k.Name, "stitching key"))
        {
            Regex? regex = null;
            if (key.ValidRegex is { } pattern)
            {
                try
                {
                    regex = new Regex(pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);
                }
                catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
                {
                    Error(key.At("valid_regex"), $"invalid valid_regex: {ex.Message}");
                }
            }
            keys.Add(new CompiledStitchingKey(key.Name, regex, key.InvalidValues.ToHashSet(StringComparer.Ordinal)));
        }

        // Event tables
        var tables = new List<string>();
        foreach (var table in audience.EventTables)
        {
            if (CheckTable(config, table, audience.At("event_tables"))) tables.Add(table);
            else continue;
            if (tables.Count(t => t == table) > 1) Error(audience.At("event_tables"), $"event table `{table}` is listed twice");
        }
        if (audience.EventTables.Count == 0) Error(audience.At("event_tables"), $"audience `{audience.Name}` needs at least one event table (database.table)");

        // Key events
        var filterSymbols = CompiledAudience.EventFilterSymbols;
        var keyEvents = new List<CompiledKeyEvent>();
        if (audience.KeyEvents.Count > MaxKeyEvents) Error(audience.At("key_events"), $"at most {MaxKeyEvents} key events per audience, found {audience.KeyEvents.Count}");
        foreach (var keyEvent in Unique(audience.KeyEvents, k => k.Name, "key event"))
        {
            if (keyEvent.Table.Length > 0 && !audience.EventTables.Contains(keyEvent.Table))
                Error(keyEvent.At("table"), $"key event `{keyEvent.Name}` reads table `{keyEvent.Table}`, which is not one of the audience's event_tables{Suggestions.DidYouMean(keyEvent.Table, audience.EventTables)}");
            var filter = keyEvent.Filter is null ? null : CompileRule(keyEvent.Filter, filterSymbols);
            keyEvents.Add(new CompiledKeyEvent(keyEvent.Name, keyEvents.Count, keyEvent.Table, filter));
        }
        var keyEventNames = keyEvents.Select(k => k.Name).ToList();

        // Attributes
        if (audience.Attributes.Count > MaxAttributes) Error(audience.At("attributes"), $"at most {MaxAttributes} attributes per audience, found {audience.Attributes.Count}");
        var definitions = new List<AttributeDefinition>();
        var attributeEvent = new List<int>();
        var attributeField = new List<string?>();
        var invalidAttributes = new List<string>();
        foreach (var attribute in Unique(audience.Attributes, a => a.Name, "attribute"))
        {
            if (CheckAttribute(attribute, keyEventNames, definitions.Count) is not { } definition)
            {
                invalidAttributes.Add(attribute.Name);
                continue;
            }
            definitions.Add(definition);
            attributeEvent.Add(attribute.Event is null ? -1 : keyEventNames.IndexOf(attribute.Event));
            attributeField.Add(definition.Type == AttributeType.Counter ? attribute.IncrementField : attribute.Field);
        }
        var symbols = CompiledAudience.SymbolsOf(definitions);

        // Batch segments
        var batchSegments = Unique(audience.BatchSegments, b => b.Id, "batch segment id", b => b.At("id")).Select(b => (b.Id, b.Name)).ToList();
        var batchIds = batchSegments.Select(b => b.Id).ToHashSet(StringComparer.Ordinal);

        // Segments: a rule may use segments defined before it.
        var segmentNames = audience.Segments.Select(s => s.Name).ToList();
        var segments = new List<CompiledSegment>();
        var available = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var segment in Unique(audience.Segments, s => s.Name, "segment"))
        {
            var rule = CompileRule(segment.Rule, new RuleSymbols
            {
                Context = RuleContext.Profile,
                Attributes = symbols,
                Segments = new Dictionary<string, int>(available),
                AllSegments = segmentNames,
                BatchSegmentIds = batchIds,
                Unchecked = invalidAttributes,
            });
            if (rule is not null) segments.Add(new CompiledSegment(segment.Name, segments.Count, rule));
            available[segment.Name] = segments.Count - 1;
        }

        if (errors.Count != before) return null;
        var layout = new AttributeLayout(definitions, segments.Select(s => s.Name).ToList());
        return new CompiledAudience(audience.Name, keys, tables, keyEvents, layout, attributeEvent.ToArray(), attributeField.ToArray(), segments, batchSegments);
    }

    private bool CheckTable(TailorConfig config, string qualified, SourceLocation at)
    {
        var dot = qualified.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || !TableNamePattern().IsMatch(qualified[(dot + 1)..]))
        {
            Error(at, $"event table `{qualified}` must be written database.table, each part 3 to 128 characters of 0-9, a-z and _");
            return false;
        }
        var database = qualified[..dot];
        if (!config.Databases.Contains(database))
        {
            Error(at, $"event table `{qualified}` is in database `{database}`, which is not listed under `databases`{Suggestions.DidYouMean(database, config.Databases)}");
            return false;
        }
        return true;
    }

    private AttributeDefinition? CheckAttribute(AttributeConfig a, List<string> keyEvents, int slot)
    {
        var before = errors.Count;
        if (!AttributeNamePattern().IsMatch(a.Name))
            Error(a.At("name"), $"attribute name `{a.Name}` must start with a letter or _ and hold only letters, digits and _");
        if (a.Type is not { } attributeType) return null;
        var type = ConfigBinder.ToSnake(attributeType.ToString());
        var article = attributeType == AttributeType.Imported ? "an" : "a";

        void NotFor(string key, bool present, string appliesTo)
        {
            if (present) Error(a.At(key), $"`{key}` does not apply to {article} {type} attribute; it is for {appliesTo}");
        }

        if (attributeType == AttributeType.Imported)
        {
            NotFor("event", a.Event is not null, "attributes updated by key events");
            NotFor("field", a.Field is not null, "single and list attributes");
        }
        else
        {
            if (a.Event is null)
            {
                if (!a.Has("event")) Error(a.Location, $"attribute `{a.Name}` ({type}) needs `event`: the key event that updates it");
            }
            else if (!keyEvents.Contains(a.Event))
                Error(a.At("event"), $"unknown key event `{a.Event}`{Suggestions.DidYouMean(a.Event, keyEvents)}");
            if (attributeType is AttributeType.Single or AttributeType.List && a.Field is null && !a.Has("field"))
                Error(a.Location, $"attribute `{a.Name}` ({type}) needs `field`: the event field it keeps");
        }
        NotFor("ttl", a.Ttl is not null && attributeType != AttributeType.Single, "single attributes");
        NotFor("max_items", a.Has("max_items") && attributeType != AttributeType.List, "list attributes");
        NotFor("distinct", a.Distinct && attributeType != AttributeType.List, "list attributes");
        NotFor("increment_field", a.IncrementField is not null && attributeType != AttributeType.Counter, "counter attributes");
        NotFor("counter_type", a.Has("counter_type") && attributeType != AttributeType.Counter, "counter attributes");
        NotFor("sub_windows", a.SubWindows.Count > 0 && !(attributeType == AttributeType.Counter && a.CounterType == CounterType.Sliding), "sliding counters");
        NotFor("data_type", a.Has("data_type") && attributeType == AttributeType.Counter, "single, list and imported attributes");
        NotFor("field", a.Field is not null && attributeType == AttributeType.Counter, "single and list attributes (a counter sums `increment_field`)");
        if (attributeType == AttributeType.List)
        {
            if (a.MaxItems > MaxListItems) Error(a.At("max_items"), $"max_items is at most {MaxListItems}, found {a.MaxItems}");
            if (a.Window > MaxListWindow) Error(a.At("window"), $"a list's window is at most 60d, found {Duration.Format(a.Window.Value)}");
        }
        var windows = new List<long>();
        var windowNames = new List<string>();
        if (attributeType == AttributeType.Counter)
        {
            if (a.CounterType == CounterType.Total)
                NotFor("window", a.Window is not null, "sliding counters (a total counter counts all time)");
            else if (a.Window is not { } window)
            {
                if (!a.Has("window")) Error(a.Location, $"sliding counter `{a.Name}` needs `window` (e.g. 7d), or `counter_type: total`");
            }
            else
            {
                foreach (var w in a.SubWindows.Prepend(window))
                {
                    if (w > MaxCounterWindow) Error(a.At(w == window ? "window" : "sub_windows"), $"a counter window is at most 366d, found {Duration.Format(w)}");
                    var name = Duration.Format(w);
                    if (windowNames.Contains(name)) Error(a.At("sub_windows"), $"window {name} is listed twice for counter `{a.Name}`");
                    if (w < TimeSpan.FromMinutes(1)) Error(a.At(w == window ? "window" : "sub_windows"), $"a counter window is at least 1m, found {name}");
                    windows.Add((long)w.TotalMilliseconds);
                    windowNames.Add(name);
                }
            }
        }
        else if (attributeType != AttributeType.List)
            NotFor("window", a.Window is not null, "list attributes and sliding counters");

        if (errors.Count != before || a.BindFailed) return null;
        return new AttributeDefinition(a.Name, slot, attributeType, a.CounterType, a.DataType,
            a.Ttl is { } ttl ? (long)ttl.TotalMilliseconds : null,
            attributeType == AttributeType.List && a.Window is { } listWindow ? (long)listWindow.TotalMilliseconds : windows.Count > 0 ? windows[0] : null,
            a.MaxItems, a.Distinct, windows.ToArray(), windowNames.ToArray(), a.Sensitive, a.IncrementField is not null);
    }

    private CompiledService? CompileService(ServiceConfig service, List<CompiledAudience> audiences, TailorConfig config)
    {
        var before = errors.Count;
        if (service.Tokens.Count > MaxTokensPerService)
            Error(service.At("tokens"), $"a service has at most {MaxTokensPerService} tokens, found {service.Tokens.Count}");
        foreach (var _ in Unique(service.Tokens, t => t.Name, "token")) { }
        if (service.Public && service.AllowedOrigins.Count == 0)
            Error(service.At("public"), $"public service `{service.Name}` needs `allowed_origins` (browsers calling /public/ must send one of them as Origin)");
        if (!service.Public && service.AllowedOrigins.Count > 0)
            Error(service.At("allowed_origins"), "`allowed_origins` applies to public services only (set `public: true`)");
        foreach (var origin in service.AllowedOrigins)
            if (!OriginPattern().IsMatch(origin))
                Error(service.At("allowed_origins"), $"origin `{origin}` must be scheme://host[:port] with no path, e.g. https://shop.example.com");

        var audience = audiences.FirstOrDefault(a => a.Name == service.Audience);
        if (audience is null)
        {
            // An audience that exists but failed to compile was reported already.
            if (service.Audience.Length > 0 && !config.Audiences.Any(a => a.Name == service.Audience))
                Error(service.At("audience"), $"unknown audience `{service.Audience}`{Suggestions.DidYouMean(service.Audience, config.Audiences.Select(a => a.Name))}");
            return null;
        }

        var keyEventNames = audience.KeyEvents.Select(k => k.Name).ToList();
        var profileSymbols = audience.ProfileSymbols;
        var filterSymbols = CompiledAudience.EventFilterSymbols;
        var sections = new List<CompiledSection>();
        var sectionNames = new Dictionary<string, SectionConfig>(StringComparer.Ordinal);
        foreach (var personalization in Unique(service.Personalizations, p => p.Name, "personalization"))
        {
            foreach (var section in personalization.Sections)
            {
                if (section.Name.Length == 0) continue;
                if (!sectionNames.TryAdd(section.Name, section))
                {
                    Error(section.At("name"), $"duplicate section name `{section.Name}` in service `{service.Name}` (first defined at line {sectionNames[section.Name].At("name").Line}); offers are keyed by section name");
                    continue;
                }
                if (CompileSection(personalization.Name, section, audience, keyEventNames, profileSymbols, filterSymbols) is { } compiled) sections.Add(compiled);
            }
        }
        return errors.Count == before ? new CompiledService(service, audience, sections) : null;
    }

    private CompiledSection? CompileSection(string personalization, SectionConfig section, CompiledAudience audience, List<string> keyEvents, RuleSymbols profileSymbols, RuleSymbols filterSymbols)
    {
        var before = errors.Count;
        var criteria = section.Criteria;
        var keyEvent = -1;
        if (criteria.Event is { } eventName)
        {
            keyEvent = keyEvents.IndexOf(eventName);
            if (keyEvent < 0) Error(criteria.At("event"), $"unknown key event `{eventName}`{Suggestions.DidYouMean(eventName, keyEvents)}");
        }
        var eventFilter = criteria.EventFilter is null ? null : CompileRule(criteria.EventFilter, filterSymbols);
        var profile = criteria.Profile is null ? null : CompileRule(criteria.Profile, profileSymbols);

        var payload = section.Payload;
        var outputs = new HashSet<string>(StringComparer.Ordinal);
        var attributes = new List<PayloadAttribute>();
        foreach (var item in payload.Attributes)
        {
            if (!outputs.Add(item.Output)) Error(item.At("output"), $"output `{item.Output}` appears twice in section `{section.Name}`");
            var name = item.Attribute;
            var dot = name.IndexOf('.', StringComparison.Ordinal);
            var definition = audience.Layout.Find(name) ?? (dot > 0 ? audience.Layout.Find(name[..dot]) : null);
            if (definition is null)
            {
                var candidates = audience.Layout.Attributes.SelectMany(a => a.WindowNames.Select(w => $"{a.Name}.{w}").Prepend(a.Name));
                Error(item.At("attribute"), $"unknown attribute `{name}`{Suggestions.DidYouMean(name, candidates)}");
                continue;
            }
            var window = 0;
            if (definition.Name.Length != name.Length)
            {
                window = Array.IndexOf(definition.WindowNames, name[(dot + 1)..]);
                if (window < 0)
                {
                    Error(item.At("attribute"), definition.IsSliding
                        ? $"counter `{definition.Name}` has no window `{name[(dot + 1)..]}`; its windows are {string.Join(", ", definition.WindowNames)}"
                        : $"`{definition.Name}` has no windows; only sliding counters do");
                    continue;
                }
            }
            attributes.Add(new PayloadAttribute(System.Text.Json.JsonEncodedText.Encode(item.Output), definition, window));
        }
        foreach (var item in payload.Strings)
            if (!outputs.Add(item.Output)) Error(item.At("output"), $"output `{item.Output}` appears twice in section `{section.Name}`");
        var batchIds = audience.BatchSegments.Select(b => b.Id).ToList();
        foreach (var id in payload.BatchSegments)
            if (!batchIds.Contains(id))
                Error(payload.At("batch_segments"), $"unknown batch segment id `{id}`{Suggestions.DidYouMean(id, batchIds)}; it must be listed under the audience's batch_segments");

        if (errors.Count != before) return null;
        return new CompiledSection(personalization, section.Name, keyEvent, criteria.Event, eventFilter, profile, criteria.AcceptUnknownProfiles,
            attributes, payload.Strings.Select(s => (System.Text.Json.JsonEncodedText.Encode(s.Output), s.Value)).ToList(), payload.BatchSegments);
    }

    /// <summary>Compiles a rule, reporting its errors at file positions.</summary>
    private CompiledRule? CompileRule(RuleText rule, RuleSymbols symbols)
    {
        var compiled = RuleCompiler.Compile(rule.Text, symbols, out var ruleErrors);
        foreach (var error in ruleErrors)
        {
            var (line, column) = LineColumn(rule.Text, error.Offset);
            Error(rule.Start.Offset(line, column, rule.ContinuationIndent), $"in rule `{rule.Text}`: {error.Message}");
        }
        return compiled;
    }

    private static (int Line, int Column) LineColumn(string text, int offset)
    {
        int line = 1, column = 1;
        for (var i = 0; i < offset && i < text.Length; i++)
        {
            if (text[i] == '\n') (line, column) = (line + 1, 1);
            else column++;
        }
        return (line, column);
    }
}
