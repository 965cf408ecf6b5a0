using Tailor.Core.Events;
using Tailor.Core.Identity;
using Tailor.Core.Profiles;

namespace Tailor.Core.Evaluation;

/// <summary>The result of one personalization call.</summary>
public sealed record PersonalizeOutcome(
    string? Error,
    Guid ProfileId,
    bool ProfileIsNew,
    StitchPlan? Plan,
    ApplyResult Applied,
    string OffersJson,
    IReadOnlyList<SectionExplanation>? Explanation);

/// <summary>
/// The whole real-time flow of one account in one process: ID stitching over an in-memory identity
/// index, attribute updates, segments, offers. The server runs the same steps inside Orleans grains
/// with durable storage; this runner is for tests, benchmarks and offline "what would happen" tools.
/// Thread-safe (one call at a time).
/// </summary>
public sealed class LocalPersonalizer(CompiledConfig config, TimeProvider time)
{
    private readonly Dictionary<(string Audience, Identifier Identifier), Guid> _index = [];
    private readonly Dictionary<Guid, ProfileState> _profiles = [];
    private readonly Dictionary<Guid, Guid> _aliases = [];
    private readonly Lock _lock = new();

    public CompiledConfig Config { get; set; } = config;

    private long NowMs => time.GetUtcNow().ToUnixTimeMilliseconds();

    public PersonalizeOutcome Personalize(string service, string database, string table, EventData data, bool isPublic = false, bool explain = false)
    {
        lock (_lock)
        {
            if (!Config.Services.TryGetValue(service, out var compiled))
                return Failed($"unknown service `{service}`");
            var audience = compiled.Audience;
            var qualified = $"{database}.{table}";
            if (!audience.EventTables.Contains(qualified))
                return Failed($"`{qualified}` is not an event table of audience `{audience.Name}`");
            if (!audience.TryGetIdentifiers(data, out var identifiers, out var error))
                return Failed(error);

            var now = NowMs;
            var plan = IdentityStitcher.Plan(identifiers, id => _index.TryGetValue((audience.Name, id), out var p) ? p : null, () => IdentityStitcher.NewProfileId(time));
            ProfileState state;
            var isNew = false;
            switch (plan)
            {
                case StitchPlan.NewProfile created:
                    state = audience.NewProfile(created.ProfileId, now);
                    _profiles[state.Id] = state;
                    isNew = true;
                    break;
                case StitchPlan.Merge merge:
                    state = _profiles[merge.Target];
                    var sources = merge.Sources.Select(s => _profiles[s]).ToList();
                    Forget(audience, ProfileMerger.Merge(audience, state, sources));
                    foreach (var source in sources)
                    {
                        _profiles.Remove(source.Id);
                        _aliases[source.Id] = state.Id;
                        foreach (var id in source.Identifiers) _index[(audience.Name, id.Identifier)] = state.Id;
                    }
                    break;
                default:
                    state = _profiles[plan.Profile];
                    break;
            }
            Forget(audience, state.AddIdentifiers(identifiers, now));
            foreach (var id in identifiers) _index[(audience.Name, id)] = state.Id;

            var applied = audience.ApplyEvent(state, qualified, data, now);
            var offers = compiled.OffersJson(state, data, applied, isPublic, isNew, now);
            var explanation = explain ? compiled.Explain(state, data, applied, isNew, now) : null;
            return new PersonalizeOutcome(null, state.Id, isNew, plan, applied, offers, explanation);
        }
    }

    /// <summary>Creates or updates a profile from imported data, as profile import does.</summary>
    public Guid Import(string audienceName, IReadOnlyList<Identifier> identifiers, IReadOnlyDictionary<string, Value> attributes, IEnumerable<string>? batchSegments = null)
    {
        lock (_lock)
        {
            var audience = Config.Audiences[audienceName];
            var now = NowMs;
            var known = identifiers.Select(id => _index.TryGetValue((audienceName, id), out var p) ? p : (Guid?)null).FirstOrDefault(p => p is not null);
            var state = known is { } existing ? _profiles[existing] : audience.NewProfile(IdentityStitcher.NewProfileId(time), now);
            _profiles[state.Id] = state;
            Forget(audience, state.AddIdentifiers(identifiers, now));
            foreach (var id in identifiers) _index[(audienceName, id)] = state.Id;
            foreach (var (name, value) in attributes)
                if (!audience.Import(state, name, value, now)) throw new ArgumentException($"`{name}` is not an imported attribute or total counter of `{audienceName}`", nameof(attributes));
            if (batchSegments is not null) state.SetBatchSegments(batchSegments);
            audience.EvaluateSegments(state, now);
            return state.Id;
        }
    }

    public ProfileState? Find(string audience, Identifier identifier)
    {
        lock (_lock)
            return _index.TryGetValue((audience, identifier), out var id) ? _profiles[id] : null;
    }

    public ProfileState? Get(Guid profileId)
    {
        lock (_lock)
        {
            while (_aliases.TryGetValue(profileId, out var target)) profileId = target;
            return _profiles.GetValueOrDefault(profileId);
        }
    }

    public int ProfileCount
    {
        get
        {
            lock (_lock) return _profiles.Count;
        }
    }

    private void Forget(CompiledAudience audience, IReadOnlyList<Identifier> evicted)
    {
        foreach (var id in evicted) _index.Remove((audience.Name, id));
    }

    private static PersonalizeOutcome Failed(string? error) => new(error, Guid.Empty, false, null, default, "", null);
}
