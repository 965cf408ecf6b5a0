namespace Tailor.Server.Grains;

/// <summary>An identifier on the wire between grains.</summary>
[GenerateSerializer, Immutable]
public readonly record struct IdentifierDto([property: Id(0)] string Key, [property: Id(1)] string Value);

/// <summary>What the identity grain decided for an event's identifiers.</summary>
[GenerateSerializer, Immutable]
public sealed class StitchReply
{
    [Id(0)] public Guid ProfileId { get; init; }
    [Id(1)] public bool IsNew { get; init; }
    /// <summary>Profiles to merge into <see cref="ProfileId"/> (oldest first).</summary>
    [Id(2)] public Guid[] MergeSources { get; init; } = [];
    /// <summary>Identifiers that now map to <see cref="ProfileId"/> and did not before (to persist).</summary>
    [Id(3)] public IdentifierDto[] Upserted { get; init; } = [];
}

/// <summary>One personalization call as the profile grain receives it.</summary>
[GenerateSerializer, Immutable]
public sealed record PersonalizeCall
{
    [Id(0)] public long AccountId { get; init; }
    [Id(1)] public string Audience { get; init; } = "";
    [Id(2)] public string Service { get; init; } = "";
    [Id(3)] public string Database { get; init; } = "";
    [Id(4)] public string Table { get; init; } = "";
    /// <summary>The event as it will be stored: UTF-8 JSON with time and uuid filled in.</summary>
    [Id(5)] public byte[] Body { get; init; } = [];
    [Id(6)] public string Uuid { get; init; } = "";
    [Id(7)] public bool ClientUuid { get; init; }
    [Id(8)] public long Time { get; init; }
    [Id(9)] public bool IsPublic { get; init; }
    [Id(10)] public IdentifierDto[] Identifiers { get; init; } = [];
    [Id(11)] public StitchReply Stitch { get; init; } = new();
}

/// <summary>The profile grain's answer: the offers, or where the profile went (merged).</summary>
[GenerateSerializer, Immutable]
public sealed class PersonalizeReply
{
    [Id(0)] public byte[] OffersJson { get; init; } = [];
    [Id(1)] public long Seq { get; init; }
    [Id(2)] public Guid? MovedTo { get; init; }
    [Id(3)] public Guid ProfileId { get; init; }
}

/// <summary>The call's service left the configuration while the call was on its way (answered like an unknown token, 3001).</summary>
[GenerateSerializer]
public sealed class ServiceNotConfiguredException : Exception
{
    public ServiceNotConfiguredException() { }
    public ServiceNotConfiguredException(string service) : base($"service `{service}` is not in the configuration") { }
    public ServiceNotConfiguredException(string message, Exception inner) : base(message, inner) { }
}
