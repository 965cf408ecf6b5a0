using Tailor.Storage;

namespace Tailor.Server.Tests;

/// <summary>Write items for tests that drive the store directly.</summary>
internal static class StoreItems
{
    public static WriteItem Pageview(AudienceScope scope, Guid profile, byte[] snapshot, IdentityRecord[]? upserted = null,
        (string, string)[]? deleted = null, Guid[]? merged = null, byte[][]? keys = null) => new()
        {
            Scope = scope,
            Database = "web",
            Table = "pageviews",
            Uuid = Guid.NewGuid().ToString(),
            Body = """{"td_path":"/shoes"}"""u8.ToArray(),
            ProfileId = profile,
            Snapshot = snapshot,
            IdentitiesUpserted = upserted ?? [],
            IdentitiesDeleted = deleted ?? [],
            MergedProfiles = merged ?? [],
            LookupKeys = keys ?? [],
        };
}
