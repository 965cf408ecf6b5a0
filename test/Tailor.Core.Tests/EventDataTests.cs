using Tailor.Core.Events;

namespace Tailor.Core.Tests;

/// <summary>An event's fields as the engine reads them, with the uuid the server made for an event sent without one.</summary>
public sealed class EventDataTests
{
    private static readonly Guid Made = Guid.Parse("0190f5a2-7c1e-7b3d-9a4f-2b6c8d0e1f23");

    [Fact]
    public void A_made_uuid_reads_as_its_text_and_is_one_of_the_fields()
    {
        var data = EventData.From(("td_client_id", Value.FromString("c1")));
        data.SetMadeUuid(Made);
        Assert.Equal(2, data.Count);
        Assert.Equal(Value.FromString("0190f5a2-7c1e-7b3d-9a4f-2b6c8d0e1f23"), data["uuid"]);
        Assert.Same(data["uuid"].Text, data["uuid"].Text); // made into a string once
        var fields = new List<(string, Value)>();
        foreach (var field in data) fields.Add(field);
        Assert.Equal([("td_client_id", Value.FromString("c1")), ("uuid", Value.FromString(Made.ToString()))], fields);
    }

    [Fact]
    public void A_made_uuid_is_enumerated_even_when_never_read_and_gives_way_to_a_uuid_set_later()
    {
        var data = EventData.From(("td_client_id", Value.FromString("c1")));
        data.SetMadeUuid(Made);
        var names = new List<string>();
        foreach (var (name, _) in data) names.Add(name);
        Assert.Equal(["td_client_id", "uuid"], names);

        var other = EventData.From(("td_client_id", Value.FromString("c2")));
        other.SetMadeUuid(Made);
        other.SetField("uuid", Value.FromString("set-later"));
        Assert.Equal(2, other.Count);
        Assert.Equal("set-later", other["uuid"].Text);
    }

    [Fact]
    public void An_event_with_its_own_uuid_takes_no_made_one()
    {
        var data = EventData.From(("uuid", Value.FromString("client-1")));
        Assert.Throws<InvalidOperationException>(() => data.SetMadeUuid(Made));
        Assert.Equal("client-1", data["uuid"].Text);
        Assert.Equal(Value.Missing, EventData.From()["uuid"]);
    }
}
