using System.Collections.Concurrent;
using Tailor.Core.Identity;
using Tailor.Core.Profiles;
using Tailor.Server.Accounts;
using Tailor.Server.Ingest;
using Tailor.Server.Lookup;
using Tailor.Storage;

namespace Tailor.Server.Grains;

/// <inheritdoc cref="IIdentityGrain"/>
public sealed class IdentityGrain(
    IProfileStore store, AccountDirectory accounts, GroupCommitLog log, LookupIndexes lookups, TimeProvider time, LocalGrains local)
    : Grain, IIdentityGrain, IIncomingGrainCallFilter
{
    private IdentityIndex? _index;

    /// <summary>Calls through Orleans in progress (a turn, or one waiting inside it): a direct call must not run in the middle of one.</summary>
    private int _orleansCalls;
    /// <summary>The inbox of the calls run here directly (<see cref="LocalGrains"/>, which hands it to them), closed on deactivation.</summary>
    private DirectCalls _direct = null!;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var scope = Scope;
        _direct = local.Enlist(scope.AccountId, scope.Audience, -1, this, DelayDeactivation);
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        var scope = Scope;
        return local.Leave(scope.AccountId, scope.Audience, -1, this, _direct);
    }

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        _orleansCalls++;
        try
        {
            await context.Invoke();
        }
        finally
        {
            _orleansCalls--;
        }
    }

    /// <summary>
    /// A direct call's stitching (<see cref="LocalGrains"/>), run whole in one turn on this grain's
    /// scheduler: the same decision as <see cref="Resolve"/> when it needs no waiting. Null (the call then
    /// goes through Orleans) while a call through Orleans is in progress, since this grain's calls do not
    /// interleave (an erasure holds the audience's stitching across its awaits); before the index is
    /// loaded; while imports are in flight; once the grain is being deactivated.
    /// </summary>
    internal StitchReply? TryResolveHere(DirectCalls inbox, IdentifierDto[] identifiers, UInt128[] hashes)
    {
        if (_orleansCalls > 0 || _index is null || _importCommits.Count > 0 || !inbox.TryEnter()) return null;
        try
        {
            if (hashes.Length != identifiers.Length) throw new ArgumentException("one hash per identifier", nameof(hashes));
            return ResolveCore(identifiers, hashes);
        }
        finally
        {
            inbox.Exit();
        }
    }

    private AudienceScope Scope
    {
        get
        {
            var key = this.GetPrimaryKeyString();
            var slash = key.IndexOf('/', StringComparison.Ordinal);
            return new AudienceScope(long.Parse(key[..slash], System.Globalization.CultureInfo.InvariantCulture), key[(slash + 1)..]);
        }
    }

    private async Task EnsureLoaded()
    {
        if (_index is not null) return;
        var scope = Scope;
        var count = await store.CountIdentitiesAsync(scope);
        var index = new IdentityIndex(count);
        foreach (var record in store.ScanIdentities(scope))
            index.Assign(new Identifier(record.Key, record.Value), record.ProfileId);
        _index = index;
    }

    public async ValueTask<StitchReply> Resolve(IdentifierDto[] identifiers, UInt128[] hashes)
    {
        await EnsureLoaded();
        await ThrowIfImportFailed();
        if (hashes.Length != identifiers.Length) throw new ArgumentException("one hash per identifier", nameof(hashes));
        var reply = ResolveCore(identifiers, hashes);
        // A profile an import has just created is only handed out once it is in the store.
        await UntilCommitted(reply);
        return reply;
    }

    /// <summary>Made once per activation, not per call (it captures the time provider).</summary>
    private Func<Guid>? _newProfileId;

    /// <summary>ResolveCore's list of the identifiers it maps anew, reused: it runs whole within one turn.</summary>
    private readonly List<IdentifierDto> _upserted = [];

    private StitchReply ResolveCore(IdentifierDto[] identifiers, UInt128[] hashes)
    {
        var index = _index!;
        Span<Guid?> owners = identifiers.Length <= 8 ? stackalloc Guid?[identifiers.Length] : new Guid?[identifiers.Length];
        for (var i = 0; i < identifiers.Length; i++) owners[i] = index.TryGetProfile(hashes[i], out var owner) ? owner : null;
        var decision = IdentityStitcher.Decide(owners, _newProfileId ??= () => IdentityStitcher.NewProfileId(time));
        var target = decision.Profile;
        var upserted = _upserted;
        upserted.Clear();
        var sources = decision.MergeSources is { } merged ? merged.ToArray() : [];
        foreach (var source in sources)
            foreach (var identifier in index.TakeMembers(source))
            {
                index.Assign(identifier, target);
                upserted.Add(new IdentifierDto(identifier.Key, identifier.Value));
            }
        for (var i = 0; i < identifiers.Length; i++)
        {
            if (index.TryGetProfile(hashes[i], out var current) && current == target) continue;
            index.Assign(identifiers[i].ToIdentifier(), hashes[i], target);
            upserted.Add(identifiers[i]);
        }
        return new StitchReply { ProfileId = target, IsNew = decision.IsNew, MergeSources = sources, Upserted = upserted.Count == 0 ? [] : [.. upserted] };
    }

    public async Task<ImportOutcome[]> Import(ImportRowDto[] rows)
    {
        await EnsureLoaded();
        var scope = Scope;
        var audience = accounts.Config(scope.AccountId)?.Compiled.Audiences.GetValueOrDefault(scope.Audience)
            ?? throw new InvalidOperationException($"audience `{scope.Audience}` is not in the configuration");
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var outcomes = new ImportOutcome[rows.Length];
        var created = new Dictionary<Guid, (ProfileState State, List<byte[]> Keys)>();
        for (var r = 0; r < rows.Length; r++)
        {
            var row = rows[r];
            Guid target;
            StitchReply? forward = null;
            if (row.Identifiers.Length > 0)
            {
                var reply = ResolveCore(row.Identifiers, IdentifierDto.Hashes(row.Identifiers));
                await UntilCommitted(reply);
                target = reply.ProfileId;
                if (!reply.IsNew && !created.ContainsKey(target) || reply.MergeSources.Length > 0) forward = reply;
            }
            else
            {
                target = row.KnownProfile ?? IdentityStitcher.NewProfileId(time);
                if (_uncommitted.TryGetValue(target, out var pending)) await pending;
                if (row.KnownProfile is not null && !created.ContainsKey(target)) forward = new StitchReply { ProfileId = target };
            }
            if (forward is not null)
            {
                outcomes[r] = new ImportOutcome { ProfileId = target, Forward = forward };
                continue;
            }
            if (!created.TryGetValue(target, out var entry))
                created[target] = entry = (audience.NewProfile(target, now), []);
            entry.State.AddIdentifiers(row.Identifiers, IdentifierDto.Convert, now);
            audience.ApplyImport(entry.State, row.Values.Select(v => (v.Attribute, v.ToValue())), row.BatchSegments, now);
            entry.Keys.AddRange(row.LookupKeys);
            outcomes[r] = new ImportOutcome { ProfileId = target, Created = true };
        }
        if (created.Count == 0) return outcomes;

        var commits = new List<Task<long>>(created.Count);
        foreach (var (id, (state, keys)) in created)
            commits.Add(log.AppendAsync(new WriteItem
            {
                Scope = scope,
                Body = null,
                ProfileId = id,
                Snapshot = ProfileSnapshot.Write(state),
                IdentitiesUpserted = [.. state.Identifiers.Select(i => new IdentityRecord(i.Identifier.Key, i.Identifier.Value, id))],
                LookupKeys = keys,
            }).AsTask());
        // The call returns before the commit, so that the next chunk is stitched while this one is
        // written; until it is durable, these profiles are held back from anyone who finds them.
        // The lookup index learns of them first, then they are released (so no later event's update can be overtaken).
        var profiles = created.Values.ToList();
        var done = Task.WhenAll(commits).ContinueWith(t =>
        {
            try
            {
                t.GetAwaiter().GetResult();
                lookups.OnImported(scope.AccountId, scope.Audience, [.. profiles.Select(p => (p.State, p.Keys.ToArray()))]);
            }
            finally
            {
                foreach (var (state, _) in profiles) _uncommitted.TryRemove(state.Id, out _);
            }
        }, TaskScheduler.Default);
        foreach (var id in created.Keys) _uncommitted[id] = done;
        _importCommits.Add(done);
        return outcomes;
    }

    public async Task ImportCommitted()
    {
        await ThrowIfImportFailed();
        var pending = _importCommits.ToArray();
        try
        {
            await Task.WhenAll(pending);
        }
        catch
        {
            await ThrowIfImportFailed();
            throw;
        }
        _importCommits.RemoveAll(t => t.IsCompletedSuccessfully);
    }

    /// <summary>Profiles created by imports whose commit is still in flight.</summary>
    private readonly ConcurrentDictionary<Guid, Task> _uncommitted = new();
    private readonly List<Task> _importCommits = [];

    /// <summary>No import in flight (the usual case on the event path): nothing to wait for, no state machine.</summary>
    private Task UntilCommitted(StitchReply reply) => _importCommits.Count == 0 ? Task.CompletedTask : UntilCommittedSlow(reply);

    private async Task UntilCommittedSlow(StitchReply reply)
    {
        if (_uncommitted.TryGetValue(reply.ProfileId, out var pending)) await pending;
        foreach (var source in reply.MergeSources)
            if (_uncommitted.TryGetValue(source, out var sourcePending)) await sourcePending;
    }

    /// <summary>
    /// An import commit failed: identifiers of profiles that are not in the store are in memory.
    /// Forget the whole index (it reloads from the store) and fail the call.
    /// </summary>
    private Task ThrowIfImportFailed()
    {
        if (_importCommits.Count == 0) return Task.CompletedTask;
        _importCommits.RemoveAll(t => t.IsCompletedSuccessfully);
        var failed = _importCommits.FirstOrDefault(t => t.IsFaulted || t.IsCanceled);
        if (failed is null) return Task.CompletedTask;
        _importCommits.Clear();
        _uncommitted.Clear();
        _index = null;
        return failed;
    }

    public async Task<EraseSummary?> Erase(IdentifierDto identifier)
    {
        await EnsureLoaded();
        await ThrowIfImportFailed();
        if (!_index!.TryGetProfile(identifier.ToIdentifier(), out var profileId)) return null;
        var reply = new StitchReply { ProfileId = profileId };
        await UntilCommitted(reply);
        // Held in this grain's turn: no event of the audience is stitched meanwhile.
        var erased = await GrainFactory.Profile(Scope.AccountId, Scope.Audience, profileId).Erase();
        var identifiers = _index.TakeMembers(profileId);
        foreach (var id in identifiers) _index.Remove(id);
        foreach (var dto in erased.Identifiers) _index.Remove(new Identifier(dto.Key, dto.Value));
        // The stored rows go after this turn (finding the events reads the whole log, and the audience's
        // new visitors would wait meanwhile): the caller erases them. Until then, an index loaded again
        // leaves the profile's stored identifiers out.
        store.BeginErasure(Scope, profileId);
        return new EraseSummary { ProfileId = profileId, Identifiers = Math.Max(identifiers.Count, erased.Identifiers.Length) };
    }

    public async Task<Guid?> Find(IdentifierDto identifier)
    {
        await EnsureLoaded();
        return _index!.TryGetProfile(identifier.ToIdentifier(), out var profile) ? profile : null;
    }

    public async Task Forget(Guid profileId, IdentifierDto[] identifiers)
    {
        await EnsureLoaded();
        foreach (var dto in identifiers) _index!.Unassign(new Identifier(dto.Key, dto.Value), profileId);
    }

    public Task Warm() => EnsureLoaded();

    public Task Reset()
    {
        _index = null;
        return Task.CompletedTask;
    }
}
