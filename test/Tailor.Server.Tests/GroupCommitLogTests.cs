using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Tailor.Server.Hosting;
using Tailor.Server.Ingest;
using Tailor.Storage;
using Tailor.Storage.Sqlite;

namespace Tailor.Server.Tests;

/// <summary>The event log's writer: it waits for appends on a thread of its own and commits them in order.</summary>
public sealed class GroupCommitLogTests : IDisposable
{
    /// <summary>A writer that is never woken shows as a failure, not as a test run that never ends.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly string _directory = TestDirectories.New("tailor-group-commit-");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Appends_that_find_the_writer_waiting_or_busy_are_committed_in_order()
    {
        using var store = new SqliteStore(Path.Combine(_directory, "tailor.db"));
        using var log = new GroupCommitLog(store, Options.Create(new TailorOptions()), NullLogger<GroupCommitLog>.Instance);
        await log.StartAsync(CancellationToken.None);
        var scope = new AudienceScope(1, "customers");
        var snapshot = new byte[] { 1, 2, 3 };

        // One at a time, each after the writer has gone back to waiting for the queue.
        var seqs = new List<long>();
        for (var i = 0; i < 20; i++)
        {
            await Task.Delay(5);
            seqs.Add(await log.AppendAsync(StoreItems.Pageview(scope, Guid.NewGuid(), snapshot)).AsTask().WaitAsync(Patience));
        }
        Assert.Equal(Enumerable.Range((int)seqs[0], 20).Select(n => (long)n), seqs);

        // A burst from many threads while it commits: each append gets its own position, none is lost.
        var burst = await Task.WhenAll(Enumerable.Range(0, 500).Select(_ =>
            Task.Run(() => log.AppendAsync(StoreItems.Pageview(scope, Guid.NewGuid(), snapshot)).AsTask()))).WaitAsync(Patience);
        Assert.Equal(Enumerable.Range((int)seqs[^1] + 1, 500).Select(n => (long)n), burst.Order());

        await log.StopAsync(CancellationToken.None);
        Assert.Equal(520, (await store.ReadEventsAsync(1, "web", "pageviews", 0, 1000)).Count);
    }

    [Fact]
    public async Task Under_load_the_writer_waits_for_more_appends_before_committing_and_stops_waiting_once_enough_are_queued()
    {
        // An hour's delay: whatever commits here did not wait for the time, but for the appends.
        using var store = new SqliteStore(Path.Combine(_directory, "tailor.db"));
        var options = new TailorOptions { GroupCommitDelay = TimeSpan.FromHours(1), GroupCommitDelayAfter = 1, GroupCommitDelayBelow = 16 };
        using var log = new GroupCommitLog(store, Options.Create(options), NullLogger<GroupCommitLog>.Instance);
        await log.StartAsync(CancellationToken.None);
        var scope = new AudienceScope(1, "customers");
        var snapshot = new byte[] { 1, 2, 3 };
        ValueTask<long> Append() => log.AppendAsync(StoreItems.Pageview(scope, Guid.NewGuid(), snapshot));

        // The first commit follows no batch: it does not wait.
        var first = await Append().AsTask().WaitAsync(Patience);
        // After a batch of one (the threshold here), a lone append waits for company...
        var lone = Append().AsTask();
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        Assert.False(lone.IsCompleted);
        // ...and is committed with the appends that fill the queue to the threshold, in order.
        var rest = Enumerable.Range(0, 15).Select(_ => Append().AsTask()).ToList();
        var seqs = await Task.WhenAll([lone, .. rest]).WaitAsync(Patience);
        Assert.Equal(Enumerable.Range((int)first + 1, 16).Select(n => (long)n), seqs);

        // Stopping does not wait out a delay under way.
        var last = Append().AsTask();
        await Task.Delay(TimeSpan.FromMilliseconds(100));
        await log.StopAsync(CancellationToken.None).WaitAsync(Patience);
        Assert.Equal(first + 17, await last.WaitAsync(Patience));
    }
}
