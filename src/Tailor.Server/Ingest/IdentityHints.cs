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
/// the newer, and the older one is dropped whole when the newer fills. The hints are kept in stripes
/// (each with its own lock and generations) of dictionaries that hold no references: a concurrent
/// dictionary allocated an object for every hint it added, which the next collections found through
/// the card table and copied (docs/performance.md).
/// </summary>
public sealed class IdentityHints
{
    private static readonly Meter Meter = new("Tailor.Identity");
    private static readonly Counter<long> Outcomes = Meter.CreateCounter<long>("tailor.identity.hints", "{call}",
        "Personalization calls by what the identity hints did: hit (one grain call), rejected (stitched after all), miss");
    private static readonly KeyValuePair<string, object?> Hit = new("outcome", "hit"), Rejected = new("outcome", "rejected"), Miss = new("outcome", "miss");
    private const int Stripes = 16;

    /// <summary>
    /// The audience by its name's hash: two audiences of an account whose hashes collide share hints,
    /// which is harmless (a profile takes a hinted call only if it holds the call's identifiers).
    /// </summary>
    private readonly record struct HintKey(long Account, int Audience, UInt128 Identifier);

    private sealed class Stripe
    {
        public readonly Lock Lock = new();
        public Dictionary<HintKey, Guid> Current = [], Previous = [];
    }

    private readonly int _generation;
    private readonly Stripe[] _stripes = new Stripe[Stripes];

    public IdentityHints(int capacity)
    {
        _generation = capacity <= 0 ? 0 : Math.Max(1, capacity / 2 / Stripes);
        for (var i = 0; i < Stripes; i++) _stripes[i] = new Stripe();
    }

    private static HintKey KeyOf(long account, string audience, UInt128 identifier) => new(account, audience.GetHashCode(StringComparison.Ordinal), identifier);

    private Stripe StripeOf(HintKey key) => _stripes[(int)((ulong)key.Identifier & (Stripes - 1))];

    /// <summary>The profile every identifier of the call was last stitched to, when they agree.</summary>
    /// <param name="identifiers">The call's identifiers as <see cref="IdentifierDto.Hashes"/>.</param>
    public Guid? Find(long account, string audience, UInt128[] identifiers)
    {
        var found = Guid.Empty;
        if (_generation > 0)
            foreach (var identifier in identifiers)
            {
                var key = KeyOf(account, audience, identifier);
                var stripe = StripeOf(key);
                Guid profile;
                lock (stripe.Lock)
                {
                    if (!stripe.Current.TryGetValue(key, out profile))
                    {
                        if (!stripe.Previous.TryGetValue(key, out profile)) break;
                        Add(stripe, key, profile);
                    }
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
    public void Remember(long account, string audience, UInt128[] identifiers, Guid profile)
    {
        if (_generation <= 0) return;
        foreach (var identifier in identifiers)
        {
            var key = KeyOf(account, audience, identifier);
            var stripe = StripeOf(key);
            lock (stripe.Lock)
                if (!stripe.Current.TryGetValue(key, out var known) || known != profile) Add(stripe, key, profile);
        }
    }

    /// <summary>The hinted call went to its profile in one grain call.</summary>
    public static void Taken() => Outcomes.Add(1, Hit);

    /// <summary>The profile did not take the hinted call: forget the hints, the identity grain decides.</summary>
    public void Reject(long account, string audience, UInt128[] identifiers)
    {
        Outcomes.Add(1, Rejected);
        foreach (var identifier in identifiers)
        {
            var key = KeyOf(account, audience, identifier);
            var stripe = StripeOf(key);
            lock (stripe.Lock)
            {
                stripe.Current.Remove(key);
                stripe.Previous.Remove(key);
            }
        }
    }

    /// <summary>With the stripe's lock held.</summary>
    private void Add(Stripe stripe, HintKey key, Guid profile)
    {
        stripe.Current[key] = profile;
        if (stripe.Current.Count < _generation) return;
        (stripe.Previous, stripe.Current) = (stripe.Current, stripe.Previous);
        stripe.Current.Clear();
    }
}
