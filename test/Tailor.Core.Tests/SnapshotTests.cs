using Tailor.Core.Evaluation;
using Tailor.Core.Profiles;

namespace Tailor.Core.Tests;

/// <summary>Profile snapshots round-trip, survive configuration changes, and keep a frozen format.</summary>
public sealed class SnapshotTests
{
    private static readonly Guid FixedId = Guid.Parse("019a0000-0000-7000-8000-000000000001");

    /// <summary>A profile with every kind of attribute state, built deterministically.</summary>
    private static (RuleHarness Harness, ProfileState State) Sample()
    {
        var h = new RuleHarness();
        h.State = h.Audience.NewProfile(FixedId, h.NowMs);
        h.State.AddIdentifiers([new("user_id", "u1"), new("email", "a@x.io")], h.NowMs);
        h.Event(("product", "boots"), ("price", 12.5), ("tag", "a"), ("city", "Oslo"), ("secret", "s"));
        h.Time.Advance(TimeSpan.FromHours(3));
        h.Event(("product", "hat"), ("tag", "b"));
        h.Audience.ApplyEvent(h.State, "db1.events", RuleHarness.Data(("type", "buy"), ("amount", 150)), h.NowMs);
        h.Audience.Import(h.State, "tier", Value.FromJson("""{"level":"gold"}"""), h.NowMs);
        h.Audience.Import(h.State, "spent", Value.FromNumber(1000), h.NowMs);
        h.State.SetBatchSegments(["42"]);
        return (h, h.State);
    }

    private static void AssertSameProfile(RuleHarness h, ProfileState expected, ProfileState actual)
    {
        Assert.Equal(expected.Id, actual.Id);
        Assert.Equal(expected.CreatedMs, actual.CreatedMs);
        Assert.Equal(expected.UpdatedMs, actual.UpdatedMs);
        Assert.Equal(expected.EventCount, actual.EventCount);
        Assert.Equal(expected.Identifiers, actual.Identifiers);
        Assert.Equal(expected.BatchSegments, actual.BatchSegments);
        Assert.Equal(expected.SegmentBits, actual.SegmentBits);
        foreach (var name in new[] { "last", "price", "views", "views.1h", "views.1d", "spent", "tier", "city", "secret" })
            Assert.Equal(h.Audience.ReadAttribute(expected, name, h.NowMs), h.Audience.ReadAttribute(actual, name, h.NowMs));
        Assert.Equal(h.Audience.ReadList(expected, "tags", h.NowMs), h.Audience.ReadList(actual, "tags", h.NowMs));
        Assert.Equal(ProfileSnapshot.Write(expected), ProfileSnapshot.Write(actual));
    }

    [Fact]
    public void A_snapshot_round_trips_every_attribute_kind()
    {
        var (h, state) = Sample();
        var copy = ProfileSnapshot.Read(ProfileSnapshot.Write(state), h.Audience.Layout);
        AssertSameProfile(h, state, copy);
        Assert.True(h.Audience.InSegment(copy, "active"));
        Assert.True(h.Audience.InSegment(copy, "big"));
    }

    /// <summary>The v1 bytes of <see cref="Sample"/> (written until v2): stores hold them, so they still load.</summary>
    private const string FrozenV1 =
        "VFBTAQGaAAAAAHAAgAAAAAAAAAEAqNp2mwEAAIBzf3ebAQAAAwAAAAAAAAACB3VzZXJfaWQCdTEAqNp2mwEAAAVlbWFpbAZhQHguaW8AqNp2mwEAAAECNDICBmFjdGl2ZQNiaWcIBGxhc3QBgHN/d5sBAAACA2hhdAVwcmljZQEAqNp2mwEAAAMAAAAAAAApQAR0YWdzAoBzf3ebAQAAAgIBYoBzf3ebAQAAAgFhAKjadpsBAAAFdmlld3MDgHN/d5sBAAADAIQMJAAAAACA7jYAAAAAAABcJgUAAAAABADwEQEAAAAAAAAAAAAAAAhAApB9BwAAAAAAAAAAAAAA8D8ByMWzAAAAAAAAAAAAAAAAQAKTfQcAAAAAAAAAAAAAAABABXNwZW50BIBzf3ebAQAAAAAAAABAj0AAAAAAAMBiQAR0aWVyAYBzf3ebAQAABRB7ImxldmVsIjoiZ29sZCJ9BGNpdHkBAKjadpsBAAACBE9zbG8Gc2VjcmV0AQCo2nabAQAAAgFz";

