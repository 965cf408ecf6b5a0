using System.Runtime.CompilerServices;
using Tailor.Server.Grains;

namespace Tailor.Server.Tests;

/// <summary>A partition's resident snapshots in native memory: what is kept is what was last set, until removed.</summary>
public sealed class ResidentSnapshotsTests
{
    [Fact]
    public void Each_profile_reads_back_its_last_snapshot_through_replacements_and_removals()
    {
        var table = new ResidentSnapshots();
        var expected = new Dictionary<Guid, byte[]?>();
        var ids = Enumerable.Range(0, 200).Select(_ => Guid.NewGuid()).ToArray();
        var random = new Random(7);
        for (var step = 0; step < 20_000; step++)
        {
            var id = ids[random.Next(ids.Length)];
            switch (random.Next(6))
            {
                case 0:
                    table.Remove(id);
                    expected.Remove(id);
                    break;
                case 1:
                    Assert.Equal(0, table.Set(id, null, step));
                    expected[id] = null;
                    break;
                default:
                    var bytes = new byte[random.Next(0, 2_000)];
                    random.NextBytes(bytes);
                    var block = table.Set(id, bytes, step);
                    Assert.Equal(bytes, ResidentSnapshots.Bytes(block).ToArray());
                    expected[id] = bytes;
                    break;
            }
        }
        foreach (var id in ids)
        {
            ref var entry = ref table.Find(id);
            if (!expected.TryGetValue(id, out var bytes))
            {
                Assert.True(Unsafe.IsNullRef(ref entry));
                continue;
            }
            Assert.False(Unsafe.IsNullRef(ref entry));
            Assert.Equal(bytes, ResidentSnapshots.ToArray(entry.Snapshot));
        }
        var seen = 0;
        foreach (var (id, entry) in table)
        {
            Assert.True(expected.ContainsKey(id));
            Assert.True(entry.TouchedS >= 0);
            seen++;
        }
        Assert.Equal(expected.Count, seen);
    }
}
