using System.Runtime.CompilerServices;
using Microsoft.Extensions.ObjectPool;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Tailor.Core;
using Tailor.Core.Evaluation;
using Tailor.Core.Events;
using Tailor.Core.Identity;
using Tailor.Core.Profiles;
using Tailor.Server.Accounts;
using Tailor.Server.Hosting;
using Tailor.Server.Ingest;
using Tailor.Server.Lookup;
using Tailor.Server.Threading;
using Tailor.Storage;

namespace Tailor.Server.Grains;

/// <inheritdoc cref="IProfilePartitionGrain"/>
[Reentrant]
public sealed partial class ProfilePartitionGrain(
    AccountDirectory accounts, GroupCommitLog log, IProfileStore store, LookupIndexes lookups, TimeProvider time,
    IOptions<TailorOptions> options, LocalGrains local, ILogger<ProfilePartitionGrain> logger)
    : Grain, IProfilePartitionGrain
{
    private long _accountId;
    private string _audience = "";
    private int _partition;

    /// <summary>
    /// A profile as found: its committed snapshot (a <see cref="ResidentSnapshots"/> block, 0 when it has
    /// none; read it before the profile's turn ends), or the profile it was merged into.
    /// </summary>
    private readonly record struct Held(nint Snapshot, Guid MovedTo);

    /// <summary>
    /// The profiles in memory, each as its state last committed, in its snapshot encoding (a few hundred
    /// bytes where the object form is a few kilobytes, and the bytes are written for the commit anyway; a
    /// call reads them into a <see cref="ProfileState"/> in a microsecond or two), and when it was last
    /// used, in seconds since the partition started. One that is absent is read from the store on its next call.
    /// </summary>
    private readonly ResidentSnapshots _profiles = new();
    /// <summary>Profiles merged into another (rare), kept apart so that every resident profile is smaller.</summary>
    private readonly Dictionary<Guid, (Guid Into, int TouchedS)> _moved = [];
    /// <summary>Profiles erased lately (when), which hinted calls must not bring back from a store that is still erasing them.</summary>
    private readonly Dictionary<Guid, int> _erased = [];
    private readonly KeyedTurns<Guid> _turns = new();
    /// <summary>States of finished calls, read into again by the next ones (see <see cref="ProfileState.Reset"/>); as many as calls overlap, at most <see cref="MaxSpareStates"/>.</summary>
    private readonly Stack<ProfileState> _spareStates = new();
    private const int MaxSpareStates = 64;
    private long _startedMs;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_accountId, _audience, _partition) = GrainKeys.ParsePartition(this.GetPrimaryKeyString());
        _startedMs = NowMs;
        var idle = options.Value.IdleProfileTimeout;
        var every = TimeSpan.FromSeconds(Math.Clamp(idle.TotalSeconds / 2, 1, 60));
        this.RegisterGrainTimer(ForgetIdle, new GrainTimerCreationOptions(every, every));
        _direct = local.Enlist(_accountId, _audience, _partition, this, DelayDeactivation);
        return Task.CompletedTask;
    }

    /// <summary>The inbox of the calls run here directly (<see cref="LocalGrains"/>, which hands it to them), closed on deactivation.</summary>
    private DirectCalls _direct = null!;

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) =>
        local.Leave(_accountId, _audience, _partition, this, _direct);

    private int NowS => (int)((NowMs - _startedMs) / 1000);

    /// <summary>Profiles idle for <see cref="TailorOptions.IdleProfileTimeout"/> leave memory (their state is in the store).</summary>
    private Task ForgetIdle(CancellationToken cancellationToken)
    {
        var before = NowS - (int)options.Value.IdleProfileTimeout.TotalSeconds;
        List<Guid>? idle = null;
        foreach (var (id, resident) in _profiles)
            if (resident.TouchedS < before && !_turns.IsBusy(id)) (idle ??= []).Add(id);
        foreach (var (id, moved) in _moved)
            if (moved.TouchedS < before && !_turns.IsBusy(id)) (idle ??= []).Add(id);
        if (idle is not null)
            foreach (var id in idle) Forget(id);
        foreach (var (id, erasedS) in _erased)
            if (erasedS < before) _erased.Remove(id);
        return Task.CompletedTask;
    }

    private AudienceScope Scope => new(_accountId, _audience);

    /// <summary>
    /// The profile, read from the store on first use unless ID stitching has just created it (then
    /// there is nothing to read: most first calls of a new visitor cost no store read at all).
    /// </summary>
    private async ValueTask<Held> Load(Guid id, bool createdByThisCall = false)
    {
        ref var resident = ref _profiles.Find(id);
        if (!Unsafe.IsNullRef(ref resident))
        {
            resident.TouchedS = NowS;
            return new Held(resident.Snapshot, Guid.Empty);
        }
        if (_moved.TryGetValue(id, out var moved)) return new Held(0, moved.Into);
        if (createdByThisCall) return Keep(id, default);
        if (await store.ReadSnapshotAsync(Scope, id, (this, id), KeepRead)) return new Held(_profiles.Find(id).Snapshot, Guid.Empty);
        if (await store.FindAliasAsync(Scope, id) is { } into) return MarkMoved(id, into);
        return Keep(id, default);
    }

    /// <summary>Keeps a snapshot read from the store (copied out of the store's memory, no array in between).</summary>
    private static readonly System.Buffers.ReadOnlySpanAction<byte, (ProfilePartitionGrain Grain, Guid Id)> KeepRead =
        static (snapshot, read) => read.Grain.Keep(read.Id, snapshot);

    /// <summary>Keeps the profile's committed snapshot (empty: it has no state) as resident.</summary>
    private Held Keep(Guid id, ReadOnlySpan<byte> snapshot) => new(_profiles.Set(id, snapshot, NowS), Guid.Empty);

    private Held MarkMoved(Guid id, Guid into)
    {
        _profiles.Remove(id);
        _moved[id] = (into, NowS);
        return new Held(0, into);
    }

    private void Forget(Guid id)
    {
        _profiles.Remove(id);
        _moved.Remove(id);
    }

    /// <summary>The call's service in the configuration in force now (a new version may have removed it since the token was checked).</summary>
    private CompiledService Service(string name) =>
        accounts.Config(_accountId)?.Compiled.Services.GetValueOrDefault(name) ?? throw new ServiceNotConfiguredException(name);

    private CompiledAudience? Audience() =>
        accounts.Config(_accountId)?.Compiled.Audiences.GetValueOrDefault(_audience);

    private long NowMs => time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>The committed profile as objects (laid out for the configuration in force), or null when there is none.</summary>
    private static ProfileState? State(Held held, CompiledAudience audience) =>
        held.Snapshot == 0 ? null : ProfileSnapshot.Read(ResidentSnapshots.Bytes(held.Snapshot), audience.Layout);

    /// <summary>
    /// The profile as objects for a call, new or committed, read into a finished call's state; the
    /// call's identifier values are the strings of the profile's values equal to them (no copy made).
    /// </summary>
    private ProfileState CallState(Guid id, Held held, CompiledAudience audience, IdentifierDto[] identifiers)
    {
        _spareStates.TryPop(out var spare);
        if (held.Snapshot == 0) return audience.NewProfile(id, IdentityStitcher.CreatedMs(id), spare);
        var values = new IdentifierValues();
        var count = Math.Min(identifiers.Length, IdentifierValues.Length);
        for (var i = 0; i < count; i++) values[i] = identifiers[i].Value;
        return ProfileSnapshot.Read(ResidentSnapshots.Bytes(held.Snapshot), audience.Layout, spare, ((ReadOnlySpan<string>)values)[..count]);
    }

    /// <summary>A call's first identifier values, on the stack (a call carries one to three).</summary>
    [InlineArray(Length)]
    private struct IdentifierValues
    {
        public const int Length = 4;
        private string _first;
    }

    /// <summary>A call's state once nothing refers to it any more (its call has committed and answered).</summary>
    private void Release(ProfileState state)
    {
        if (_spareStates.Count < MaxSpareStates) _spareStates.Push(state);
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    public async ValueTask<PersonalizeReply> Personalize(Guid id, PersonalizeCall call, StitchReply stitch)
    {
        await _turns.Enter(id);
        try
        {
            if (stitch.Hinted && _erased.ContainsKey(id)) return HintRejected;
            var held = await Load(id, stitch.IsNew && stitch.ProfileId == id);
            if (held.MovedTo != Guid.Empty) return new PersonalizeReply { MovedTo = held.MovedTo };
            var service = Service(call.Service);
            var audience = service.Audience;
            var now = NowMs;
            // The state is built for this call; the partition keeps it (as bytes) only once it is committed.
            var state = CallState(id, held, audience, call.Identifiers);
            if (stitch.Hinted && (held.Snapshot == 0 || !HoldsAll(state, call.Identifiers)))
            {
                if (held.Snapshot == 0) Forget(id);
                return HintRejected;
            }

            var merged = await AbsorbSources(id, stitch, audience, state);
            var evicted = state.AddIdentifiers(call.Identifiers, IdentifierDto.Convert, now);
            var data = call.Event;
            if (data is null && !EventParser.TryParse(call.Body.Span, out data, out var error))
                throw new InvalidOperationException($"the server passed an unparsable event to a profile: {error}");
            var applied = audience.ApplyEvent(state, call.EventTable, data!, now);
            var offers = Offers(service, id, state, data!, applied, call.IsPublic, stitch.IsNew, now);

            var snapshot = ProfileSnapshot.WriteRented(state);
            var item = CallItems.Get();
            item.Scope = Scope;
            item.Database = call.Database;
            item.Table = call.Table;
            item.Uuid = call.Uuid;
            item.MadeUuid = call.MadeUuid;
            item.Time = call.Time;
            item.Body = call.Body;
            item.ProfileId = id;
            item.Snapshot = snapshot;
            item.IdentitiesUpserted = IdentityRecords(stitch.Upserted, id);
            item.IdentitiesDeleted = KeysAndValues(evicted);
            item.MergedProfiles = merged;
            // The append is awaited here, not in a method of its own: each await that resumes on the grain's
            // scheduler queues one task there, and each async method in flight is one more state machine.
            var seq = await log.AppendAsync(item);
            Committed(item, state, stitch.Upserted, []);
            if (evicted.Count > 0) await ForgetEvicted(id, evicted);
            // Committed and resident: nothing reads the call's objects and bytes any more (after a failure they are left to the GC).
            CallItems.Return(item);
            RentedBytes.Return(snapshot);
            Release(state);
            return new PersonalizeReply { OffersJson = offers, Seq = seq, ProfileId = id };
        }
        catch (EventLogUnavailableException)
        {
            await Abandon(id);
            throw;
        }
        finally
        {
            _turns.Exit(id);
        }
    }

    public async Task<PersonalizeReply> Import(Guid id, ImportCall call)
    {
        await _turns.Enter(id);
        try
        {
            var held = await Load(id);
            if (held.MovedTo != Guid.Empty) return new PersonalizeReply { MovedTo = held.MovedTo };
            if (Audience() is not { } audience) throw new InvalidOperationException($"audience `{_audience}` is not in the configuration");
            var now = NowMs;
            var state = CallState(id, held, audience, call.Row.Identifiers);
            var merged = await AbsorbSources(id, call.Stitch, audience, state);
            var evicted = state.AddIdentifiers(call.Row.Identifiers, IdentifierDto.Convert, now);
            audience.ApplyImport(state, call.Row.Values.Select(v => (v.Attribute, v.ToValue())), call.Row.BatchSegments, now);
            var item = new WriteItem
            {
                Scope = Scope,
                Body = null,
                ProfileId = id,
                Snapshot = ProfileSnapshot.Write(state),
                IdentitiesUpserted = IdentityRecords(call.Stitch.Upserted, id),
                IdentitiesDeleted = KeysAndValues(evicted),
                MergedProfiles = merged,
                LookupKeys = call.Row.LookupKeys,
            };
            var seq = await log.AppendAsync(item);
            Committed(item, state, call.Stitch.Upserted, call.Row.LookupKeys);
            if (evicted.Count > 0) await ForgetEvicted(id, evicted);
            return new PersonalizeReply { Seq = seq, ProfileId = id };
        }
        catch (EventLogUnavailableException)
        {
            await Abandon(id);
            throw;
        }
        finally
        {
            _turns.Exit(id);
        }
    }

    private static readonly PersonalizeReply HintRejected = new() { HintRejected = true };

    /// <summary>
    /// The personalization calls' write items, reused once their call has committed (the log reads
    /// nothing of an item after its append completes): one object of ~200 bytes fewer per call.
    /// </summary>
    private static readonly ObjectPool<WriteItem> CallItems = new DefaultObjectPool<WriteItem>(new WriteItemPolicy(), 4096);

    private sealed class WriteItemPolicy : PooledObjectPolicy<WriteItem>
    {
        public override WriteItem Create() => new() { Scope = default, Body = null, ProfileId = Guid.Empty, Snapshot = default };

        /// <summary>Emptied as a new one is: what the next call does not set is not the last one's.</summary>
        public override bool Return(WriteItem item)
        {
            (item.Scope, item.Database, item.Table, item.Uuid, item.MadeUuid, item.Time) = (default, "", "", "", Guid.Empty, 0);
            (item.Body, item.ProfileId, item.Snapshot) = (null, Guid.Empty, default);
            (item.IdentitiesUpserted, item.IdentitiesDeleted, item.MergedProfiles, item.LookupKeys) = ([], [], [], []);
            return true;
        }
    }

    // The conversions below run on every call: loops, not LINQ (no closure, iterator or list per call).

    /// <summary>The identifiers the stitching gave the profile, as the rows to store.</summary>
    private static IdentityRecord[] IdentityRecords(IdentifierDto[] upserted, Guid id)
    {
        if (upserted.Length == 0) return [];
        var records = new IdentityRecord[upserted.Length];
        for (var i = 0; i < records.Length; i++) records[i] = new IdentityRecord(upserted[i].Key, upserted[i].Value, id);
        return records;
    }

    /// <summary>The evicted identifiers, as the rows to delete.</summary>
    private static (string Key, string Value)[] KeysAndValues(IReadOnlyList<Identifier> evicted)
    {
        if (evicted.Count == 0) return [];
        var pairs = new (string Key, string Value)[evicted.Count];
        for (var i = 0; i < pairs.Length; i++) pairs[i] = (evicted[i].Key, evicted[i].Value);
        return pairs;
    }

    /// <summary>
    /// Whether the profile holds every identifier of a hinted call: then the identity index maps them
    /// all to it (the profile adds, evicts and hands over its identifiers in its own turns), and the
    /// identity grain would have decided the same.
    /// </summary>
    private static bool HoldsAll(ProfileState state, IdentifierDto[] identifiers)
    {
        foreach (var identifier in identifiers)
            if (!state.HasIdentifier(identifier.ToIdentifier())) return false;
        return true;
    }

    private static readonly Task<IReadOnlyList<Guid>> NoMerges = Task.FromResult<IReadOnlyList<Guid>>([]);

    /// <summary>Takes over the state of the profiles the stitching decision merges into this one (on almost every call, none).</summary>
    private Task<IReadOnlyList<Guid>> AbsorbSources(Guid id, StitchReply stitch, CompiledAudience audience, ProfileState state) =>
        stitch.MergeSources.Length == 0 ? NoMerges : AbsorbSourcesAsync(id, stitch, audience, state);

    private async Task<IReadOnlyList<Guid>> AbsorbSourcesAsync(Guid id, StitchReply stitch, CompiledAudience audience, ProfileState state)
    {
        var merged = new List<Guid>();
        foreach (var source in stitch.MergeSources)
        {
            if (source == id) continue;
            var bytes = await GrainFactory.Profile(_accountId, _audience, source).Absorb(id);
            merged.Add(source);
            if (bytes is null) continue;
            ProfileMerger.Merge(audience, state, [ProfileSnapshot.Read(bytes, audience.Layout)]);
        }
        return merged;
    }

    /// <summary>A change the log could not commit (only its append throws this): the store may be behind what was applied, so the profile is read from it on its next call.</summary>
    private async Task Abandon(Guid id)
    {
        Forget(id);
        await GrainFactory.Identity(_accountId, _audience).Reset();
    }

    /// <summary>A committed change: the partition adopts the new state, the lookup index learns it.</summary>
    private void Committed(WriteItem item, ProfileState state, IdentifierDto[] upserted, byte[][] lookupKeys)
    {
        Keep(item.ProfileId, item.Snapshot.Span);
        lookups.OnCommitted(_accountId, _audience, state, upserted, lookupKeys, item.MergedProfiles, imported: item.Body is null);
    }

    /// <summary>The identifiers a committed change evicted (a key's limit reached) leave the identity index.</summary>
    private Task ForgetEvicted(Guid id, IReadOnlyList<Identifier> evicted) =>
        GrainFactory.Identity(_accountId, _audience).Forget(id, IdentifierDto.From(evicted));

    public async Task<PersonalizeReply> Evaluate(Guid id, PersonalizeCall call)
    {
        await _turns.Enter(id);
        try
        {
            var held = await Load(id);
            if (held.MovedTo != Guid.Empty) return new PersonalizeReply { MovedTo = held.MovedTo };
            var service = Service(call.Service);
            var now = NowMs;
            var state = State(held, service.Audience) ?? service.Audience.NewProfile(id, now);
            if (!EventParser.TryParse(call.Body.Span, out var data, out _)) data = EventData.From();
            // Nothing is applied: the event matches its key events as the first call did, the profile is as it is.
            var matched = service.Audience.MatchKeyEvents(call.EventTable, data!, now);
            var offers = Offers(service, id, state, data!, matched, call.IsPublic, profileIsNew: false, now);
            return new PersonalizeReply { OffersJson = offers, ProfileId = id };
        }
        finally
        {
            _turns.Exit(id);
        }
    }

    public async Task<byte[]?> Absorb(Guid id, Guid into)
    {
        await _turns.Enter(id);
        try
        {
            var held = await Load(id);
            var snapshot = ResidentSnapshots.ToArray(held.Snapshot);
            MarkMoved(id, into);
            return snapshot;
        }
        finally
        {
            _turns.Exit(id);
        }
    }

    public async Task<EraseReply> Erase(Guid id)
    {
        await _turns.Enter(id);
        try
        {
            var held = await Load(id);
            if (held.MovedTo != Guid.Empty) return new EraseReply { MovedTo = held.MovedTo };
            var state = Audience() is { } audience ? State(held, audience) : null;
            var identifiers = state?.Identifiers.Select(i => new IdentifierDto(i.Identifier.Key, i.Identifier.Value)).ToArray() ?? [];
            // Forget everything; the next call reads the store, where the profile will be gone.
            Forget(id);
            _erased[id] = NowS;
            return new EraseReply { Identifiers = identifiers };
        }
        finally
        {
            _turns.Exit(id);
        }
    }

    public async Task<byte[]?> Snapshot(Guid id)
    {
        await _turns.Enter(id);
        try
        {
            return ResidentSnapshots.ToArray((await Load(id)).Snapshot);
        }
        finally
        {
            _turns.Exit(id);
        }
    }

    private byte[] Offers(CompiledService service, Guid id, ProfileState state, EventData data, ApplyResult applied, bool isPublic, bool profileIsNew, long now)
    {
        var offers = PooledJson.Write((service, state, data, applied, isPublic, profileIsNew, now),
            static (writer, c) => c.service.WriteOffers(writer, c.state, c.data, c.applied, c.isPublic, c.profileIsNew, c.now), out var summary);
        if (summary.SectionsCut.Count > 0) LogSectionsCut(service.Name, id, string.Join(", ", summary.SectionsCut));
        return offers;
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "Service {Service}: sections {Sections} for profile {Profile} were left out to keep the answer within 10 KiB")]
    private partial void LogSectionsCut(string service, Guid profile, string sections);
}
