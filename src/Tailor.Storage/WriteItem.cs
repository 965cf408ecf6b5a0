namespace Tailor.Storage;

/// <summary>
/// Everything one personalization call changes, committed atomically and in order by the event log:
/// the event itself, the profile snapshot it produced, identity changes and merges. Because a call's
/// effects are never split across transactions, the store always holds a consistent prefix of the log.
/// </summary>
public sealed class WriteItem
{
    public required AudienceScope Scope { get; init; }
    public required string Database { get; init; }
    public required string Table { get; init; }
    public required string Uuid { get; init; }
    /// <summary>True when the client sent the uuid (it then makes the call idempotent).</summary>
    public bool ClientUuid { get; init; }
    /// <summary>Event time, epoch seconds.</summary>
    public required long Time { get; init; }
    /// <summary>The event as stored (with time and uuid filled in), UTF-8 JSON.</summary>
    public required byte[] Body { get; init; }
    public required Guid ProfileId { get; init; }
    /// <summary>The profile after this event (ProfileSnapshot bytes).</summary>
    public required byte[] Snapshot { get; init; }
    public IReadOnlyList<IdentityRecord> IdentitiesUpserted { get; init; } = [];
    public IReadOnlyList<(string Key, string Value)> IdentitiesDeleted { get; init; } = [];
    /// <summary>Profiles merged into <see cref="ProfileId"/> by this event: their snapshots go, aliases stay.</summary>
    public IReadOnlyList<Guid> MergedProfiles { get; init; } = [];
}
