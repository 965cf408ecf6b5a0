namespace Tailor.Storage;

/// <summary>Accounts, API keys, service tokens and configuration versions.</summary>
public interface IAccountStore
{
    Task<AccountRecord> CreateAccountAsync(string name, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<AccountRecord>> ListAccountsAsync(CancellationToken cancellationToken = default);

    Task<ApiKeyRecord> AddKeyAsync(long accountId, KeyKind kind, string label, byte[] hash, LookupGrant? grant = null, CancellationToken cancellationToken = default);
    Task<bool> SetKeyGrantAsync(long accountId, long keyId, LookupGrant? grant, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<ApiKeyRecord>> ListKeysAsync(long? accountId = null, CancellationToken cancellationToken = default);
    Task<bool> RevokeKeyAsync(long accountId, long keyId, CancellationToken cancellationToken = default);

    /// <summary>Reserves the token's instance id; the hash is set in the same call (the secret embeds nothing of the id).</summary>
    Task<TokenRecord> AddTokenAsync(long accountId, string service, string name, byte[] hash, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<TokenRecord>> ListTokensAsync(long? accountId = null, CancellationToken cancellationToken = default);
    Task<bool> RevokeTokenAsync(long accountId, long instanceId, CancellationToken cancellationToken = default);

    Task<ConfigVersionRecord> SaveConfigAsync(long accountId, string text, string format, CancellationToken cancellationToken = default);
    Task<ConfigVersionRecord?> GetConfigAsync(long accountId, int? version = null, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<ConfigVersionRecord>> ListConfigVersionsAsync(long accountId, CancellationToken cancellationToken = default);

    Task<AuditRecord> AppendAuditAsync(long accountId, string actor, string action, string detail, CancellationToken cancellationToken = default);
    /// <summary>The account's audit entries after <paramref name="afterId"/>, oldest first.</summary>
    Task<IReadOnlyList<AuditRecord>> ListAuditAsync(long accountId, long afterId, int limit, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<UsageRecord>> LoadUsageAsync(CancellationToken cancellationToken = default);
    /// <summary>Sets (not adds) the counters given.</summary>
    Task SaveUsageAsync(IReadOnlyList<UsageRecord> usage, CancellationToken cancellationToken = default);
}

/// <summary>The durable event log and the profile state committed with it.</summary>
public interface IEventStore
{
    /// <summary>The highest sequence number in the log (0 when empty).</summary>
    Task<long> LastSeqAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Commits a batch in one transaction, durably (fsync) before returning; the items get the
    /// sequence numbers <paramref name="firstSeq"/>, <paramref name="firstSeq"/>+1, ... in order.
    /// Returns how many database pages the transaction wrote (SQLite: to the WAL), the disk's share of
    /// the commit; 0 where the backend does not count them.
    /// </summary>
    int CommitBatch(IReadOnlyList<WriteItem> items, long firstSeq);

    Task<IReadOnlyList<EventRecord>> ReadEventsAsync(long accountId, string database, string table, long afterSeq, int limit, CancellationToken cancellationToken = default);

    /// <summary>The logged event with this client uuid, if any.</summary>
    Task<EventRecord?> FindEventByUuidAsync(long accountId, string uuid, CancellationToken cancellationToken = default);

    /// <summary>Housekeeping the backend wants done beside the writer (SQLite: a WAL checkpoint). Never blocks commits.</summary>
    void Maintain();
}

/// <summary>Profile snapshots and the identity index, read when grains activate.</summary>
public interface IProfileStore
{
    /// <summary>A profile's stored snapshot (a ValueTask: the embedded store reads it synchronously, without a Task per read).</summary>
    ValueTask<ProfileRecord?> LoadProfileAsync(AudienceScope scope, Guid profileId, CancellationToken cancellationToken = default);
    /// <summary>
    /// Hands a profile's stored snapshot to <paramref name="read"/> without copying it (the bytes are valid
    /// during that call only: a profile's first call keeps them elsewhere); false when the profile has none.
    /// </summary>
    ValueTask<bool> ReadSnapshotAsync<TArg>(AudienceScope scope, Guid profileId, TArg arg, System.Buffers.ReadOnlySpanAction<byte, TArg> read, CancellationToken cancellationToken = default);
    /// <summary>The profile an id was merged into, if it was.</summary>
    ValueTask<Guid?> FindAliasAsync(AudienceScope scope, Guid profileId, CancellationToken cancellationToken = default);
    /// <summary>Every identity of the audience (loading the identity index), streamed from one read transaction.</summary>
    IEnumerable<IdentityRecord> ScanIdentities(AudienceScope scope);
    /// <summary>How many identities the audience has (to size the identity index before loading it).</summary>
    Task<int> CountIdentitiesAsync(AudienceScope scope, CancellationToken cancellationToken = default);
    /// <summary>
    /// Erases a profile for good (a privacy deletion): its snapshot, identifiers, lookup keys, aliases,
    /// and its events and those of the profiles merged into it. Returns the number of events erased.
    /// </summary>
    Task<int> EraseProfileAsync(AudienceScope scope, Guid profileId, CancellationToken cancellationToken = default);
    /// <summary>
    /// The profile is about to be erased (<see cref="EraseProfileAsync"/> follows, outside the turn of
    /// the identity grain that forgot it): until that erasure completes, the identity scans leave its
    /// identifiers out, so that an identity index loaded meanwhile cannot lead to it again.
    /// </summary>
    void BeginErasure(AudienceScope scope, Guid profileId);
    /// <summary>The events of a profile and of the profiles merged into it, oldest first.</summary>
    Task<IReadOnlyList<EventRecord>> ReadProfileEventsAsync(AudienceScope scope, Guid profileId, CancellationToken cancellationToken = default);

    /// <summary>Every profile of the audience, in id order (building the lookup index); synchronous streaming.</summary>
    IEnumerable<ProfileRecord> ScanProfiles(AudienceScope scope);
    /// <summary>Every lookup key of the audience with its profile (merged profiles already followed to their survivor).</summary>
    IEnumerable<(byte[] Key, Guid ProfileId)> ScanLookupKeys(AudienceScope scope);
    /// <summary>Every identity of the audience under one stitching key (e.g. <c>email</c>).</summary>
    IEnumerable<(string Value, Guid ProfileId)> ScanIdentities(AudienceScope scope, string key);
}