    /// <summary>
    /// The v2 bytes of <see cref="Sample"/>. If this test fails the format changed: bump
    /// <see cref="ProfileSnapshot.Version"/> and keep a reader for versions 1 and 2 instead of editing this.
    /// </summary>
    private const string FrozenV2 =
        "VFBTAgGaAAAAAHAAgAAAAAAAAAGAc393mwEAAICupgoDAgd1c2VyX2lkAnUxgK6mCgVlbWFpbAZhQHguaW+ArqYKAQI0MgIGYWN0aXZlA2JpZwgEbGFzdAEAAgNoYXQFcHJpY2UBgK6mCgMAAAAAAAApQAR0YWdzAgACAgFiAAIBYYCupgoFdmlld3MDAAOAiLKgAoDd2wGAuJkpBADgxwgAAAAAAAAIQAKg9jsAAAAAAADwPwGQl54LAAAAAAAAAEACpvY7AAAAAAAAAEAFc3BlbnQEAAAAAAAAQI9AAAAAAADAYkAEdGllcgEABRB7ImxldmVsIjoiZ29sZCJ9BGNpdHkBgK6mCgIET3NsbwZzZWNyZXQBgK6mCgIBcw==";

    [Fact]
    public void The_snapshot_format_is_frozen()
    {
        var (h, state) = Sample();
        var bytes = ProfileSnapshot.Write(state);
        Assert.Equal(FrozenV2, Convert.ToBase64String(bytes));
        AssertSameProfile(h, state, ProfileSnapshot.Read(Convert.FromBase64String(FrozenV2), h.Audience.Layout));
    }

    /// <summary>A profile with one identifier, one event and a different id: little of what <see cref="Sample"/> holds.</summary>
    private static ProfileState Sparse(RuleHarness h)
    {
        var state = h.Audience.NewProfile(Guid.Parse("019a0000-0000-7000-8000-000000000002"), h.NowMs - 5000);
        state.AddIdentifiers([new("user_id", "u2")], h.NowMs);
        h.Audience.ApplyEvent(state, "db1.events", RuleHarness.Data(("product", "scarf"), ("tag", "q")), h.NowMs);
        return state;
    }

    [Fact]
    public void A_snapshot_read_into_a_finished_calls_state_is_the_same_as_one_read_fresh()
    {
        var (h, full) = Sample();
        var sparse = Sparse(h);
        var fullBytes = ProfileSnapshot.Write(full);
        var sparseBytes = ProfileSnapshot.Write(sparse);

        // A state that held everything, reused for a profile with little: nothing of the first remains.
        var reused = ProfileSnapshot.Read(fullBytes, h.Audience.Layout);
        var intoFull = ProfileSnapshot.Read(sparseBytes, h.Audience.Layout, reuse: reused);
        Assert.Same(reused, intoFull);
        AssertSameProfile(h, sparse, intoFull);
        Assert.Equal(sparseBytes, ProfileSnapshot.Write(intoFull));

        // And back: a reused state that held little takes every attribute kind again.
        AssertSameProfile(h, full, ProfileSnapshot.Read(fullBytes, h.Audience.Layout, reuse: intoFull));

        // Changed after reading, the reused state's objects do not leak into the next read.
        var again = ProfileSnapshot.Read(fullBytes, h.Audience.Layout, reuse: ProfileSnapshot.Read(fullBytes, h.Audience.Layout));
        h.Audience.ApplyEvent(again, "db1.events", RuleHarness.Data(("product", "belt"), ("tag", "z")), h.NowMs);
        AssertSameProfile(h, sparse, ProfileSnapshot.Read(sparseBytes, h.Audience.Layout, reuse: again));

        // Objects a sparse profile did not take stay spares through the next reads, and carry nothing over.
        var layout = h.Audience.Layout;
        var twiceSparse = ProfileSnapshot.Read(sparseBytes, layout, reuse: ProfileSnapshot.Read(sparseBytes, layout, reuse: ProfileSnapshot.Read(fullBytes, layout)));
        AssertSameProfile(h, sparse, twiceSparse);
        h.Audience.ApplyEvent(twiceSparse, "db1.events", RuleHarness.Data(("product", "belt"), ("tag", "z")), h.NowMs);
        AssertSameProfile(h, full, ProfileSnapshot.Read(fullBytes, layout, reuse: twiceSparse));

        // A new profile in a reused state is empty.
        var empty = h.Audience.NewProfile(FixedId, h.NowMs, reuse: ProfileSnapshot.Read(fullBytes, h.Audience.Layout));
        AssertSameProfile(h, h.Audience.NewProfile(FixedId, h.NowMs), empty);
    }

