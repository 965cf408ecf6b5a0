namespace Tailor.Storage;

public enum KeyKind { Master, Write, Lookup }

public sealed record AccountRecord(long Id, string Name, DateTimeOffset CreatedAt);

/// <summary>An API key as stored: only a hash of the secret, never the secret.</summary>
public sealed record ApiKeyRecord(long Id, long AccountId, KeyKind Kind, string Label, byte[] Hash, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt)
{
    /// <summary>What the key may do with the lookup API (lookup and master keys); null: every lookup field, no quota.</summary>
    public LookupGrant? Grant { get; init; }
}

/// <summary>
/// A key's lookup entitlements: the lookup fields it may see (null: all), a quota of looked-up
/// records per period (null: none), and the most records one bulk request may carry.
/// </summary>
public sealed record LookupGrant(IReadOnlyList<string>? Fields = null, long? Quota = null, QuotaPeriod Period = QuotaPeriod.Month, int BulkLimit = LookupGrant.DefaultBulkLimit)
{
    public const int DefaultBulkLimit = 10_000;
}

public enum QuotaPeriod { Day, Month }

/// <summary>Records a key looked up in one quota period (<c>2026-11</c> or <c>2026-11-23</c>).</summary>
public sealed record UsageRecord(long KeyId, string Period, long Records);

/// <summary>A service token as stored: its public instance id and a hash of its secret.</summary>
public sealed record TokenRecord(long InstanceId, long AccountId, string Service, string Name, byte[] Hash, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

public sealed record ConfigVersionRecord(long AccountId, int Version, string Text, string Format, DateTimeOffset CreatedAt);

/// <summary>One logged event, as the events API returns it.</summary>
public sealed record EventRecord(long Seq, long AccountId, string Database, string Table, string Uuid, long Time, Guid ProfileId, string Body);

/// <summary>A profile snapshot (ProfileSnapshot bytes) and the log position it reflects.</summary>
public sealed record ProfileRecord(Guid Id, long AppliedSeq, byte[] Snapshot);

/// <summary>An identifier of an audience and the profile it belongs to.</summary>
public readonly record struct IdentityRecord(string Key, string Value, Guid ProfileId);

/// <summary>Scope of profile data: one audience of one account.</summary>
public readonly record struct AudienceScope(long AccountId, string Audience)
{
    public override string ToString() => $"{AccountId}/{Audience}";
}

/// <summary>One administrative change: who (a key id, or the server administrator), what, when.</summary>
public sealed record AuditRecord(long Id, long AccountId, DateTimeOffset At, string Actor, string Action, string Detail);
