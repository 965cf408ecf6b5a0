using System.Runtime.InteropServices;

namespace Tailor.Storage;

/// <summary>
/// A dictionary kept as 256 smaller ones, chosen by the key's hash. An audience's identity index holds
/// millions of entries in one grain, and a single <see cref="Dictionary{TKey, TValue}"/> that size
/// doubles in one insert: 0.4 s of copying at ~2.4M entries, with every call of the audience waiting
/// behind it (docs/performance.md). A shard grows by 1/256 of that at a time, and by a quarter of
/// its size instead of doubling: the shards fill evenly and would all double together, leaving the
/// whole index up to half empty. (Also the embedded store's pending changes, which the log's writer adds to.)
/// </summary>
public sealed class ShardedDictionary<TKey, TValue>
    where TKey : notnull
{
    private const int Shards = 256;
    private readonly Dictionary<TKey, TValue>[] _shards = new Dictionary<TKey, TValue>[Shards];

    public ShardedDictionary(int capacity = 0)
    {
        var each = capacity <= 0 ? 0 : capacity / Shards + capacity / Shards / 8 + 1;
        for (var i = 0; i < Shards; i++) _shards[i] = new Dictionary<TKey, TValue>(each);
    }

    public int Count
    {
        get
        {
            var count = 0;
            foreach (var shard in _shards) count += shard.Count;
            return count;
        }
    }

    // A shard is the hash's high bits; each shard's own buckets use the whole hash.
    private Dictionary<TKey, TValue> ShardOf(TKey key) => _shards[(uint)EqualityComparer<TKey>.Default.GetHashCode(key) >> 24];

    public bool TryGetValue(TKey key, out TValue value) => ShardOf(key).TryGetValue(key, out value!);

    // Before an insert into a full shard: grow it by a quarter (a Dictionary left to itself doubles).
    private Dictionary<TKey, TValue> ShardForInsert(TKey key)
    {
        var shard = ShardOf(key);
        if (shard.Count == shard.EnsureCapacity(0)) shard.EnsureCapacity(shard.Count + shard.Count / 4 + 4);
        return shard;
    }

    public TValue this[TKey key]
    {
        set => ShardForInsert(key)[key] = value;
    }

    public IEnumerable<TValue> Values => _shards.SelectMany(shard => shard.Values);

    public IEnumerable<KeyValuePair<TKey, TValue>> Pairs => _shards.SelectMany(shard => shard);

    public bool Remove(TKey key) => ShardOf(key).Remove(key);

    public bool Remove(TKey key, out TValue value) => ShardOf(key).Remove(key, out value!);

    public ref TValue? GetValueRefOrAddDefault(TKey key) => ref CollectionsMarshal.GetValueRefOrAddDefault(ShardForInsert(key), key, out _);

    public ref TValue GetValueRefOrNullRef(TKey key) => ref CollectionsMarshal.GetValueRefOrNullRef(ShardOf(key), key);
}
