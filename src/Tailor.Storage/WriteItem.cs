namespace Tailor.Storage;

/// <summary>
/// Everything one personalization call changes, committed atomically and in order by the event log:
/// the event itself, the profile snapshot it produced, identity changes and merges. A call's effects
/// are never split across transactions (the embedded store commits them as one pending change, and
/// writes them into its profile tables later, see SqliteStore.WriteBehind). Once its append has
/// completed, neither the log nor the store reads it again: its owner may reuse it (a personalization
/// call's comes from a pool, see ProfilePartitionGrain).
/// </summary>
public sealed class WriteItem
{
    public required AudienceScope Scope { get; set; }
    public string Database { get; set; } = "";
    public string Table { get; set; } = "";
    /// <summary>The event's uuid as the client sent it, or empty: it is <see cref="MadeUuid"/>'s text.</summary>
    public string Uuid { get; set; } = "";
    /// <summary>The uuid the server made for an event sent without one (when <see cref="Uuid"/> is empty): stored as its text, made on the stack.</summary>
    public Guid MadeUuid { get; set; }
    /// <summary>True when the client sent the uuid (it then makes the call idempotent).</summary>
    public bool ClientUuid => Uuid.Length > 0;
    /// <summary>Event time, epoch seconds.</summary>
    public long Time { get; set; }
    /// <summary>
    /// The event as stored (with time and uuid filled in), UTF-8 JSON; null for a change that is not
    /// an event (a profile import), which commits the same way but adds nothing to the event log.
    /// </summary>
    public required ReadOnlyMemory<byte>? Body { get; set; }
    public required Guid ProfileId { get; set; }
    /// <summary>The profile after this event (ProfileSnapshot bytes; a partition's are in a pooled array, its again once the commit completes).</summary>
    public required ReadOnlyMemory<byte> Snapshot { get; set; }
    public IReadOnlyList<IdentityRecord> IdentitiesUpserted { get; set; } = [];
    public IReadOnlyList<(string Key, string Value)> IdentitiesDeleted { get; set; } = [];
    /// <summary>Profiles merged into <see cref="ProfileId"/> by this event: their snapshots go, aliases stay.</summary>
    public IReadOnlyList<Guid> MergedProfiles { get; set; } = [];
    /// <summary>Lookup index keys (16 bytes each, see Tailor.Core.Lookup) that now find <see cref="ProfileId"/>.</summary>
    public IReadOnlyList<byte[]> LookupKeys { get; set; } = [];
}
