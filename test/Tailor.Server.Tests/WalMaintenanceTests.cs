using Tailor.Storage;
using Tailor.Storage.Sqlite;

namespace Tailor.Server.Tests;

/// <summary>The embedded store's WAL stays bounded while the writer never pauses (sustained load).</summary>
public sealed class WalMaintenanceTests : IDisposable
{
    private readonly string _directory = TestDirectories.New("tailor-wal-");

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task The_WAL_starts_over_under_a_writer_that_never_pauses()
    {
        const int restartFrames = 1000;
        const int batches = 800, perBatch = 50;
        var path = Path.Combine(_directory, "tailor.db");
        // Written behind at every maintenance pass: the profile tables' pages are rewritten all along.
        using var store = new SqliteStore(path, restartFrames, writeBehindAfter: TimeSpan.Zero);
        var scope = new AudienceScope(1, "customers");
        var random = new Random(7);
        var snapshot = new byte[1024];
        random.NextBytes(snapshot);
        // 20,000 profiles of 1 KiB: each item rewrites a random page, as customers' events do.
        var profiles = Enumerable.Range(0, 20_000).Select(_ => Guid.NewGuid()).ToArray();

        var writing = true;
        var maintainer = new Thread(() =>
        {
            while (Volatile.Read(ref writing))
            {
                store.Maintain();
                Thread.Sleep(20);
            }
        });
        maintainer.Start();
        long largest = 0;
        var restarts = new HashSet<uint>();
        try
        {
            var seq = 1L;
            for (var b = 0; b < batches; b++)
            {
                var items = new WriteItem[perBatch];
                for (var i = 0; i < perBatch; i++)
                    items[i] = StoreItems.Pageview(scope, profiles[random.Next(profiles.Length)], snapshot);
                store.CommitBatch(items, seq);
                seq += perBatch;
                largest = Math.Max(largest, new FileInfo(path + "-wal").Length);
                restarts.Add(WalCheckpointSequence(path + "-wal"));
            }
        }
        finally
        {
            Volatile.Write(ref writing, false);
            maintainer.Join();
        }

        // 40,000 random page rewrites went through the WAL (over 300 MiB of frames when it never starts
        // over). It starts over many times, and between two restarts grows by what the writer adds while
        // a restart's passes write the database file back (slower while other tests load the disk).
        Assert.True(restarts.Count >= 5, $"the WAL started over {restarts.Count - 1} times");
        Assert.True(largest < 96L * 1024 * 1024, $"the WAL grew to {largest / (1024 * 1024)} MiB");
        Assert.Equal(batches * perBatch, await store.LastSeqAsync());
    }

    [PageCacheFact]
    public void A_maintenance_pass_writes_back_the_pages_it_copied()
    {
        var path = Path.Combine(_directory, "tailor.db");
        var store = new SqliteStore(path);
        var database = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        try
        {
            var scope = new AudienceScope(1, "customers");
            Commit(store, scope, 1);
            // A reader's snapshot stops the checkpoint short of the WAL's end, as the writer's next
            // commits do under load: SQLite does not sync the database file after such a pass.
            using var reader = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path}");
            reader.Open();
            using var snapshot = reader.BeginTransaction(deferred: true);
            using (var read = reader.CreateCommand())
            {
                read.CommandText = "SELECT count(*) FROM events";
                Assert.Equal(500L, read.ExecuteScalar());
            }
            Commit(store, scope, 501);
            var before = new FileInfo(path).Length;

            store.Maintain();

            Assert.True(new FileInfo(path).Length > before, "the pass copied no page into the database file");
            var pages = PageCache.Of(database);
            Assert.Equal(0UL, pages.Dirty);
            Assert.Equal(0UL, pages.Writeback);
        }
        finally
        {
            store.Dispose();
            // Closed after SQLite's own descriptors: closing any descriptor of the file drops the process's locks on it.
            database.Dispose();
        }
    }

    /// <summary>The WAL header's checkpoint sequence number (bytes 12–15, big-endian): SQLite adds one each time the WAL starts over.</summary>
    private static uint WalCheckpointSequence(string wal)
    {
        using var file = new FileStream(wal, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        Span<byte> header = stackalloc byte[16];
        file.ReadExactly(header);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(header[12..]);
    }

    private static void Commit(SqliteStore store, AudienceScope scope, long seq)
    {
        var items = Enumerable.Range(0, 500).Select(_ => StoreItems.Pageview(scope, Guid.NewGuid(), new byte[512])).ToArray();
        store.CommitBatch(items, seq);
    }
}
