using Tailor.Core;
using Tailor.Core.Evaluation;
using Tailor.Core.Events;
using Tailor.Core.Identity;
using Tailor.Core.Profiles;
using Tailor.Server.Accounts;
using Tailor.Server.Ingest;
using Tailor.Server.Lookup;
using Tailor.Storage;

namespace Tailor.Server.Grains;

/// <inheritdoc cref="IProfileGrain"/>
public sealed partial class ProfileGrain(AccountDirectory accounts, GroupCommitLog log, IProfileStore store, LookupIndexes lookups, TimeProvider time, ILogger<ProfileGrain> logger)
    : Grain, IProfileGrain
{
    private long _accountId;
    private string _audience = "";
    private Guid _id;
    /// <summary>
    /// The profile as last committed, in its snapshot encoding: a few hundred bytes where the object
    /// form is a few kilobytes, and the bytes are written for the commit anyway. A call reads it into
    /// a <see cref="ProfileState"/> (a microsecond or two) and keeps the bytes it commits.
    /// </summary>
    private byte[]? _snapshot;
    private Guid? _movedTo;

    private bool _loaded;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_accountId, _audience, _id) = GrainKeys.ParseProfile(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    /// <summary>
    /// Loads the profile from the store on first use, unless ID stitching has just created it (then
    /// there is nothing to read: most first calls of a new visitor cost no store read at all).
    /// </summary>
    private async Task EnsureLoaded(bool createdByThisCall = false)
    {
        if (_loaded) return;
        _loaded = true;
        if (createdByThisCall) return;
        var scope = new AudienceScope(_accountId, _audience);
        if (await store.LoadProfileAsync(scope, _id) is { } saved)
        {
            _snapshot = saved.Snapshot;
        }
        else
        {
            _movedTo = await store.FindAliasAsync(scope, _id);
        }
    }

    /// <summary>The call's service in the configuration in force now (a new version may have removed it since the token was checked).</summary>
    private CompiledService Service(string name) =>
        accounts.Config(_accountId)?.Compiled.Services.GetValueOrDefault(name) ?? throw new ServiceNotConfiguredException(name);

    private CompiledAudience? Audience() =>
        accounts.Config(_accountId)?.Compiled.Audiences.GetValueOrDefault(_audience);

    private long NowMs => time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>The committed profile as objects (laid out for the configuration in force), or null when there is none.</summary>
    private ProfileState? State(CompiledAudience audience) => _snapshot is null ? null : ProfileSnapshot.Read(_snapshot, audience.Layout);

    public async Task<PersonalizeReply> Personalize(PersonalizeCall call)
    {
        await EnsureLoaded(call.Stitch.IsNew && call.Stitch.ProfileId == _id);
        if (_movedTo is { } moved) return new PersonalizeReply { MovedTo = moved };
        var service = Service(call.Service);
        var audience = service.Audience;
        var now = NowMs;
        // The state is built for this call; the grain keeps it (as bytes) only once it is committed.
        var state = State(audience) ?? audience.NewProfile(_id, IdentityStitcher.CreatedMs(_id));

        var merged = await AbsorbSources(call.Stitch, audience, state);
        var evicted = state.AddIdentifiers(call.Identifiers.Select(i => new Identifier(i.Key, i.Value)), now);
        var data = call.Event;
        if (data is null && !EventParser.TryParse(call.Body, out data, out var error))
            throw new InvalidOperationException($"the server passed an unparsable event to a profile: {error}");
        var applied = audience.ApplyEvent(state, $"{call.Database}.{call.Table}", data!, now);
        var offers = Offers(service, state, data!, applied, call.IsPublic, call.Stitch.IsNew, now);

        var item = new WriteItem
        {
            Scope = new AudienceScope(_accountId, _audience),
            Database = call.Database,
            Table = call.Table,
            Uuid = call.Uuid,
            ClientUuid = call.ClientUuid,
            Time = call.Time,
            Body = call.Body,
            ProfileId = _id,
            Snapshot = ProfileSnapshot.Write(state),
            IdentitiesUpserted = [.. call.Stitch.Upserted.Select(i => new IdentityRecord(i.Key, i.Value, _id))],
            IdentitiesDeleted = [.. evicted.Select(i => (i.Key, i.Value))],
            MergedProfiles = merged,
        };
        var seq = await Commit(item, state, call.Stitch, evicted, []);
        return new PersonalizeReply { OffersJson = offers, Seq = seq, ProfileId = _id };
    }

    public async Task<PersonalizeReply> Import(ImportCall call)
    {
        await EnsureLoaded();
        if (_movedTo is { } moved) return new PersonalizeReply { MovedTo = moved };
        if (Audience() is not { } audience) throw new InvalidOperationException($"audience `{_audience}` is not in the configuration");
        var now = NowMs;
        var state = State(audience) ?? audience.NewProfile(_id, IdentityStitcher.CreatedMs(_id));
        var merged = await AbsorbSources(call.Stitch, audience, state);
        var evicted = state.AddIdentifiers(call.Row.Identifiers.Select(i => new Identifier(i.Key, i.Value)), now);
        audience.ApplyImport(state, call.Row.Values.Select(v => (v.Attribute, v.ToValue())), call.Row.BatchSegments, now);
        var item = new WriteItem
        {
            Scope = new AudienceScope(_accountId, _audience),
            Body = null,
            ProfileId = _id,
            Snapshot = ProfileSnapshot.Write(state),
            IdentitiesUpserted = [.. call.Stitch.Upserted.Select(i => new IdentityRecord(i.Key, i.Value, _id))],
            IdentitiesDeleted = [.. evicted.Select(i => (i.Key, i.Value))],
            MergedProfiles = merged,
            LookupKeys = call.Row.LookupKeys,
        };
        var seq = await Commit(item, state, call.Stitch, evicted, call.Row.LookupKeys);
        return new PersonalizeReply { Seq = seq, ProfileId = _id };
    }

    /// <summary>Takes over the state of the profiles the stitching decision merges into this one.</summary>
    private async Task<List<Guid>> AbsorbSources(StitchReply stitch, CompiledAudience audience, ProfileState state)
    {
        var merged = new List<Guid>();
        foreach (var source in stitch.MergeSources)
        {
            if (source == _id) continue;
            var bytes = await GrainFactory.Profile(_accountId, _audience, source).Absorb(_id);
            merged.Add(source);
            if (bytes is null) continue;
            ProfileMerger.Merge(audience, state, [ProfileSnapshot.Read(bytes, audience.Layout)]);
        }
        return merged;
    }

    /// <summary>Makes the change durable, then adopts the new state and tells the identity and lookup indexes.</summary>
    private async Task<long> Commit(WriteItem item, ProfileState state, StitchReply stitch, IReadOnlyList<Identifier> evicted, byte[][] lookupKeys)
    {
        long seq;
        try
        {
            seq = await log.AppendAsync(item);
        }
        catch (EventLogUnavailableException)
        {
            // The store may be behind what was applied: reload from it on the next call.
            _snapshot = null;
            _loaded = false;
            DeactivateOnIdle();
            await GrainFactory.Identity(_accountId, _audience).Reset();
            throw;
        }
        _snapshot = item.Snapshot;
        lookups.OnCommitted(_accountId, _audience, state, stitch.Upserted, lookupKeys, item.MergedProfiles, imported: item.Body is null);
        if (evicted.Count > 0)
            await GrainFactory.Identity(_accountId, _audience)
                .Forget(_id, [.. evicted.Select(i => new IdentifierDto(i.Key, i.Value))]);
        return seq;
    }

    public async Task<PersonalizeReply> Evaluate(PersonalizeCall call)
    {
        await EnsureLoaded();
        if (_movedTo is { } moved) return new PersonalizeReply { MovedTo = moved };
        var service = Service(call.Service);
        var now = NowMs;
        var state = State(service.Audience) ?? service.Audience.NewProfile(_id, now);
        if (!EventParser.TryParse(call.Body, out var data, out _)) data = EventData.From();
        // Nothing is applied: the event matches its key events as the first call did, the profile is as it is.
        var matched = service.Audience.MatchKeyEvents($"{call.Database}.{call.Table}", data!, now);
        var offers = Offers(service, state, data!, matched, call.IsPublic, profileIsNew: false, now);
        return new PersonalizeReply { OffersJson = offers, ProfileId = _id };
    }

    public async Task<byte[]?> Absorb(Guid into)
    {
        await EnsureLoaded();
        var bytes = _snapshot;
        _snapshot = null;
        _movedTo = into;
        return bytes;
    }

    public async Task<EraseReply> Erase()
    {
        await EnsureLoaded();
        if (_movedTo is { } moved) return new EraseReply { MovedTo = moved };
        var state = Audience() is { } audience ? State(audience) : null;
        var identifiers = state?.Identifiers.Select(i => new IdentifierDto(i.Identifier.Key, i.Identifier.Value)).ToArray() ?? [];
        // Forget everything; the next activation starts from the store, where the profile will be gone.
        _snapshot = null;
        _loaded = false;
        DeactivateOnIdle();
        return new EraseReply { Identifiers = identifiers };
    }

    public async Task<byte[]?> Snapshot()
    {
        await EnsureLoaded();
        return _snapshot;
    }

    private byte[] Offers(CompiledService service, ProfileState state, EventData data, ApplyResult applied, bool isPublic, bool profileIsNew, long now)
    {
        var offers = PooledJson.Write((service, state, data, applied, isPublic, profileIsNew, now),
            static (writer, c) => c.service.WriteOffers(writer, c.state, c.data, c.applied, c.isPublic, c.profileIsNew, c.now), out var summary);
        if (summary.SectionsCut.Count > 0) LogSectionsCut(service.Name, _id, string.Join(", ", summary.SectionsCut));
        return offers;
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "Service {Service}: sections {Sections} for profile {Profile} were left out to keep the answer within 10 KiB")]
    private partial void LogSectionsCut(string service, Guid profile, string sections);
}
