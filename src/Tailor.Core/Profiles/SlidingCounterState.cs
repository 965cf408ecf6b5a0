namespace Tailor.Core.Profiles;

/// <summary>
/// A sliding-window counter with bounded memory. Each window (the main one and every sub-window)
/// is cut into <see cref="BucketsPerWindow"/> time buckets of width window/24; only non-empty
/// buckets are stored, so a profile with few events stays small and one with many never holds more
/// than 25 buckets per window. An increment counts for at least the whole window and leaves it
/// within one bucket width after (e.g. 7 hours for a 7d window, 150 s for 1h).
/// </summary>
public sealed class SlidingCounterState : AttributeState
{
    public const int BucketsPerWindow = 24;

    private Bucket[] _buckets = [];
    private int _count;

    /// <summary>A bucket of window <see cref="Window"/> numbered from the Unix epoch in units of its width.</summary>
    public record struct Bucket(int Window, long Number, double Sum);

    public static long BucketWidthMs(long windowMs) => Math.Max(1, windowMs / BucketsPerWindow);

    public int BucketCount => _count;

    public ReadOnlySpan<Bucket> Buckets => _buckets.AsSpan(0, _count);

    /// <summary>Adds <paramref name="amount"/> at time <paramref name="nowMs"/> to every window.</summary>
    public void Add(ReadOnlySpan<long> windowsMs, long nowMs, double amount)
    {
        var expired = false;
        for (var w = 0; w < windowsMs.Length; w++)
        {
            var number = nowMs / BucketWidthMs(windowsMs[w]);
            // The current bucket of a window is almost always among the last few: search backwards.
            var found = false;
            for (var i = _count - 1; i >= 0; i--)
            {
                ref var bucket = ref _buckets[i];
                if (bucket.Window == w && bucket.Number == number)
                {
                    bucket.Sum += amount;
                    found = true;
                    break;
                }
            }
            if (found) continue;
            // A new bucket starts: the moment to drop the ones no window sees any more.
            if (!expired)
            {
                Expire(windowsMs, nowMs);
                expired = true;
            }
            Append(new Bucket(w, number, amount));
        }
        UpdatedMs = nowMs;
    }

    /// <summary>The window's sum at <paramref name="nowMs"/>, without changing the state.</summary>
    public double Read(int window, long windowMs, long nowMs)
    {
        var oldest = nowMs / BucketWidthMs(windowMs) - BucketsPerWindow;
        var sum = 0.0;
        for (var i = 0; i < _count; i++)
        {
            var bucket = _buckets[i];
            if (bucket.Window == window && bucket.Number >= oldest) sum += bucket.Sum;
        }
        return sum;
    }

    /// <summary>Drops buckets that no window can see any more.</summary>
    public void Expire(ReadOnlySpan<long> windowsMs, long nowMs)
    {
        Span<long> oldest = windowsMs.Length <= 16 ? stackalloc long[windowsMs.Length] : new long[windowsMs.Length];
        for (var w = 0; w < windowsMs.Length; w++) oldest[w] = nowMs / BucketWidthMs(windowsMs[w]) - BucketsPerWindow;
        var kept = 0;
        for (var i = 0; i < _count; i++)
        {
            var bucket = _buckets[i];
            if (bucket.Window < windowsMs.Length && bucket.Number >= oldest[bucket.Window])
                _buckets[kept++] = bucket;
        }
        _count = kept;
    }

    /// <summary>Adds a bucket as is (merges and snapshots); equal buckets are summed.</summary>
    public void AddBucket(Bucket bucket)
    {
        for (var i = 0; i < _count; i++)
        {
            if (_buckets[i].Window == bucket.Window && _buckets[i].Number == bucket.Number)
            {
                _buckets[i].Sum += bucket.Sum;
                return;
            }
        }
        Append(bucket);
    }

    /// <summary>Empties the counter for another profile's buckets (a reused state), keeping its array.</summary>
    internal override void Empty()
    {
        base.Empty();
        _count = 0;
    }

    /// <summary>Room for this many buckets (a snapshot read knows its count, and a call adds one or two).</summary>
    internal void Reserve(int count)
    {
        if (count > _buckets.Length) Array.Resize(ref _buckets, count);
    }

    private void Append(Bucket bucket)
    {
        if (_count == _buckets.Length) Array.Resize(ref _buckets, Math.Max(4, _count * 2));
        _buckets[_count++] = bucket;
    }
}
