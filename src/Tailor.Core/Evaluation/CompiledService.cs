using System.Buffers;
using System.Text.Json;
using Tailor.Core.Configuration;
using Tailor.Core.Criteria;
using Tailor.Core.Events;
using Tailor.Core.Profiles;

namespace Tailor.Core.Evaluation;

/// <summary>One payload attribute output: which attribute (and counter window) under which name.</summary>
public sealed record PayloadAttribute(JsonEncodedText Output, AttributeDefinition Attribute, int Window);

/// <summary>A section (offer) of a personalization, with its criteria compiled.</summary>
public sealed class CompiledSection
{
    internal CompiledSection(string personalization, string name, int keyEvent, string? keyEventName, CompiledRule? eventFilter, CompiledRule? profile,
        bool acceptUnknownProfiles, IReadOnlyList<PayloadAttribute> attributes, IReadOnlyList<(JsonEncodedText Output, string Value)> strings, IReadOnlyList<string> batchSegments)
    {
        Personalization = personalization;
        Name = name;
        EncodedName = JsonEncodedText.Encode(name);
        KeyEvent = keyEvent;
        KeyEventName = keyEventName;
        EventFilter = eventFilter;
        Profile = profile;
        AcceptUnknownProfiles = acceptUnknownProfiles;
        AttributeArray = attributes.ToArray();
        Attributes = AttributeArray;
        StringArray = strings.ToArray();
        Strings = StringArray;
        BatchSegmentArray = batchSegments.ToArray();
        BatchSegments = BatchSegmentArray;
    }

    // Arrays for the offers writer: foreach over an interface boxes an enumerator per loop.
    internal PayloadAttribute[] AttributeArray { get; }
    internal (JsonEncodedText Output, string Value)[] StringArray { get; }
    internal string[] BatchSegmentArray { get; }

    public string Personalization { get; }
    public string Name { get; }
    internal JsonEncodedText EncodedName { get; }
    /// <summary>Index of the key event that must arrive, or -1.</summary>
    public int KeyEvent { get; }
    public string? KeyEventName { get; }
    public CompiledRule? EventFilter { get; }
    public CompiledRule? Profile { get; }
    public bool AcceptUnknownProfiles { get; }
    public IReadOnlyList<PayloadAttribute> Attributes { get; }
    public IReadOnlyList<(JsonEncodedText Output, string Value)> Strings { get; }
    public IReadOnlyList<string> BatchSegments { get; }
}

/// <summary>A personalization service: its tokens' settings and its sections in configuration order.</summary>
public sealed class CompiledService
{
    /// <summary>The hosted service's response cap; sections that would exceed it are cut.</summary>
    public const int MaxResponseBytes = 10 * 1024;

    private static readonly JsonEncodedText OffersName = JsonEncodedText.Encode("offers");
    private static readonly JsonEncodedText AttributesName = JsonEncodedText.Encode("attributes");
    private static readonly JsonEncodedText BatchSegmentsName = JsonEncodedText.Encode("batch_segments");
    private static readonly JsonEncodedText IdName = JsonEncodedText.Encode("id");

    private readonly CompiledSection[] _sections;

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_scratch;
    [ThreadStatic] private static Utf8JsonWriter? t_scratchWriter;

    internal CompiledService(ServiceConfig source, CompiledAudience audience, IReadOnlyList<CompiledSection> sections)
    {
        Name = source.Name;
        Audience = audience;
        Public = source.Public;
        AllowedOrigins = source.AllowedOrigins.ToHashSet(StringComparer.Ordinal);
        Tokens = source.Tokens.Select(t => new CompiledToken(t.Name, t.AllowedIps)).ToList();
        ConcurrentLimit = source.Limits.Concurrent;
        _sections = sections.ToArray();
        Sections = _sections;
    }

    public string Name { get; }
    public CompiledAudience Audience { get; }
    public bool Public { get; }
    public IReadOnlySet<string> AllowedOrigins { get; }
    public IReadOnlyList<CompiledToken> Tokens { get; }
    public int ConcurrentLimit { get; }
    public IReadOnlyList<CompiledSection> Sections { get; }

    private bool Matches(CompiledSection section, ProfileScope scope, in ApplyResult applied, bool profileIsNew) =>
        (section.KeyEvent < 0 || applied.Matched(section.KeyEvent))
        && (section.AcceptUnknownProfiles || !profileIsNew)
        && (section.EventFilter is null || section.EventFilter.Evaluate(scope))
        && (section.Profile is null || section.Profile.Evaluate(scope));