    [Fact]
    public void Attributes_first_set_in_a_reused_state_are_as_in_a_new_one()
    {
        var (h, full) = Sample();
        var fullBytes = ProfileSnapshot.Write(full);
        var sparseBytes = ProfileSnapshot.Write(Sparse(h));
        void Events(ProfileState state)
        {
            h.Audience.ApplyEvent(state, "db1.events", RuleHarness.Data(("product", "cap"), ("price", 3), ("tag", "t"), ("city", "Rome"), ("secret", "k")), h.NowMs);
            h.Audience.ApplyEvent(state, "db1.events", RuleHarness.Data(("type", "buy"), ("amount", 30)), h.NowMs);
        }

        // Read into a state that held every kind: the attributes the event sets first come from its spares.
        var fresh = ProfileSnapshot.Read(sparseBytes, h.Audience.Layout);
        var reused = ProfileSnapshot.Read(sparseBytes, h.Audience.Layout, reuse: ProfileSnapshot.Read(fullBytes, h.Audience.Layout));
        Events(fresh);
        Events(reused);
        AssertSameProfile(h, fresh, reused);

        // A new profile in such a state: every attribute comes from a spare, and none keeps the old values.
        var id = Guid.Parse("019a0000-0000-7000-8000-000000000003");
        var created = h.Audience.NewProfile(id, h.NowMs);
        var createdInReused = h.Audience.NewProfile(id, h.NowMs, reuse: ProfileSnapshot.Read(fullBytes, h.Audience.Layout));
        Events(created);
        Events(createdInReused);
        AssertSameProfile(h, created, createdInReused);
        Assert.Equal(30, h.Audience.ReadAttribute(createdInReused, "spent", h.NowMs).Number);
    }

    [Fact]
    public void Values_equal_to_strings_the_caller_holds_are_read_as_those_strings()
    {
        var (h, state) = Sample();
        var bytes = ProfileSnapshot.Write(state);
        // Made at run time: a literal would be the same interned instance as the sample's.
        string[] known = [string.Concat("a@x", ".io"), string.Concat("h", "at"), string.Concat("nowhere", "")];

        var read = ProfileSnapshot.Read(bytes, h.Audience.Layout, reuse: null, known);

        AssertSameProfile(h, state, read);
        var email = read.Identifiers.Single(i => i.Identifier.Key == "email").Identifier.Value;
        Assert.Same(known[0], email);
        Assert.Same(known[1], h.Audience.ReadAttribute(read, "last", h.NowMs).String);
        var userId = read.Identifiers.Single(i => i.Identifier.Key == "user_id").Identifier.Value;
        Assert.Equal("u1", userId);
        Assert.DoesNotContain(known, k => ReferenceEquals(k, userId));
        Assert.NotSame(known[0], ProfileSnapshot.Read(bytes, h.Audience.Layout).Identifiers.Single(i => i.Identifier.Key == "email").Identifier.Value);
    }

    [Fact]
    public void A_state_of_another_configuration_is_not_reused()
    {
        var (h, full) = Sample();
        var other = new RuleHarness().Audience.NewProfile(FixedId, h.NowMs);
        var read = ProfileSnapshot.Read(ProfileSnapshot.Write(full), h.Audience.Layout, reuse: other);
        Assert.NotSame(other, read);
        AssertSameProfile(h, full, read);
    }

    [Fact]
    public void A_version_1_snapshot_still_loads()
    {
        var (h, state) = Sample();
        AssertSameProfile(h, state, ProfileSnapshot.Read(Convert.FromBase64String(FrozenV1), h.Audience.Layout));
        Assert.True(ProfileSnapshot.Write(state).Length < Convert.FromBase64String(FrozenV1).Length * 3 / 4);
    }

