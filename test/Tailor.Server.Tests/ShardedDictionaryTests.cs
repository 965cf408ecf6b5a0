using Tailor.Core.Profiles;
using Tailor.Storage;

namespace Tailor.Server.Tests;

/// <summary>The identity index's dictionary: the same answers as one dictionary, across many shard resizes.</summary>
public sealed class ShardedDictionaryTests
{
    [Fact]
    public void It_answers_like_one_dictionary_while_growing_and_shrinking()
    {
        var sharded = new ShardedDictionary<Identifier, Guid>(capacity: 1_000);
        var plain = new Dictionary<Identifier, Guid>();
        var random = new Random(5);
        for (var i = 0; i < 50_000; i++)
        {
            var key = new Identifier(i % 3 == 0 ? "email" : "td_client_id", $"v{random.Next(30_000)}");
            var value = Guid.NewGuid();
            if (random.Next(5) == 0)
                Assert.Equal(plain.Remove(key), sharded.Remove(key));
            else
                (sharded[key], plain[key]) = (value, value);
        }
        Assert.Equal(plain.Count, sharded.Count);
        foreach (var (key, value) in plain)
            Assert.True(sharded.TryGetValue(key, out var found) && found == value);
        Assert.False(sharded.TryGetValue(new Identifier("email", "never"), out _));
        var some = plain.Keys.First();
        Assert.True(sharded.Remove(some, out var removed));
        Assert.Equal(plain[some], removed);
        Assert.False(sharded.TryGetValue(some, out _));
    }

    [Fact]
    public void Values_are_updated_in_place_through_references()
    {
        var counts = new ShardedDictionary<Guid, int>();
        var ids = Enumerable.Range(0, 1_000).Select(_ => Guid.NewGuid()).ToList();
        foreach (var id in ids.Concat(ids).Concat(ids)) counts.GetValueRefOrAddDefault(id)++;
        foreach (var id in ids) Assert.True(counts.TryGetValue(id, out var n) && n == 3);
        Assert.True(System.Runtime.CompilerServices.Unsafe.IsNullRef(ref counts.GetValueRefOrNullRef(Guid.NewGuid())));
        counts.GetValueRefOrNullRef(ids[0]) = 7;
        Assert.True(counts.TryGetValue(ids[0], out var seven) && seven == 7);
        Assert.Equal(1_000, counts.Count);
    }
}
