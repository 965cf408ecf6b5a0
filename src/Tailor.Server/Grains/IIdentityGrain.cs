namespace Tailor.Server.Grains;

/// <summary>
/// ID stitching for one audience of one account (key <c>{account}/{audience}</c>): the identity index
/// in memory, loaded from the store at activation. One grain serialises every stitching decision of
/// the audience, so merges never race.
/// </summary>
public interface IIdentityGrain : IGrainWithStringKey
{
    Task<StitchReply> Resolve(IdentifierDto[] identifiers);
    Task<Guid?> Find(IdentifierDto identifier);
    /// <summary>Drops identifiers a profile evicted (it keeps at most 200). Interleaves: a profile may call it while this grain waits on that profile.</summary>
    [Orleans.Concurrency.AlwaysInterleave]
    Task Forget(Guid profileId, IdentifierDto[] identifiers);
    /// <summary>
    /// Erases the profile an identifier finds (a privacy deletion): its state, every identifier,
    /// its events and lookup entries. Null when no profile has the identifier.
    /// </summary>
    Task<EraseSummary?> Erase(IdentifierDto identifier);
    /// <summary>
    /// Stitches a chunk of import rows in order. Rows that make new profiles are appended to the log
    /// here (the call returns before they are durable; until then nobody is handed those profiles);
    /// the others come back to be applied by their profile's grain.
    /// </summary>
    Task<ImportOutcome[]> Import(ImportRowDto[] rows);
    /// <summary>Completes when every profile imports created so far is durable; throws when a commit failed.</summary>
    Task ImportCommitted();
    /// <summary>Forgets the in-memory index; the next call reloads it from the store (after a failed commit).</summary>
    Task Reset();
    /// <summary>Loads the index now (at startup, so that the first call after a restart does not wait for it).</summary>
    Task Warm();
}

/// <summary>
/// One profile (key <c>{account}/{audience}/{profile id}</c>): its state in memory, the single writer
/// of it. Not reentrant: calls run one at a time, so a profile's events are applied, and logged, in order.
/// </summary>
public interface IProfileGrain : IGrainWithStringKey
{
    Task<PersonalizeReply> Personalize(PersonalizeCall call);
    /// <summary>The offers for the profile as it is, without applying the event (a repeated uuid).</summary>
    Task<PersonalizeReply> Evaluate(PersonalizeCall call);
    /// <summary>Hands the state over to <paramref name="into"/> (a merge) and becomes an alias of it.</summary>
    Task<byte[]?> Absorb(Guid into);
    /// <summary>The profile's snapshot (ProfileSnapshot bytes), or null when it has no state.</summary>
    Task<byte[]?> Snapshot();
    /// <summary>Drops the profile's state for an erasure; the identity grain then erases it from the store.</summary>
    Task<EraseReply> Erase();
    /// <summary>Applies an import row (attributes, batch segments, identifiers, lookup keys).</summary>
    Task<PersonalizeReply> Import(ImportCall call);
}

public static class GrainKeys
{
    public static string Identity(long accountId, string audience) => $"{accountId}/{audience}";
    public static string Profile(long accountId, string audience, Guid profileId) => $"{accountId}/{audience}/{profileId:N}";

    public static (long AccountId, string Audience, Guid ProfileId) ParseProfile(string key)
    {
        var parts = key.Split('/');
        return (long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), parts[1], Guid.ParseExact(parts[2], "N"));
    }
}

/// <summary>
/// Grain references for the per-call paths. Orleans resolves the interface type by reflection on every
/// <c>GetGrain(string key)</c> (about a kilobyte allocated each time); the types are the same for every
/// key, so they are resolved once and the references built from a <see cref="GrainId"/>.
/// </summary>
public static class GrainReferences
{
    private sealed record Types(GrainType Grain, GrainInterfaceType Interface);

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, Types> Resolved = new();

    public static IProfileGrain Profile(this IGrainFactory grains, long accountId, string audience, Guid profileId) =>
        Get<IProfileGrain>(grains, GrainKeys.Profile(accountId, audience, profileId));

    public static IIdentityGrain Identity(this IGrainFactory grains, long accountId, string audience) =>
        Get<IIdentityGrain>(grains, GrainKeys.Identity(accountId, audience));

    private static T Get<T>(IGrainFactory grains, string key) where T : IGrainWithStringKey
    {
        if (Resolved.TryGetValue(typeof(T), out var known)) return (T)grains.GetGrain(GrainId.Create(known.Grain, IdSpan.Create(key)), known.Interface);
        var reference = grains.GetGrain<T>(key);
        var resolved = (GrainReference)(object)reference;
        Resolved[typeof(T)] = new Types(resolved.GrainId.Type, resolved.InterfaceType);
        return reference;
    }
}
