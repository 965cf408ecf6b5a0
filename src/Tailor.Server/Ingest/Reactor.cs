using System.Runtime.CompilerServices;
using Tailor.Server.Grains;
using Tailor.Server.Threading;

namespace Tailor.Server.Ingest;

/// <summary>
/// Runs one personalization call through the grains: idempotency by client uuid, then straight to the
/// profile when the identity hints know the customer and the profile agrees, otherwise ID stitching in
/// the audience's identity grain and then the profile grain (following a merge if the profile moved).
/// The per-call async methods here, in the handler and in the partition grain wait for the commit, so
/// they never complete synchronously: their state machines come from a pool
/// (<see cref="PooledValueTaskMethodBuilder{TResult}"/>, docs/performance.md).
/// </summary>
public sealed class Reactor(IGrainFactory grains, LocalGrains local, IdempotencyCache idempotency, IdentityHints hints)
{
    /// <summary>
    /// A call's profile can be merged away while the call is on its way to it, and its survivor too:
    /// concurrent sign-ins of one customer's many devices make chains as long as their merges (four
    /// hops were too few for twelve devices at once). Every merge goes into the oldest profile, so a
    /// chain has no cycle and ends; the bound only turns a defect into an error instead of a loop.
    /// </summary>
    private const int MaxMoves = 1024;

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    public async ValueTask<byte[]> PersonalizeAsync(PersonalizeCall call, CancellationToken cancellationToken)
    {
        IdempotencyCache.Entry? entry = null;
        if (call.ClientUuid)
        {
            var (duplicate, mine) = await idempotency.BeginAsync(call.AccountId, call.Uuid);
            if (duplicate is { } earlier) return await EvaluateAsync(call, earlier);
            entry = mine;
        }
        try
        {
            var hashes = call.HashIdentifiers();
            if (hints.Find(call.AccountId, call.Audience, hashes) is { } hinted)
            {
                var hint = new StitchReply { ProfileId = hinted, Hinted = true };
                var reply = await local.Personalize(call.AccountId, call.Audience, hinted, call, hint)
                    ?? await grains.Profile(call.AccountId, call.Audience, hinted).Personalize(call, hint);
                if (!reply.HintRejected && reply.MovedTo is null)
                {
                    IdentityHints.Taken();
                    if (entry is not null) IdempotencyCache.Complete(entry, reply.ProfileId);
                    return reply.OffersJson;
                }
                hints.Reject(call.AccountId, call.Audience, hashes);
            }

            // Stitching, then the profile (following a merge). In this method, not one of its own: each
            // async method in flight is one more state machine per call.
            var stitch = await local.Resolve(call.AccountId, call.Audience, call.Identifiers, hashes)
                ?? await grains.Identity(call.AccountId, call.Audience).Resolve(call.Identifiers, hashes);
            var profile = stitch.ProfileId;
            for (var move = 0; ; move++)
            {
                var reply = await local.Personalize(call.AccountId, call.Audience, profile, call, stitch)
                    ?? await grains.Profile(call.AccountId, call.Audience, profile).Personalize(call, stitch);
                if (reply.MovedTo is not { } movedTo)
                {
                    if (entry is not null) IdempotencyCache.Complete(entry, reply.ProfileId);
                    hints.Remember(call.AccountId, call.Audience, hashes, reply.ProfileId);
                    return reply.OffersJson;
                }
                if (move == MaxMoves) throw new InvalidOperationException($"profile {profile} keeps moving");
                profile = movedTo;
            }
        }
        catch
        {
            if (entry is not null) idempotency.Abandon(call.AccountId, call.Uuid, entry);
            throw;
        }
    }

    /// <summary>A repeated uuid: the offers of the profile the first call went to, nothing applied.</summary>
    private async Task<byte[]> EvaluateAsync(PersonalizeCall call, Guid profile)
    {
        for (var move = 0; move <= MaxMoves; move++)
        {
            var reply = await grains.Profile(call.AccountId, call.Audience, profile).Evaluate(call);
            if (reply.MovedTo is not { } movedTo) return reply.OffersJson;
            profile = movedTo;
        }
        throw new InvalidOperationException($"profile {profile} keeps moving");
    }
}
