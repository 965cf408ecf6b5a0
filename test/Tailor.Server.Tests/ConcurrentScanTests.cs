using Microsoft.Data.Sqlite;
using Tailor.Storage;
using Tailor.Storage.Sqlite;

namespace Tailor.Server.Tests;

/// <summary>
/// Scans of the embedded store begun at once (a server building the lookup indexes of several accounts,
/// each with three scans) each read on a connection of their own. Microsoft.Data.Sqlite's pool could
/// lend one connection to two callers opening at the same moment (dotnet/efcore#39008): the second
/// scan's read transaction then failed to begin, "cannot start a transaction within a transaction".
/// </summary>
public sealed class ConcurrentScanTests : IDisposable
{
    private readonly string _directory = TestDirectories.New("tailor-scans-");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void Scans_begun_at_once_each_begin_their_own_read()
    {
        using var store = new SqliteStore(Path.Combine(_directory, "tailor.db"));
        var scope = new AudienceScope(1, "customers");
        var profile = Guid.NewGuid();
        store.CommitBatch([StoreItems.Pageview(scope, profile, [1, 2, 3], upserted: [new IdentityRecord("email", "a@example.com", profile)])], 1);

        const int Scanners = 12;
        var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        for (var wave = 0; wave < 600 && failures.IsEmpty; wave++)
        {
            // Each wave finds no idle connection (the pool is emptied), as a burst of first scans does.
            SqliteConnection.ClearAllPools();
            using var start = new Barrier(Scanners);
            using var held = new Barrier(Scanners);
            var threads = Enumerable.Range(0, Scanners).Select(_ => new Thread(() =>
            {
                try
                {
                    start.SignalAndWait();
                    // A scan opens its connection and begins its read transaction on its first step.
                    using var scan = store.ScanIdentities(scope, "email").GetEnumerator();
                    Assert.True(scan.MoveNext());
                    Assert.Equal(("a@example.com", profile), scan.Current);
                    held.SignalAndWait(TimeSpan.FromSeconds(10));
                }
                catch (Exception e)
                {
                    failures.Enqueue(e);
                    held.RemoveParticipant();
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
        }
        Assert.Empty(failures);
    }
}