    [Fact]
    public void A_snapshot_loads_under_a_changed_configuration_keeping_what_still_fits()
    {
        var (h, state) = Sample();
        // New config: `last` removed, `price` became a list, views lost its 1h window and gained 2d, a new attribute added.
        var changed = TestConfigs.Load(TestConfigs.Audience("""
            - { name: fresh, type: imported }
            - { name: price, type: list, event: view, field: price }
            - { name: tags, type: list, event: view, field: tag, max_items: 1 }
            - { name: views, type: counter, event: view, window: 7d, sub_windows: [1d, 2d] }
            - { name: spent, type: counter, event: buy, increment_field: amount, counter_type: total }
            - { name: tier, type: imported }
            """, "- { name: big, rule: 'spent > 100' }")).Audiences["people"];
        var now = h.NowMs;
        var moved = ProfileSnapshot.Read(ProfileSnapshot.Write(state), changed.Layout);
        Assert.Equal(Value.Missing, changed.ReadAttribute(moved, "last", now));
        Assert.Equal(Value.Missing, changed.ReadAttribute(moved, "price", now));
        Assert.Equal(["b"], changed.ReadList(moved, "tags", now).Select(v => v.String));
        Assert.Equal(3, changed.ReadAttribute(moved, "views.7d", now).Number);
        Assert.Equal(3, changed.ReadAttribute(moved, "views.1d", now).Number);
        Assert.Equal(0, changed.ReadAttribute(moved, "views.2d", now).Number);
        Assert.Equal(1150, changed.ReadAttribute(moved, "spent", now).Number);
        Assert.True(changed.InSegment(moved, "big"));

        // The same happens in place when a profile built under the old config meets the new one.
        changed.ApplyEvent(state, "db1.events", RuleHarness.Data(("tag", "c")), now);
        Assert.Same(changed.Layout, state.Layout);
        Assert.Equal(["c"], changed.ReadList(state, "tags", now).Select(v => v.String));
    }

    [Fact]
    public void A_snapshot_loads_under_a_configuration_listing_its_attributes_in_another_order()
    {
        var (h, state) = Sample();
        // The same attributes, reversed: the reader meets each name after the one it expects next.
        var reversed = TestConfigs.Load(TestConfigs.Audience(string.Join('\n', RuleHarness.Attributes.Split('\n', StringSplitOptions.RemoveEmptyEntries).Reverse()),
            RuleHarness.Segments)).Audiences["people"];
        var now = h.NowMs;
        var moved = ProfileSnapshot.Read(ProfileSnapshot.Write(state), reversed.Layout);
        foreach (var name in new[] { "last", "price", "views.7d", "views.1h", "views.1d", "spent", "tier", "secret" })
            Assert.Equal(h.Audience.ReadAttribute(state, name, now), reversed.ReadAttribute(moved, name, now));
        Assert.Equal(h.Audience.ReadList(state, "tags", now), reversed.ReadList(moved, "tags", now));
        Assert.Equal(h.Audience.InSegment(state, "active"), reversed.InSegment(moved, "active"));
        Assert.Equal(h.Audience.InSegment(state, "big"), reversed.InSegment(moved, "big"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("VFBT")]
    [InlineData("WFBTAQ==")]
    [InlineData("VFBTAg==")]
    [InlineData("VFBTAw==")]
    [InlineData("VFBTAQGaAAAAAHAAgAAAAAAAAAEAILA7")]
    public void A_corrupt_snapshot_is_rejected_with_InvalidDataException(string base64)
    {
        var h = new RuleHarness();
        Assert.Throws<InvalidDataException>(() => ProfileSnapshot.Read(Convert.FromBase64String(base64), h.Audience.Layout));
    }

    [Fact]
    public void Every_truncation_of_a_snapshot_is_rejected_with_InvalidDataException()
    {
        var h = new RuleHarness();
        var bytes = Convert.FromBase64String(FrozenV2);
        for (var length = 0; length < bytes.Length; length++)
        {
            var prefix = bytes[..length];
            Assert.Throws<InvalidDataException>(() => ProfileSnapshot.Read(prefix, h.Audience.Layout));
        }
        // And a snapshot read after a rejected one still reads whole (nothing of the failed read is left over).
        Assert.Equal(FixedId, ProfileSnapshot.Read(bytes, h.Audience.Layout).Id);
    }

    [Theory]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0x07 })] // an identifier count of int.MaxValue in a few bytes
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 })] // a 7-bit encoded count longer than an int
    [InlineData(new byte[] { 0x00, 0x00, 0x00, 0x01, 0x01, 0x61, 0x03, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x07 })] // a window count of int.MaxValue
    public void Counts_a_snapshot_cannot_hold_are_rejected_before_anything_is_allocated_for_them(byte[] afterHeader)
    {
        var h = new RuleHarness();
        // "TPS" v2, an id, updated, created 0 and no events: then the counts under test.
        byte[] header = [.. "TPS"u8, 2, .. new byte[16], .. BitConverter.GetBytes(1_000L), 0, 0];
        var error = Assert.Throws<InvalidDataException>(() => ProfileSnapshot.Read([.. header, .. afterHeader], h.Audience.Layout));
        Assert.StartsWith("corrupt profile snapshot", error.Message);
    }
}
