using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Tailor.Server.Grains;

namespace Tailor.Server.Tests;

/// <summary>The grains' messages cross silos in a cluster: through Orleans' serializer they arrive whole.</summary>
public sealed class GrainMessageTests
{
    /// <summary>The silo's serializer, with the server's message types (the host starts on its first client).</summary>
    private static Serializer SerializerOf(TailorServerFactory server)
    {
        _ = server.CreateClient();
        return server.Services.GetRequiredService<Serializer>();
    }

    [Fact]
    public async Task Stitching_and_personalization_replies_arrive_whole_through_the_serializer()
    {
        await using var server = new TailorServerFactory();
        var serializer = SerializerOf(server);
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

    [Fact]
    public async Task A_personalization_call_arrives_whole_but_for_its_parsed_event()
    {
        await using var server = new TailorServerFactory();
        var serializer = SerializerOf(server);
        var call = new PersonalizeCall
        {
            AccountId = 7,
            Audience = "shoppers",
            Service = "web",
            Database = "demo_db",
            Table = "pageviews",
            EventTable = "demo_db.pageviews",
            Body = "{\"td_client_id\":\"c1\"}"u8.ToArray(),
            Uuid = "u-1",
            MadeUuid = Guid.Parse("0190f5a2-7c1e-7b3d-9a4f-2b6c8d0e1f23"),
            Time = 1_700_000_000,
            IsPublic = true,
            Identifiers = [new("td_client_id", "c1")],
            Event = Tailor.Core.Events.EventData.From(("td_client_id", Tailor.Core.Value.FromString("c1"))),
        };
        var arrived = serializer.Deserialize<PersonalizeCall>(serializer.SerializeToArray(call))!;
        Assert.Equal((7L, "shoppers", "web", "demo_db", "pageviews", "demo_db.pageviews"), (arrived.AccountId, arrived.Audience, arrived.Service, arrived.Database, arrived.Table, arrived.EventTable));
        Assert.Equal(call.Body.ToArray(), arrived.Body.ToArray());
        Assert.Equal(("u-1", call.MadeUuid, true, 1_700_000_000L, true), (arrived.Uuid, arrived.MadeUuid, arrived.ClientUuid, arrived.Time, arrived.IsPublic));
        Assert.Equal(call.Identifiers, arrived.Identifiers);
        // The parsed event stays in memory: a grain elsewhere parses the body.
        Assert.Null(arrived.Event);

        // Back in the pool, the call keeps its identifiers' array emptied for the next use; that stays here too.
        var sent = call.Identifiers;
        call.KeepIdentifiersArray();
        Assert.Same(sent, call.SpareIdentifiers);
        Assert.Equal([default(IdentifierDto)], sent);
        Assert.Empty(call.Identifiers);
        Assert.Null(serializer.Deserialize<PersonalizeCall>(serializer.SerializeToArray(call))!.SpareIdentifiers);

        // And its event object, released, for the next parse.
        var parsed = call.Event!;
        parsed.Release();
        call.KeepEventObject();
        Assert.Same(parsed, call.SpareEvent);
        Assert.Null(call.Event);
        Assert.Null(serializer.Deserialize<PersonalizeCall>(serializer.SerializeToArray(call))!.SpareEvent);
    }
}
