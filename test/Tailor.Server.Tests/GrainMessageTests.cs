using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Tailor.Server.Grains;

namespace Tailor.Server.Tests;

/// <summary>The grains' replies cross silos in a cluster: through Orleans' serializer they arrive whole.</summary>
public sealed class GrainMessageTests
{
    [Fact]
    public async Task Stitching_and_personalization_replies_arrive_whole_through_the_serializer()
    {
        await using var server = new TailorServerFactory();
        _ = server.CreateClient();
        var serializer = server.Services.GetRequiredService<Serializer>();
        T RoundTrip<T>(T value) => serializer.Deserialize<T>(serializer.SerializeToArray(value))!;

        var stitch = new StitchReply { ProfileId = Guid.NewGuid(), IsNew = true, MergeSources = [Guid.NewGuid()], Upserted = [new("email", "a@x.io")], Hinted = true };
        var stitched = RoundTrip(stitch);
        Assert.Equal((stitch.ProfileId, true, true), (stitched.ProfileId, stitched.IsNew, stitched.Hinted));
        Assert.Equal(stitch.MergeSources, stitched.MergeSources);
        Assert.Equal(stitch.Upserted, stitched.Upserted);
        // A reply made without its arrays reads them as empty, on both sides.
        Assert.Empty(RoundTrip(new StitchReply { ProfileId = stitch.ProfileId }).MergeSources);
        Assert.Empty(default(StitchReply).Upserted);

        var reply = new PersonalizeReply { OffersJson = "{\"offers\":{}}"u8.ToArray(), Seq = 42, MovedTo = Guid.NewGuid(), ProfileId = Guid.NewGuid(), HintRejected = true };
        var arrived = RoundTrip(reply);
        Assert.Equal(reply.OffersJson, arrived.OffersJson);
        Assert.Equal((42L, reply.MovedTo, reply.ProfileId, true), (arrived.Seq, arrived.MovedTo, arrived.ProfileId, arrived.HintRejected));
        Assert.Empty(RoundTrip(new PersonalizeReply { Seq = 1 }).OffersJson);
        Assert.Equal(stitch.ProfileId, RoundTrip<StitchReply?>(stitch)!.Value.ProfileId);
        Assert.Null(RoundTrip<StitchReply?>(null));
    }
}
