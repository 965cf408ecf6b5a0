namespace Tailor.Server.Grains;

/// <summary>
/// ID stitching for one audience of one account (key <c>{account}/{audience}</c>): the identity index
/// in memory, loaded from the store at activation. One grain serialises every stitching decision of
/// the audience, so merges never race.
/// </summary>
public interface IIdentityGrain : IGrainWithStringKey
{
    /// <param name="hashes">The identifiers' <see cref="IdentifierDto.Hashes"/>, which the caller has worked out already.</param>
    /// <remarks>A ValueTask: Orleans then hands the caller its pooled completion source instead of a Task wrapping it.</remarks>
    ValueTask<StitchReply> Resolve(IdentifierDto[] identifiers, UInt128[] hashes);
    Task<Guid?> Find(IdentifierDto identifier);
    /// <summary>Drops identifiers a profile evicted (it keeps at most 200). Interleaves: a profile may call it while this grain waits on that profile.</summary>
    [Orleans.Concurrency.AlwaysInterleave]
    Task Forget(Guid profileId, IdentifierDto[] identifiers);
    /// <summary>
    /// Erases the profile an identifier finds (a privacy deletion) from memory: its state and every
    /// identifier, so that no call reaches it again. The caller then erases its stored rows
    /// (<c>IProfileStore.EraseProfileAsync</c>) and its lookup entries. Null when no profile has the identifier.
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
