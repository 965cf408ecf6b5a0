using System.ComponentModel.DataAnnotations;

namespace Tailor.Server.Hosting;

/// <summary>Server settings, bound once from configuration (section "Tailor", or --data/--demo/--urls on the command line).</summary>
public sealed class TailorOptions
{
    public const string Section = "Tailor";

    /// <summary>Where tailor.db, the server secret and the demo file live.</summary>
    [Required]
    public string DataDirectory { get; set; } = "./data";

    /// <summary>Create the demo account, configuration and profiles on an empty data directory.</summary>
    public bool Demo { get; set; }

    /// <summary>Number of synthetic profiles the demo imports.</summary>
    [Range(0, 10_000_000)]
    public int DemoProfiles { get; set; } = 3000;

    /// <summary>Most events committed in one transaction (one fsync).</summary>
    [Range(1, 100_000)]
    public int GroupCommitMaxBatch { get; set; } = 2048;

    /// <summary>
    /// At moderate load, how long the log's writer waits for more appends before it commits: when its last
    /// batch had at least <see cref="GroupCommitDelayAfter"/> events and fewer than
    /// <see cref="GroupCommitDelayBelow"/> are queued, it waits this long (or until that many are queued;
    /// in sleeps of 1 ms, so a shorter delay waits 1 ms).
    /// A commit's own cost (its WAL pages, its fsync) is then shared by more calls; each waits this much
    /// longer. Zero (the default): never waits. 1 ms cut the writer's CPU per call by ~25% at 70% of the
    /// maximum, but not the server's, nor the p99, and raised the p50 (docs/performance.md, "3 December,
    /// eleventh session"), so it is not on by default.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan GroupCommitDelay { get; set; } = TimeSpan.Zero;

    /// <summary>The last batch's size from which the writer waits (<see cref="GroupCommitDelay"/>): below it the load is light and calls commit at once.</summary>
    [Range(1, 100_000)]
    public int GroupCommitDelayAfter { get; set; } = 8;

    /// <summary>Appends queued at which the writer does not wait, or stops waiting (<see cref="GroupCommitDelay"/>).</summary>
    [Range(1, 100_000)]
    public int GroupCommitDelayBelow { get; set; } = 64;

    /// <summary>
    /// How long committed profile changes may wait before the store writes them into its profile tables
    /// (until then they are in the log's pending rows and in memory). Longer: a profile changed again
    /// meanwhile is written once, fewer pages per event; a restart after a crash has more to write first.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan WriteBehindAfter { get; set; } = Tailor.Storage.Sqlite.SqliteStore.DefaultWriteBehindAfter;

    /// <summary>Profiles idle this long are deactivated (their state is in the store).</summary>
    [Range(typeof(TimeSpan), "00:00:05", "1.00:00:00")]
    public TimeSpan IdleProfileTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Orleans silo-to-silo port; 0 picks a free one (single node).</summary>
    [Range(0, 65535)]
    public int SiloPort { get; set; }

    /// <summary>Orleans client gateway port; 0 picks a free one (single node).</summary>
    [Range(0, 65535)]
    public int GatewayPort { get; set; }

    /// <summary>Largest accepted event body.</summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int MaxEventBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Identifiers whose profile the edge remembers, so that a returning customer's call skips the
    /// identity grain (Ingest.IdentityHints; about 70 bytes each). 0 turns the hints off.
    /// </summary>
    [Range(0, 100_000_000)]
    public int IdentityHints { get; set; } = 200_000;

    /// <summary>How long a client uuid makes a call idempotent.</summary>
    public TimeSpan IdempotencyWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Client uuids remembered in memory; older ones are answered from the event log.</summary>
    [Range(1, 100_000_000)]
    public int IdempotencyMemoryEntries { get; set; } = 1_000_000;

    /// <summary>
    /// Proxies (addresses or CIDRs) whose <c>X-Forwarded-For</c> is believed: a request from one of
    /// them is treated as coming from the address it forwards for (IP allow-lists check that one).
    /// From anyone else the header is ignored. Empty: no proxy is trusted.
    /// </summary>
    public List<string> TrustedProxies { get; set; } = [];
}
