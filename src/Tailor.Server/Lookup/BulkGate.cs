using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace Tailor.Server.Lookup;

/// <summary>
/// One bulk lookup at a time per account (the API's contract): the next request waits, first come
/// first served, and a request whose client goes away leaves the queue. Built on a one-permit
/// <see cref="ConcurrencyLimiter"/> with an oldest-first queue.
/// </summary>
public sealed class BulkGate : IDisposable
{
    private const int MaxWaiting = 10_000;
    private readonly ConcurrentDictionary<long, ConcurrencyLimiter> _limiters = new();

    public ValueTask<RateLimitLease> EnterAsync(long accountId, CancellationToken cancellationToken) =>
        _limiters.GetOrAdd(accountId, _ => new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = 1,
            QueueLimit = MaxWaiting,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        })).AcquireAsync(1, cancellationToken);

    /// <summary>Whether a bulk request of the account is running, and how many wait (for metrics and tests).</summary>
    public (bool Running, long Waiting) Statistics(long accountId)
    {
        if (!_limiters.TryGetValue(accountId, out var limiter) || limiter.GetStatistics() is not { } statistics) return (false, 0);
        return (statistics.CurrentAvailablePermits == 0, statistics.CurrentQueuedCount);
    }

    public void Dispose()
    {
        foreach (var limiter in _limiters.Values) limiter.Dispose();
    }
}
