using Microsoft.Data.Sqlite;
using Tailor.Storage;
using Tailor.Storage.Sqlite;

namespace Tailor.Server.Tests;

/// <summary>The embedded store's batch commit (the event log's group commit): all of a batch or nothing.</summary>
public sealed class SqliteBatchTests : IDisposable
{
    private readonly string _directory = TestDirectories.New("tailor-batch-");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task A_batch_that_fails_part_way_leaves_nothing_of_itself_and_the_next_one_commits()
    {
        using var store = new SqliteStore(Path.Combine(_directory, "tailor.db"));
        var scope = new AudienceScope(1, "customers");
        var snapshot = new byte[] { 1, 2, 3 };
        var first = StoreItems.Pageview(scope, Guid.NewGuid(), snapshot);
        store.CommitBatch([first], 10);

        // The batch's first item is written (seq 9), then its second one collides with seq 10.
        var lost = StoreItems.Pageview(scope, Guid.NewGuid(), snapshot);
        Assert.Throws<SqliteException>(() => store.CommitBatch([lost, StoreItems.Pageview(scope, Guid.NewGuid(), snapshot)], 9));

        Assert.Null(await store.LoadProfileAsync(scope, lost.ProfileId));
        Assert.Equal([10L], (await store.ReadEventsAsync(1, "web", "pageviews", 0, 100)).Select(e => e.Seq));
        var next = StoreItems.Pageview(scope, Guid.NewGuid(), snapshot);
        store.CommitBatch([next], 11);
        Assert.NotNull(await store.LoadProfileAsync(scope, next.ProfileId));
        Assert.Equal(11, await store.LastSeqAsync());
    }

    [Fact]
    public async Task A_commit_reports_the_pages_it_wrote_and_only_its_own()
    {
        using var store = new SqliteStore(Path.Combine(_directory, "tailor.db"));
        var scope = new AudienceScope(1, "customers");

        // One small event: its row, its index entry and its profile, each on a page of its own.
        var one = store.CommitBatch([StoreItems.Pageview(scope, Guid.NewGuid(), [1, 2, 3])], 1);
        Assert.InRange(one, 3, 8);

        // Writes on the writer connection between batches (here ~40 pages of audit entries) are not the next batch's.
        for (var i = 0; i < 40; i++) await store.AppendAuditAsync(1, "test", "note", new string('x', 4000));
        Assert.InRange(store.CommitBatch([StoreItems.Pageview(scope, Guid.NewGuid(), [1, 2, 3])], 2), 3, 8);

        // 200 profiles of 1,000 bytes fill at least 200,000 / 4,096 pages.
        var large = Enumerable.Range(0, 200).Select(_ => StoreItems.Pageview(scope, Guid.NewGuid(), new byte[1000])).ToList();
        Assert.InRange(store.CommitBatch(large, 3), 200_000 / 4096, 400);
    }

    [Fact]
    public async Task A_stored_snapshot_is_handed_over_as_committed_and_a_missing_one_is_not()
    {
        using var store = new SqliteStore(Path.Combine(_directory, "tailor.db"));
        var scope = new AudienceScope(1, "customers");
        var item = StoreItems.Pageview(scope, Guid.NewGuid(), [7, 8, 9]);
        store.CommitBatch([item], 1);

        byte[]? seen = null;
        Assert.True(await store.ReadSnapshotAsync(scope, item.ProfileId, 0, (bytes, _) => seen = bytes.ToArray()));
        Assert.Equal([7, 8, 9], seen);
        Assert.False(await store.ReadSnapshotAsync(scope, Guid.NewGuid(), 0, (_, _) => throw new InvalidOperationException("no row, no call")));
        Assert.False(await store.ReadSnapshotAsync(new AudienceScope(2, "customers"), item.ProfileId, 0, (_, _) => throw new InvalidOperationException("another account's")));
    }
}
