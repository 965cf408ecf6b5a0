using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Tailor.Server.Hosting;

namespace Tailor.Server.Grains;

/// <summary>
/// The identity grains and profile partitions active in this silo, for the hot call: a personalization
/// whose grains are here runs on their activations directly, queued on each activation's own scheduler
/// (so the grains' turns hold as for any call), instead of through Orleans' messaging. A grain call
/// made four messages, their callbacks and tasks; the two calls were about a third of the bytes a
/// personalization allocated (docs/performance.md, ninth session). Orleans still decides where a grain
/// lives: one is here only once a call through Orleans activated it, and leaves with its activation.
/// A direct call not answered within Orleans' response timeout fails as a grain call would (a
/// <see cref="TimeoutException"/>, answered 503 with code 5004): a watchdog looks every second.
/// </summary>
public sealed class LocalGrains : IDisposable
{
    /// <summary>By account, audience and partition; partition -1 is the audience's identity grain.</summary>
    private readonly ConcurrentDictionary<(long Account, string Audience, int Partition), (Grain Grain, DirectCalls Direct)> _active = new();
    private readonly Timer _watchdog;
    /// <summary>How long a direct call may take: Orleans' response timeout for grain calls.</summary>
    private readonly TimeSpan _callTimeout;
    private readonly TimeSpan _idleTimeout;

    public LocalGrains(IOptions<SiloMessagingOptions> messaging, IOptions<TailorOptions> options)
    {
        _callTimeout = messaging.Value.ResponseTimeout;
        _idleTimeout = options.Value.IdleProfileTimeout;
        _watchdog = new Timer(static grains => ((LocalGrains)grains!).TimeOutLate(), this, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    private void TimeOutLate()
    {
        var now = Environment.TickCount64;
        foreach (var (_, active) in _active) active.Direct.TimeOutLate(now);
    }

    public void Dispose() => _watchdog.Dispose();

    /// <summary>
    /// From a grain's activation: it takes direct calls from now on, through the inbox returned. A call
    /// may find the grain here before its activation has the inbox in hand (another thread, between this
    /// method's two lines and the grain's assignment): calls use the inbox stored with the grain, never
    /// one read from the grain (a null read there answered 500 while partitions activated under load).
    /// </summary>
    /// <param name="delayDeactivation">The grain's <c>DelayDeactivation</c> (protected in <see cref="Grain"/>).</param>
    internal DirectCalls Enlist(long accountId, string audience, int partition, Grain grain, Action<TimeSpan> delayDeactivation)
    {
        var direct = new DirectCalls(grain.GrainContext.Scheduler, delayDeactivation, _idleTimeout, _callTimeout);
        _active[(accountId, audience, partition)] = (grain, direct);
        return direct;
    }

    /// <summary>From a grain's deactivation: no more direct calls; completes when those in flight are done.</summary>
    internal Task Leave(long accountId, string audience, int partition, Grain grain, DirectCalls direct)
    {
        _active.TryRemove(KeyValuePair.Create((accountId, audience, partition), (grain, direct)));
        return direct.CloseAsync();
    }

    /// <summary>
    /// The call run on the profile's partition here, or null when the partition is not active in this
    /// silo (or is being deactivated): then the call goes through Orleans.
    /// </summary>
    public ValueTask<PersonalizeReply?> Personalize(long accountId, string audience, Guid id, PersonalizeCall call, StitchReply stitch) =>
        _active.TryGetValue((accountId, audience, GrainKeys.PartitionOf(id)), out var active)
            ? DirectPersonalize.Run((ProfilePartitionGrain)active.Grain, active.Direct, id, call, stitch)
            : ValueTask.FromResult<PersonalizeReply?>(null);

    /// <summary>
    /// The stitching decided by the audience's identity grain here, or null when it is not active in this
    /// silo or cannot decide at once (see <see cref="IdentityGrain.TryResolveHere"/>): then the call goes through Orleans.
    /// </summary>
    public ValueTask<StitchReply?> Resolve(long accountId, string audience, IdentifierDto[] identifiers, UInt128[] hashes) =>
        _active.TryGetValue((accountId, audience, -1), out var active)
            ? DirectResolve.Run((IdentityGrain)active.Grain, active.Direct, identifiers, hashes)
            : ValueTask.FromResult<StitchReply?>(null);
}
