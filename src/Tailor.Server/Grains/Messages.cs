namespace Tailor.Server.Grains;

/// <summary>An identifier on the wire between grains.</summary>
[GenerateSerializer, Immutable]
public readonly record struct IdentifierDto([property: Id(0)] string Key, [property: Id(1)] string Value)
{
    public static IdentifierDto[] From(IReadOnlyList<Tailor.Core.Profiles.Identifier> identifiers)
    {
        var dtos = new IdentifierDto[identifiers.Count];
        for (var i = 0; i < dtos.Length; i++) dtos[i] = new IdentifierDto(identifiers[i].Key, identifiers[i].Value);
        return dtos;
    }

    /// <summary>Makes one from a key and value (for <see cref="Tailor.Core.Evaluation.CompiledAudience.TryGetIdentifiers{T}"/>), made once.</summary>
    public static readonly Func<string, string, IdentifierDto> Make = static (key, value) => new IdentifierDto(key, value);

    /// <summary>The identifier as the engine holds it.</summary>
    public Tailor.Core.Profiles.Identifier ToIdentifier() => new(Key, Value);

    /// <summary>The same as a delegate, made once (for <see cref="Tailor.Core.Profiles.ProfileState.AddIdentifiers{T}"/>).</summary>
    public static readonly Func<IdentifierDto, Tailor.Core.Profiles.Identifier> Convert = static i => i.ToIdentifier();

    /// <summary>Each identifier's <see cref="Tailor.Core.Identity.IdentifierHash"/>: a call works them out once, for the hints and the identity grain.</summary>
    public static UInt128[] Hashes(IdentifierDto[] identifiers)
    {
        var hashes = new UInt128[identifiers.Length];
        Hash(identifiers, hashes);
        return hashes;
    }

    /// <summary>The same into <paramref name="hashes"/> (as long as <paramref name="identifiers"/>).</summary>
    public static void Hash(IdentifierDto[] identifiers, Span<UInt128> hashes)
    {
        for (var i = 0; i < identifiers.Length; i++) hashes[i] = Tailor.Core.Identity.IdentifierHash.Of(identifiers[i].Key, identifiers[i].Value);
    }
}

/// <summary>
/// What the identity grain decided for an event's identifiers. A struct, as <see cref="PersonalizeReply"/>:
/// every call that stitches makes one, and a class was an object per call (docs/performance.md).
/// </summary>
[GenerateSerializer, Immutable]
public readonly struct StitchReply
{
    [Id(0)] public Guid ProfileId { get; init; }
    [Id(1)] public bool IsNew { get; init; }
    /// <summary>Profiles to merge into <see cref="ProfileId"/> (oldest first).</summary>
    public Guid[] MergeSources { get => _mergeSources ?? []; init => _mergeSources = value; }
    /// <summary>Identifiers that now map to <see cref="ProfileId"/> and did not before (to persist).</summary>
    public IdentifierDto[] Upserted { get => _upserted ?? []; init => _upserted = value; }
    /// <summary>
    /// Not decided by the identity grain: the edge's hint (<see cref="Ingest.IdentityHints"/>) that every
    /// identifier of the call is the profile's. The profile takes the call only if it holds them all.
    /// </summary>
    [Id(4)] public bool Hinted { get; init; }

    // Serialized as they are (the properties read a missing array as empty).
    [Id(2)] private readonly Guid[]? _mergeSources;
    [Id(3)] private readonly IdentifierDto[]? _upserted;
}

/// <summary>
/// One personalization call as the profile grain receives it. The handler takes it from a pool and
/// puts it back once the call has answered (nothing holds a call after its answer: the grains' direct
/// calls drop it as they complete), so its properties are settable; it is not changed while it travels.
/// </summary>
[GenerateSerializer, Immutable]
public sealed class PersonalizeCall
{
    [Id(0)] public long AccountId { get; set; }
    [Id(1)] public string Audience { get; set; } = "";
    [Id(2)] public string Service { get; set; } = "";
    [Id(3)] public string Database { get; set; } = "";
    [Id(4)] public string Table { get; set; } = "";
    /// <summary>
    /// The event as it will be stored: UTF-8 JSON with time and uuid filled in (in the handler's pooled
    /// array, which it takes back once the call has answered).
    /// </summary>
    [Id(5)] public ReadOnlyMemory<byte> Body { get; set; }
    /// <summary>The client's uuid (<see cref="ClientUuid"/>), or empty: the server made <see cref="MadeUuid"/> (a string of it is made only if read).</summary>
    [Id(6)] public string Uuid { get; set; } = "";
    /// <summary>True when the client sent the uuid (it then makes the call idempotent).</summary>
    public bool ClientUuid => Uuid.Length > 0;
    [Id(8)] public long Time { get; set; }
    [Id(9)] public bool IsPublic { get; set; }
    [Id(10)] public IdentifierDto[] Identifiers { get; set; } = [];
    /// <summary><c>database.table</c>, as the audience's configuration names it (the handler found it there).</summary>
    [Id(11)] public required string EventTable { get; set; }
    [Id(12)] public Guid MadeUuid { get; set; }
    /// <summary>
    /// <see cref="Body"/> as parsed by the handler (time and uuid filled in), handed over in memory so
    /// that the profile grain does not parse it again. Not serialized: a call from another silo has
    /// none, and the grain parses <see cref="Body"/>.
    /// </summary>
    public Tailor.Core.Events.EventData? Event { get => _event; set => _event = value; }
    [NonSerialized] private Tailor.Core.Events.EventData? _event;

