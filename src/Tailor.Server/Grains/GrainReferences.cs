using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Globalization;

namespace Tailor.Server.Grains;

public static class GrainKeys
{
    /// <summary>
    /// Partitions per audience. Nothing stored depends on it (a partition only holds profiles in
    /// memory), so it may change between versions; 256 spreads an audience over a cluster's silos.
    /// </summary>
    public const int Partitions = 256;

    public static string Identity(long accountId, string audience) => $"{accountId}/{audience}";

    public static string Partition(long accountId, string audience, int partition) => $"{accountId}/{audience}/{partition}";

    /// <summary>From the id's last 8 bytes: the random part of a UUIDv7, the same in every process.</summary>
    public static int PartitionOf(Guid profileId)
    {
        Span<byte> bytes = stackalloc byte[16];
        profileId.TryWriteBytes(bytes, bigEndian: true, out _);
        return (int)(BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]) % Partitions);
    }

    public static (long AccountId, string Audience, int Partition) ParsePartition(string key)
    {
        var first = key.IndexOf('/', StringComparison.Ordinal);
        var last = key.LastIndexOf('/');
        return (long.Parse(key.AsSpan(0, first), CultureInfo.InvariantCulture), key[(first + 1)..last],
            int.Parse(key.AsSpan(last + 1), CultureInfo.InvariantCulture));
    }
}

/// <summary>
/// Grain references for the per-call paths. Orleans resolves the interface type by reflection on every
/// <c>GetGrain(string key)</c> (about a kilobyte allocated each time); the types are the same for every
/// key, so they are resolved once and the references built from a <see cref="GrainId"/>. A reference
/// is immutable, so each one (an audience's identity grain, its partitions) is built once and kept.
/// </summary>
public static class GrainReferences
{
    private sealed record Types(GrainType Grain, GrainInterfaceType Interface);

    private static readonly ConcurrentDictionary<Type, Types> Resolved = new();

    /// <summary>Per grain factory: a process may host several silos (the tests do). Partition -1 is the identity grain.</summary>
    private static readonly ConditionalWeakTable<IGrainFactory, ConcurrentDictionary<(long Account, string Audience, int Partition), IAddressable>> Kept = new();

    /// <summary>Audiences come and go with configuration versions: the kept references are dropped past this many.</summary>
    private const int MaxKept = 100_000;

    public static ProfileRef Profile(this IGrainFactory grains, long accountId, string audience, Guid profileId) =>
        new((IProfilePartitionGrain)Reference(grains, accountId, audience, GrainKeys.PartitionOf(profileId)), profileId);

    public static IIdentityGrain Identity(this IGrainFactory grains, long accountId, string audience) =>
        (IIdentityGrain)Reference(grains, accountId, audience, -1);

    private static IAddressable Reference(IGrainFactory grains, long accountId, string audience, int partition)
    {
        var built = Kept.GetValue(grains, static _ => new());
        if (built.TryGetValue((accountId, audience, partition), out var known)) return known;
        if (built.Count >= MaxKept) built.Clear();
        IAddressable reference = partition < 0
            ? Get<IIdentityGrain>(grains, GrainKeys.Identity(accountId, audience))
            : Get<IProfilePartitionGrain>(grains, GrainKeys.Partition(accountId, audience, partition));
        built[(accountId, audience, partition)] = reference;
        return reference;
    }

    private static T Get<T>(IGrainFactory grains, string key) where T : IGrainWithStringKey
    {
        if (Resolved.TryGetValue(typeof(T), out var known)) return (T)grains.GetGrain(GrainId.Create(known.Grain, IdSpan.Create(key)), known.Interface);
        var reference = grains.GetGrain<T>(key);
        var resolved = (GrainReference)(object)reference;
        Resolved[typeof(T)] = new Types(resolved.GrainId.Type, resolved.InterfaceType);
        return reference;
    }
}
