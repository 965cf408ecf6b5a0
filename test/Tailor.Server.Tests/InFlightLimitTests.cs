using Tailor.Server.Accounts;

namespace Tailor.Server.Tests;

/// <summary>A service's in-flight limit (429 code 2013 beyond it): places taken and given back, none queued.</summary>
public sealed class InFlightLimitTests
{
    [Fact]
    public void Places_up_to_the_limit_are_given_and_one_comes_back_when_its_call_ends()
    {
        var limit = new InFlightLimit(2);
        using var first = limit.TryEnter();
        var second = limit.TryEnter();
        var refused = limit.TryEnter();
        Assert.True(first.Entered);
        Assert.True(second.Entered);
        Assert.False(refused.Entered);
        refused.Dispose(); // a refusal holds no place: giving it back changes nothing
        Assert.Equal(2, limit.InFlight);

        second.Dispose();
        Assert.Equal(1, limit.InFlight);
        using var third = limit.TryEnter();
        Assert.True(third.Entered);
        Assert.False(limit.TryEnter().Entered);
    }

    [Fact]
    public async Task Callers_racing_for_places_never_hold_more_than_the_limit_and_give_every_place_back()
    {
        var limit = new InFlightLimit(3);
        var most = 0;
        var entered = 0;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 20_000; i++)
            {
                using var slot = limit.TryEnter();
                if (!slot.Entered) continue;
                Interlocked.Increment(ref entered);
                var now = limit.InFlight;
                int seen;
                while (now > (seen = Volatile.Read(ref most)) && Interlocked.CompareExchange(ref most, now, seen) != seen) { }
            }
        })));
        Assert.InRange(most, 1, 3);
        Assert.True(entered > 0);
        Assert.Equal(0, limit.InFlight);
    }
}
