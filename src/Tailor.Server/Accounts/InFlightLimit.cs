namespace Tailor.Server.Accounts;

/// <summary>
/// At most <see cref="Limit"/> calls of a service in flight (429 code 2013 beyond it, nobody queued):
/// a counter taken and given back per call. <c>ConcurrencyLimiter</c> of System.Threading.RateLimiting
/// does the same under a lock and makes a lease object for each call it admits, on the path of every
/// personalization call (docs/performance.md, "4 December, fourteenth session").
/// </summary>
public sealed class InFlightLimit(int limit)
{
    private int _inFlight;

    public int Limit => limit;

    /// <summary>Calls holding a place now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>A place for one call, or none (<see cref="Slot.Entered"/> false) when <see cref="Limit"/> calls hold one; disposing it gives the place back.</summary>
    public Slot TryEnter()
    {
        var current = Volatile.Read(ref _inFlight);
        while (current < limit)
        {
            var seen = Interlocked.CompareExchange(ref _inFlight, current + 1, current);
            if (seen == current) return new Slot(this);
            current = seen;
        }
        return default;
    }

    /// <summary>A call's place; dispose it once, when the call ends (a <c>using</c> declaration).</summary>
    public readonly struct Slot : IDisposable
    {
        private readonly InFlightLimit? _owner;

        internal Slot(InFlightLimit owner) => _owner = owner;

        public bool Entered => _owner is not null;

        public void Dispose()
        {
            if (_owner is not null) Interlocked.Decrement(ref _owner._inFlight);
        }
    }
}
