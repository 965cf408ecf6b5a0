namespace Tailor.Storage;

public enum KeyKind { Master, Write, Lookup }

public sealed record AccountRecord(long Id, string Name, DateTimeOffset CreatedAt);

/// <summary>An API key as stored: only a hash of the secret, never the secret.</summary>
public sealed record ApiKeyRecord(long Id, long AccountId, KeyKind Kind, string Label, byte[] Hash, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

/// <summary>A service token as stored: its public instance id and a hash of its secret.</summary>
public sealed record TokenRecord(long InstanceId, long AccountId, string Service, string Name, byte[] Hash, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

public sealed record ConfigVersionRecord(long AccountId, int Version, string Text, string Format, DateTimeOffset CreatedAt);

/// <summary>One logged event, as the events API returns it.</summary>
public sealed record EventRecord(long Seq, long AccountId, string Database, string Table, string Uuid, long Time, Guid ProfileId, string Body);

/// <summary>A profile snapshot (ProfileSnapshot bytes) and the log position it reflects.</summary>
public sealed record ProfileRecord(Guid Id, long AppliedSeq, byte[] Snapshot);

/// <summary>An identifier of an audience and the profile it belongs to.</summary>
public sealed record IdentityRecord(string Key, string Value, Guid ProfileId);

/// <summary>Scope of profile data: one audience of one account.</summary>
public readonly record struct AudienceScope(long AccountId, string Audience)
{
    public override string ToString() => $"{AccountId}/{Audience}";
}
