using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Tailor.Server.Hosting;
using Tailor.Storage;

namespace Tailor.Server.Ingest;

/// <summary>
/// Client uuids seen recently, so that a retried call is not applied twice (its offers are still
/// answered). Memory holds the calls of this process; the event log answers for older ones and for
/// those before a restart.
/// </summary>
public sealed class IdempotencyCache(IEventStore store, TimeProvider time, IOptions<TailorOptions> options)
{
    private readonly ConcurrentDictionary<(long Account, string Uuid), Entry> _entries = new();
    private readonly TimeSpan _window = options.Value.IdempotencyWindow;
    private readonly int _capacity = options.Value.IdempotencyMemoryEntries;
    private int _trimming;

    public sealed class Entry(long atMs)
    {
        public long AtMs { get; } = atMs;
        public TaskCompletionSource<Guid?> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>
    /// Either the profile an earlier call with this uuid went to (a duplicate), or an entry that the
    /// caller must complete (<see cref="Complete"/>) or abandon (<see cref="Abandon"/>).
    /// </summary>
    public async Task<(Guid? Duplicate, Entry? Mine)> BeginAsync(long accountId, string uuid)
    {
        var key = (accountId, uuid);
        while (true)
        {
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            var mine = new Entry(now);
            var existing = _entries.GetOrAdd(key, mine);
            if (ReferenceEquals(existing, mine) && _entries.Count > _capacity) Trim();
            if (!ReferenceEquals(existing, mine))
            {
                if (now - existing.AtMs > _window.TotalMilliseconds)
                {
                    _entries.TryRemove(new KeyValuePair<(long, string), Entry>(key, existing));
                    continue;
                }
                if (await existing.Done.Task is { } profile) return (profile, null);
                continue; // the earlier call failed: this one may try
            }
            var logged = await store.FindEventByUuidAsync(accountId, uuid);
            if (logged is not null && now / 1000 - logged.Time <= _window.TotalSeconds)
            {
                mine.Done.TrySetResult(logged.ProfileId);
                return (logged.ProfileId, null);
            }
            return (null, mine);
        }
    }

    public static void Complete(Entry entry, Guid profileId) => entry.Done.TrySetResult(profileId);

    public void Abandon(long accountId, string uuid, Entry entry)
    {
        _entries.TryRemove(new KeyValuePair<(long, string), Entry>((accountId, uuid), entry));
        entry.Done.TrySetResult(null);
    }

    /// <summary>
    /// Keeps memory bounded: forgets finished entries, oldest first, down to 90% of the capacity. Safe at
    /// any time: a forgotten uuid is still found in the event log.
    /// </summary>
    private void Trim()
    {
        if (Interlocked.Exchange(ref _trimming, 1) == 1) return;
        try
        {
            var target = _capacity * 9 / 10;
            var finished = _entries.Where(e => e.Value.Done.Task.IsCompleted).OrderBy(e => e.Value.AtMs).ToList();
            foreach (var entry in finished)
            {
                if (_entries.Count <= target) break;
                _entries.TryRemove(entry);
            }
        }
        finally
        {
            Volatile.Write(ref _trimming, 0);
        }
    }

    /// <summary>Drops entries older than the window (called periodically).</summary>
    public void Sweep()
    {
        var oldest = time.GetUtcNow().ToUnixTimeMilliseconds() - (long)_window.TotalMilliseconds;
        foreach (var (key, entry) in _entries)
            if (entry.AtMs < oldest) _entries.TryRemove(new KeyValuePair<(long, string), Entry>(key, entry));
    }
}
