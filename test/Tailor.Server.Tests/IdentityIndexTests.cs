using Tailor.Core.Profiles;
using Tailor.Server.Grains;

namespace Tailor.Server.Tests;

/// <summary>The identity index keyed by hashes, with each profile's identifiers in native memory: it answers as a plain map would.</summary>
public sealed class IdentityIndexTests
{
    [Fact]
    public void Owners_and_members_follow_assignments_unassignments_and_merges_as_a_plain_map_does()
    {
        var index = new IdentityIndex(capacity: 100);
        var owners = new Dictionary<Identifier, Guid>();
        var members = new Dictionary<Guid, List<Identifier>>();
        var profiles = Enumerable.Range(0, 40).Select(_ => Guid.NewGuid()).ToArray();
        // Values of every length class, non-ASCII ones included; the same value under two keys is two identifiers.
        var identifiers = Enumerable.Range(0, 300)
            .Select(i => new Identifier(i % 3 == 0 ? "email" : "td_client_id", i % 7 == 0 ? $"ünïcødé-{i}-{new string('x', i)}" : $"id-{i % 150}"))
            .Distinct().ToArray();
        var random = new Random(11);
        for (var step = 0; step < 20_000; step++)
        {
            var identifier = identifiers[random.Next(identifiers.Length)];
            var profile = profiles[random.Next(profiles.Length)];
            switch (random.Next(10))
            {
                case 0:
                    // A merge: the profile's identifiers all move to another, as the identity grain does it.
                    var target = profiles[random.Next(profiles.Length)];
                    if (target == profile) break;
                    var moved = index.TakeMembers(profile);
                    Assert.Equal(members.Remove(profile, out var expected) ? expected : [], moved);
                    foreach (var id in moved)
                    {
                        index.Assign(id, target);
                        owners[id] = target;
                        Members(members, target).Add(id);
                    }
                    break;
                case 1:
                    index.Unassign(identifier, profile);
                    if (owners.TryGetValue(identifier, out var owner) && owner == profile)
                    {
                        owners.Remove(identifier);
                        members[profile].Remove(identifier);
                    }
                    break;
                default:
                    if (owners.ContainsKey(identifier)) break; // the grain assigns only identifiers that are new, or of a merged profile
                    index.Assign(identifier, profile);
                    owners[identifier] = profile;
                    Members(members, profile).Add(identifier);
                    break;
            }
        }
        foreach (var identifier in identifiers)
        {
            Assert.Equal(owners.TryGetValue(identifier, out var expected), index.TryGetProfile(identifier, out var found));
            Assert.Equal(expected, found);
        }
        Assert.Contains(members.Values, list => list.Count > 2);
        foreach (var profile in profiles)
            Assert.Equal(members.GetValueOrDefault(profile) ?? [], index.TakeMembers(profile));
    }

    private static List<Identifier> Members(Dictionary<Guid, List<Identifier>> members, Guid profile) =>
        members.TryGetValue(profile, out var list) ? list : members[profile] = [];
}
