namespace Tailor.Core.Tests;

/// <summary>The uuids the server fills in and the ids of new profiles: RFC 9562 version 7.</summary>
public sealed class Uuid7Tests
{
    [Fact]
    public void Each_holds_its_time_version_7_and_the_variant()
    {
        var at = new DateTimeOffset(2026, 12, 3, 8, 15, 30, 123, TimeSpan.Zero);
        var id = Uuid7.Create(at);
        Assert.Equal(7, id.Version);
        Assert.Equal(at.ToUnixTimeMilliseconds(), Convert.ToInt64(id.ToString("N")[..12], 16));
        Assert.Contains(id.ToString()[19], "89ab"); // the variant: bits 10
        // The same fields as the runtime's own: equal in the first 48 bits and the version.
        Assert.Equal(Guid.CreateVersion7(at).ToString()[..15], id.ToString()[..15]);
    }

    [Fact]
    public void Ids_differ_across_many_buffers_and_threads_and_sort_by_time()
    {
        var start = new DateTimeOffset(2026, 12, 3, 0, 0, 0, TimeSpan.Zero);
        var ids = new System.Collections.Concurrent.ConcurrentBag<(int Tick, Guid Id)>();
        Parallel.For(0, 4, _ =>
        {
            for (var i = 0; i < 5000; i++) ids.Add((i, Uuid7.Create(start.AddMilliseconds(i))));
        });
        Assert.Equal(20_000, ids.Select(x => x.Id).Distinct().Count());
        // Random bits differ, not only the time: ids made in the same millisecond are distinct too.
        Assert.Equal(4, ids.Where(x => x.Tick == 42).Select(x => x.Id).Distinct().Count());
        var ordered = ids.OrderBy(x => x.Id.ToString()).Select(x => x.Tick).ToList();
        Assert.True(ordered.SequenceEqual(ordered.Order()), "ids sort by their time");
    }

    [Fact]
    public void A_time_before_1970_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Uuid7.Create(DateTimeOffset.UnixEpoch.AddMilliseconds(-1)));
}
