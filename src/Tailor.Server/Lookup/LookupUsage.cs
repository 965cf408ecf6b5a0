using System.Collections.Concurrent;
using System.Globalization;
using Tailor.Server.Accounts;
using Tailor.Storage;

namespace Tailor.Server.Lookup;

/// <summary>
/// Lookup metering per key and quota period (a calendar day or month, UTC): every record of a single
/// or bulk lookup counts. Counted in memory, checked against the key's quota before a lookup runs,
/// and saved to the store every few seconds and at shutdown (a crash can forget the last seconds).
/// </summary>
public sealed partial class LookupUsage(IAccountStore store, TimeProvider time, ILogger<LookupUsage> logger) : BackgroundService
{
    private static readonly TimeSpan FlushEvery = TimeSpan.FromSeconds(5);

    private sealed class Counter
    {
        public long Records;
        public long Saved;
    }

    private readonly ConcurrentDictionary<(long KeyId, string Period), Counter> _counters = new();
    private readonly Lock _quotaLock = new();

    public string Period(QuotaPeriod period)
    {
        var now = time.GetUtcNow();
        return period == QuotaPeriod.Day ? now.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) : now.ToString("yyyy-MM", CultureInfo.InvariantCulture);
    }

    public long Used(long keyId, string period) => _counters.TryGetValue((keyId, period), out var counter) ? Interlocked.Read(ref counter.Records) : 0;

    /// <summary>Counts <paramref name="records"/> for the key; false (nothing counted) when that would pass its quota.</summary>
    public bool TryConsume(KeyEntry key, int records)
    {
        var grant = key.Grant;
        var counter = _counters.GetOrAdd((key.Id, Period(grant?.Period ?? QuotaPeriod.Month)), _ => new Counter());
        if (grant?.Quota is not { } quota)
        {
            Interlocked.Add(ref counter.Records, records);
            return true;
        }
        lock (_quotaLock)
        {
            if (counter.Records + records > quota) return false;
            counter.Records += records;
            return true;
        }
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var record in await store.LoadUsageAsync(cancellationToken))
            _counters[(record.KeyId, record.Period)] = new Counter { Records = record.Records, Saved = record.Records };
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(FlushEvery, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken)) await FlushAsync();
        }
        catch (OperationCanceledException)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await FlushAsync();
    }

    private async Task FlushAsync()
    {
        var changed = new List<(Counter Counter, UsageRecord Record)>();
        foreach (var ((keyId, period), counter) in _counters)
        {
            var records = Interlocked.Read(ref counter.Records);
            if (records != counter.Saved) changed.Add((counter, new UsageRecord(keyId, period, records)));
        }
        if (changed.Count == 0) return;
        try
        {
            await store.SaveUsageAsync([.. changed.Select(c => c.Record)]);
            foreach (var (counter, record) in changed) counter.Saved = record.Records;
        }
        catch (Exception ex)
        {
            LogFlushFailed(ex);
        }
    }

    [LoggerMessage(EventId = 1511, Level = LogLevel.Warning, Message = "Saving lookup usage failed; it is retried")]
    private partial void LogFlushFailed(Exception ex);
}