    /// <summary>
    /// Each of <see cref="Identifiers"/>' hashes (<see cref="IdentifierDto.Hashes"/>), worked out anew into an
    /// array the pooled call keeps for its next use when that has as many identifiers (most calls do).
    /// </summary>
    public UInt128[] HashIdentifiers()
    {
        var hashes = _hashes is { } kept && kept.Length == Identifiers.Length ? kept : _hashes = new UInt128[Identifiers.Length];
        IdentifierDto.Hash(Identifiers, hashes);
        return hashes;
    }

    [NonSerialized] private UInt128[]? _hashes;

    /// <summary>The array <see cref="Identifiers"/> had in the pooled call's last use, emptied: the next fills it when it has as many.</summary>
    public IdentifierDto[]? SpareIdentifiers => _spareIdentifiers;

    [NonSerialized] private IdentifierDto[]? _spareIdentifiers;

    /// <summary>For the pool: <see cref="Identifiers"/> emptied (it keeps no strings alive) and kept as <see cref="SpareIdentifiers"/>.</summary>
    public void KeepIdentifiersArray()
    {
        Array.Clear(Identifiers);
        if (Identifiers.Length > 0) _spareIdentifiers = Identifiers;
        Identifiers = [];
    }

    /// <summary>The event object of the pooled call's last use, released: the handler parses the next event into it.</summary>
    public Tailor.Core.Events.EventData? SpareEvent => _spareEvent;

    [NonSerialized] private Tailor.Core.Events.EventData? _spareEvent;

    /// <summary>For the pool, once the call has answered and <see cref="Event"/> is released: it is kept as <see cref="SpareEvent"/>.</summary>
    public void KeepEventObject()
    {
        if (_event is not null) _spareEvent = _event;
        _event = null;
    }
}

/// <summary>The profile grain's answer: the offers, or where the profile went (merged). A struct: one per call.</summary>
[GenerateSerializer, Immutable]
public readonly struct PersonalizeReply
{
    public byte[] OffersJson { get => _offersJson ?? []; init => _offersJson = value; }
    [Id(1)] public long Seq { get; init; }
    [Id(2)] public Guid? MovedTo { get; init; }
    [Id(3)] public Guid ProfileId { get; init; }
    /// <summary>A hinted call the profile did not take (it does not hold every identifier of the call): stitch it.</summary>
    [Id(4)] public bool HintRejected { get; init; }

    [Id(0)] private readonly byte[]? _offersJson;
}

/// <summary>The call's service left the configuration while the call was on its way (answered like an unknown token, 3001).</summary>
[GenerateSerializer]
public sealed class ServiceNotConfiguredException : Exception
{
    public ServiceNotConfiguredException() { }
    public ServiceNotConfiguredException(string service) : base($"service `{service}` is not in the configuration") { }
    public ServiceNotConfiguredException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>An imported value on the wire (a <see cref="Tailor.Core.Value"/> taken apart).</summary>
[GenerateSerializer, Immutable]
public sealed record ImportValueDto([property: Id(0)] string Attribute, [property: Id(1)] Tailor.Core.ValueKind Kind, [property: Id(2)] string? Text, [property: Id(3)] double Number)
{
    public static ImportValueDto From(string attribute, Tailor.Core.Value value) => new(attribute, value.Kind, value.Text, value.Number);

    public Tailor.Core.Value ToValue() => Kind switch
    {
        Tailor.Core.ValueKind.String => Tailor.Core.Value.FromString(Text ?? ""),
        Tailor.Core.ValueKind.Number => Tailor.Core.Value.FromNumber(Number),
        Tailor.Core.ValueKind.Bool => Tailor.Core.Value.FromBool(Number != 0),
        Tailor.Core.ValueKind.Json => Tailor.Core.Value.FromJson(Text ?? "null"),
        Tailor.Core.ValueKind.Null => Tailor.Core.Value.Null,
        _ => Tailor.Core.Value.Missing,
    };
}

/// <summary>One checked import row on its way to the grains.</summary>
[GenerateSerializer, Immutable]
public sealed class ImportRowDto
{
    [Id(0)] public long Line { get; init; }
    [Id(1)] public IdentifierDto[] Identifiers { get; init; } = [];
    /// <summary>Lookup index keys, 16 bytes each.</summary>
    [Id(2)] public byte[][] LookupKeys { get; init; } = [];
    [Id(3)] public ImportValueDto[] Values { get; init; } = [];
    [Id(4)] public string[]? BatchSegments { get; init; }
    /// <summary>For a row without stitching identifiers: the profile its lookup keys already find.</summary>
    [Id(5)] public Guid? KnownProfile { get; init; }
}

/// <summary>What the identity grain did with an import row: created the profile, or left it to the profile's grain.</summary>
[GenerateSerializer, Immutable]
public sealed class ImportOutcome
{
    [Id(0)] public Guid ProfileId { get; init; }
    [Id(1)] public bool Created { get; init; }
    /// <summary>Set when the row updates an existing profile: the stitching decision to hand to its grain.</summary>
    [Id(2)] public StitchReply? Forward { get; init; }
}

/// <summary>An import row for an existing profile.</summary>
[GenerateSerializer, Immutable]
public sealed record ImportCall([property: Id(0)] ImportRowDto Row, [property: Id(1)] StitchReply Stitch);

/// <summary>The profile an erasure forgot, and how many identifiers it had.</summary>
[GenerateSerializer, Immutable]
public sealed class EraseSummary
{
    [Id(0)] public Guid ProfileId { get; init; }
    [Id(1)] public int Identifiers { get; init; }
}

/// <summary>The profile grain's part of an erasure: the identifiers it held, or where the profile went.</summary>
[GenerateSerializer, Immutable]
public sealed class EraseReply
{
    [Id(0)] public Guid? MovedTo { get; init; }
    [Id(1)] public IdentifierDto[] Identifiers { get; init; } = [];
}
