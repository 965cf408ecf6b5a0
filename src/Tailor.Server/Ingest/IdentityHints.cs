using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Tailor.Server.Grains;

namespace Tailor.Server.Ingest;

/// <summary>
/// Which profile a call's identifiers led to, remembered at the edge so that a returning customer's
/// next call goes straight to the profile's partition: one grain call instead of two, and no turn in
/// the audience's identity grain, which every call of the audience otherwise goes through. Only a hint:
/// the partition takes the call only when the profile holds every identifier of it, and otherwise (a
/// merge moved the profile, an identifier was evicted, the profile was erased) the call is stitched
/// by the identity grain as usual. So nothing has to tell the hints of a change, on this node or another.
/// Bounded: two generations of at most half the capacity each; a hint found in the older one moves to
/// the newer, and the older one is dropped whole when the newer fills.
/// </summary>
public sealed class IdentityHints(int capacity)
{
    private static readonly Meter Meter = new("Tailor.Identity");
    private static readonly Counter<long> Outcomes = Meter.CreateCounter<long>("tailor.identity.hints", "{call}",
        "Personalization calls by what the identity hints did: hit (one grain call), rejected (stitched after all), miss");
    private static readonly KeyValuePair<string, object?> Hit = new("outcome", "hit"), Rejected = new("outcome", "rejected"), Miss = new("outcome", "miss");

    private readonly record struct HintKey(long Account, string Audience, string Key, string Value);

    private readonly int _generation = capacity / 2;
    private readonly Lock _rotation = new();
    private ConcurrentDictionary<HintKey, Guid> _current = new(), _previous = new();
    private int _added;

    /// <summary>The profile every identifier of the call was last stitched to, when they agree.</summary>
    public Guid? Find(long account, string audience, IdentifierDto[] identifiers)
    {
        var found = Guid.Empty;
        if (_generation > 0)
            foreach (var identifier in identifiers)
            {
                var key = new HintKey(account, audience, identifier.Key, identifier.Value);
                if (!_current.TryGetValue(key, out var profile))
                {
                    if (!_previous.TryGetValue(key, out profile)) break;
                    Add(key, profile);
                }
                if (found != Guid.Empty && found != profile)
                {
                    found = Guid.Empty;
                    break;
                }
                found = profile;
            }
        if (found == Guid.Empty)
        {
            Outcomes.Add(1, Miss);
            return null;
        }
        return found;
    }

    /// <summary>Where the identity grain stitched the call's identifiers.</summary>
    public void Remember(long account, string audience, IdentifierDto[] identifiers, Guid profile)
    {
        if (_generation <= 0) return;
        foreach (var identifier in identifiers)
        {
            var key = new HintKey(account, audience, identifier.Key, identifier.Value);
            if (!_current.TryGetValue(key, out var known) || known != profile) Add(key, profile);
        }
    }

    /// <summary>The hinted call went to its profile in one grain call.</summary>
    public static void Taken() => Outcomes.Add(1, Hit);

    /// <summary>The profile did not take the hinted call: forget the hints, the identity grain decides.</summary>
    public void Reject(long account, string audience, IdentifierDto[] identifiers)
    {
        Outcomes.Add(1, Rejected);
        foreach (var identifier in identifiers)
        {
            var key = new HintKey(account, audience, identifier.Key, identifier.Value);
            _current.TryRemove(key, out _);
            _previous.TryRemove(key, out _);
        }
    }

    private void Add(HintKey key, Guid profile)
    {
        _current[key] = profile;
        if (Interlocked.Increment(ref _added) < _generation) return;
        lock (_rotation)
        {
            if (Volatile.Read(ref _added) < _generation) return;
            _previous = _current;
            _current = new ConcurrentDictionary<HintKey, Guid>();
            Volatile.Write(ref _added, 0);
        }
    }
}