    /// <summary>
    /// Writes <c>{"offers": {...}}</c> for the profile after the event was applied: every matching
    /// section in configuration order, sensitive attributes dropped when <paramref name="isPublic"/>,
    /// and the whole answer kept within <see cref="MaxResponseBytes"/>.
    /// </summary>
    public OffersSummary WriteOffers(Utf8JsonWriter writer, ProfileState state, EventData data, in ApplyResult applied, bool isPublic, bool profileIsNew, long nowMs)
    {
        Audience.Adopt(state);
        var scope = ProfileScope.For(Audience.Layout, state, data, nowMs);
        var scratch = t_scratch ??= new ArrayBufferWriter<byte>(1024);
        var sectionWriter = t_scratchWriter ??= new Utf8JsonWriter(scratch, new JsonWriterOptions { SkipValidation = true });
        writer.WriteStartObject();
        writer.WritePropertyName(OffersName);
        writer.WriteStartObject();
        var size = 13L; // {"offers":{}}
        var matched = 0;
        List<string>? cut = null;
        foreach (var section in _sections)
        {
            if (!Matches(section, scope, applied, profileIsNew)) continue;
            matched++;
            scratch.ResetWrittenCount();
            sectionWriter.Reset(scratch);
            WriteSection(sectionWriter, section, state, nowMs, isPublic);
            sectionWriter.Flush();
            var sectionSize = scratch.WrittenCount + section.EncodedName.EncodedUtf8Bytes.Length + 4;
            if (size + sectionSize > MaxResponseBytes)
            {
                (cut ??= []).Add(section.Name);
                continue;
            }
            size += sectionSize;
            writer.WritePropertyName(section.EncodedName);
            writer.WriteRawValue(scratch.WrittenSpan, skipInputValidation: true);
        }
        writer.WriteEndObject();
        writer.WriteEndObject();
        return new OffersSummary(matched, (IReadOnlyList<string>?)cut ?? []);
    }

    private static void WriteSection(Utf8JsonWriter writer, CompiledSection section, ProfileState state, long nowMs, bool isPublic)
    {
        writer.WriteStartObject();
        var attributesOpen = false;
        foreach (var payload in section.AttributeArray)
        {
            var definition = payload.Attribute;
            if (isPublic && definition.Sensitive) continue;
            var attributeState = state.Attributes[definition.Slot];
            if (definition.Type == AttributeType.List)
            {
                if (attributeState is not ListState list) continue;
                var count = AttributeOps.VisibleCount(definition, list, nowMs);
                if (count == 0) continue;
                OpenAttributes(writer, ref attributesOpen);
                writer.WritePropertyName(payload.Output);
                writer.WriteStartArray();
                for (var i = 0; i < count; i++) ValueJson.Write(writer, list[i].Value);
                writer.WriteEndArray();
                continue;
            }
            var value = AttributeOps.Read(definition, attributeState, nowMs, payload.Window);
            if (value.IsAbsent) continue;
            OpenAttributes(writer, ref attributesOpen);
            writer.WritePropertyName(payload.Output);
            ValueJson.Write(writer, value);
        }
        foreach (var (output, text) in section.StringArray)
        {
            OpenAttributes(writer, ref attributesOpen);
            writer.WriteString(output, text);
        }
        if (attributesOpen) writer.WriteEndObject();
        var segmentsOpen = false;
        foreach (var id in section.BatchSegmentArray)
        {
            if (!state.InBatchSegment(id)) continue;
            if (!segmentsOpen)
            {
                writer.WritePropertyName(BatchSegmentsName);
                writer.WriteStartArray();
                segmentsOpen = true;
            }
            writer.WriteStartObject();
            writer.WriteString(IdName, id);
            writer.WriteEndObject();
        }
        if (segmentsOpen) writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void OpenAttributes(Utf8JsonWriter writer, ref bool open)
    {
        if (open) return;
        writer.WritePropertyName(AttributesName);
        writer.WriteStartObject();
        open = true;
    }

    /// <summary>The offers as a JSON string (tests, CLI, explain output).</summary>
    public string OffersJson(ProfileState state, EventData data, in ApplyResult applied, bool isPublic, bool profileIsNew, long nowMs)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
            WriteOffers(writer, state, data, applied, isPublic, profileIsNew, nowMs);
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Explain mode: for every section, whether it matched and the first condition that failed.</summary>
    public IReadOnlyList<SectionExplanation> Explain(ProfileState state, EventData data, in ApplyResult applied, bool profileIsNew, long nowMs)
    {
        Audience.Adopt(state);
        var scope = ProfileScope.For(Audience.Layout, state, data, nowMs);
        var result = new List<SectionExplanation>(Sections.Count);
        foreach (var section in Sections)
        {
            string? failed = null;
            if (section.KeyEvent >= 0 && !applied.Matched(section.KeyEvent))
            {
                var matchedMask = applied.MatchedKeyEvents;
                var matchedNames = Audience.KeyEvents.Where(k => (matchedMask & (1UL << k.Index)) != 0).Select(k => k.Name).ToList();
                failed = $"event: this event is not a `{section.KeyEventName}` key event (it matched {(matchedNames.Count == 0 ? "no key event" : string.Join(", ", matchedNames))})";
            }
            else if (!section.AcceptUnknownProfiles && profileIsNew)
                failed = "accept_unknown_profiles: false, and this event created the profile";
            else if (section.EventFilter?.Explain(scope) is { } filter)
                failed = $"event_filter: {filter}";
            else if (section.Profile?.Explain(scope) is { } profile)
                failed = $"profile: {profile}";
            result.Add(new SectionExplanation(section.Personalization, section.Name, failed is null, failed));
        }
        return result;
    }
}

/// <summary>A service token's settings (its secret lives in the server's key store, never in configuration).</summary>
public sealed record CompiledToken(string Name, IReadOnlyList<IpNetwork> AllowedIps)
{
    /// <summary>True when the token has no allow-list or the address is inside it.</summary>
    public bool Allows(System.Net.IPAddress address)
    {
        if (AllowedIps.Count == 0) return true;
        // A loop, not Any(): checked on every call (no closure or enumerator).
        for (var i = 0; i < AllowedIps.Count; i++)
            if (AllowedIps[i].Contains(address)) return true;
        return false;
    }
}
