using System.Collections.Concurrent;
using System.Diagnostics;
using Tailor.Core.Lookup;
using Tailor.Core.Profiles;
using Tailor.Server.Accounts;
using Tailor.Server.Grains;
using Tailor.Storage;

namespace Tailor.Server.Lookup;

/// <summary>One account's lookup index, with the configuration it was built for.</summary>
public sealed class AccountLookup
{
    public AccountLookup(CompiledLookup compiled, LookupIndex? built = null)
    {
        Compiled = compiled;
        Index = built ?? new LookupIndex();
        if (built is not null) MarkBuilt();
    }

    private readonly ConcurrentQueue<Action<LookupIndex.Writer>> _pending = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _applyLock = new();
    private volatile bool _built;

    public CompiledLookup Compiled { get; }
    public LookupIndex Index { get; }
    /// <summary>Completes when the index has been built from the store; lookups wait for it.</summary>
    public Task Ready => _ready.Task;

    /// <summary>Applies a committed change now, or after the build when it is still running (it may then be applied twice, which changes nothing).</summary>
    public void Apply(Action<LookupIndex.Writer> change) => Apply(static (writer, change) => change(writer), change);

    /// <summary>The same with the change's state passed in: once the index is built, no closure per change.</summary>
    public void Apply<TState>(Action<LookupIndex.Writer, TState> change, TState state)
    {
        if (!_built)
        {
            lock (_applyLock)
            {
                if (!_built)
                {
                    _pending.Enqueue(writer => change(writer, state));
                    return;
                }
            }
        }
        Index.Write(change, state);
    }

    internal void MarkBuilt()
    {
        lock (_applyLock)
        {
            while (_pending.TryDequeue(out var change)) Index.Write(change);
            _built = true;
        }
        _ready.TrySetResult();
    }

    internal void MarkFailed(Exception ex) => _ready.TrySetException(ex);
}

/// <summary>
/// The lookup indexes of all accounts: built from the store at startup and when a configuration
/// changes what lookups answer with, then kept in step by every commit that touches a profile of
/// the lookup audience (events through the profile grains, imports through the identity grain).
/// Profiles are found by the lookup keys imports store and by the <c>email</c> stitching key.
/// </summary>
public sealed partial class LookupIndexes
{
    public const string EmailKey = "email";
    private static readonly LookupKeyKind[] EmailKinds = [LookupKeyKind.EmailMd5, LookupKeyKind.EmailSha1, LookupKeyKind.EmailSha256];

    private readonly ConcurrentDictionary<long, AccountLookup> _byAccount = new();
    private readonly AccountDirectory _accounts;
    private readonly IProfileStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger<LookupIndexes> _logger;

    public LookupIndexes(AccountDirectory accounts, IProfileStore store, TimeProvider time, ILogger<LookupIndexes> logger)
    {
        (_accounts, _store, _time, _logger) = (accounts, store, time, logger);
        accounts.ConfigApplied += account => Refresh(account, wait: false);
    }

    public AccountLookup? For(long accountId) => _byAccount.GetValueOrDefault(accountId);

    /// <summary>Builds the index of every account that has a lookup section (at startup, before serving).</summary>
    /// <param name="scanned">Called once every account's store scans are done (what follows fills the indexes on one core).</param>
    public void BuildAll(Action? scanned = null)
    {
        var accounts = _accounts.AccountIds.ToList();
        for (var i = 0; i < accounts.Count; i++) Refresh(accounts[i], wait: true, i == accounts.Count - 1 ? scanned : null);
        if (accounts.Count == 0) scanned?.Invoke();
    }

    private void Refresh(long accountId, bool wait, Action? scanned = null)
    {
        var compiled = _accounts.Config(accountId)?.Compiled.Lookup;
        if (compiled is null)
        {
            _byAccount.TryRemove(accountId, out _);
            scanned?.Invoke();
            return;
        }
        if (_byAccount.TryGetValue(accountId, out var current) && current.Compiled.Signature == compiled.Signature)
        {
            // Same records: keep the index (once built), encode with the new configuration's audience.
            if (current.Ready.IsCompletedSuccessfully)
            {
                _byAccount[accountId] = new AccountLookup(compiled, current.Index);
                scanned?.Invoke();
                return;
            }
        }
        var lookup = new AccountLookup(compiled);
        _byAccount[accountId] = lookup;
        var build = Task.Run(() => Build(accountId, lookup, scanned));
        if (wait) build.GetAwaiter().GetResult();
    }

    private void Build(long accountId, AccountLookup lookup, Action? scanned)
    {
        try
        {
            var started = Stopwatch.GetTimestamp();
            var scope = new AudienceScope(accountId, lookup.Compiled.Audience.Name);
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            var layout = lookup.Compiled.Audience.Layout;
            // Three scans at once (stored keys; email identities, hashed; profiles, encoded), then one
            // pass into the index: the hashing and decoding overlap the reading.
            var stored = Task.Run(() => _store.ScanLookupKeys(scope).Select(k => (Key: LookupKeyHash.FromBytes(k.Key), k.ProfileId)).ToList());
            var emails = Task.Run(() =>
            {
                var keys = new List<(UInt128 Key, Guid ProfileId)>();
                foreach (var (email, profile) in _store.ScanIdentities(scope, EmailKey))
                    if (LookupIdentifiers.NormalizeEmail(email) is { } normalized)
                        foreach (var kind in EmailKinds) keys.Add((LookupKeyHash.EmailKey(normalized, kind), profile));
                return keys;
            });
            var records = Task.Run(() =>
            {
                // Decoding every snapshot is most of the build: the rows are read in turn (one reader) and
                // decoded on every core, since the two other scans end long before this one. Each worker
                // reads into one state again and again and keeps its own list.
                var list = new List<(Guid ProfileId, byte[] Record)>();
                Parallel.ForEach(_store.ScanProfiles(scope), () => (State: (ProfileState?)null, Records: new List<(Guid, byte[])>()),
                    (record, _, worker) =>
                    {
                        worker.State = ProfileSnapshot.Read(record.Snapshot, layout, worker.State);
                        worker.Records.Add((record.Id, lookup.Compiled.Encode(worker.State, now)));
                        return worker;
                    },
                    worker =>
                    {
                        lock (list) list.AddRange(worker.Records);
                    });
                return list;
            });
            try
            {
                Task.WaitAll(stored, emails, records);
            }
            finally
            {
                scanned?.Invoke();
            }
            var scannedMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            lookup.Index.Write(writer =>
            {
                writer.Reserve(records.Result.Count, stored.Result.Count + emails.Result.Count);
                foreach (var (key, profile) in stored.Result) writer.AddKey(key, profile);
                foreach (var (key, profile) in emails.Result) writer.AddKey(key, profile);
                // Profiles no key finds (anonymous visitors) are not lookup-visible: no record for them.
                foreach (var (profile, record) in records.Result)
                    if (writer.Contains(profile)) writer.SetRecord(profile, record);
            });
            LogPhases(accountId, scannedMs);
            lookup.MarkBuilt();
            var (profiles, keys, mib) = (lookup.Index.ProfileCount, lookup.Index.KeyCount, lookup.Index.Bytes / (1024 * 1024));
            var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            LogBuilt(accountId, profiles, keys, ms, mib);
        }
        catch (Exception ex)
        {
            LogBuildFailed(ex, accountId);
            lookup.MarkFailed(ex);
        }
    }

    /// <summary>
    /// A profile of the account changed and the change is durable. Called in the grain's turn (the
    /// state is not shared with anyone else meanwhile). Cheap when nothing lookup-visible changed.
    /// </summary>
    /// <param name="imported">The change came from an import (imported attributes may have changed).</param>
    public void OnCommitted(long accountId, string audience, ProfileState state, IReadOnlyList<IdentifierDto> newIdentifiers, byte[][] lookupKeys, IReadOnlyList<Guid> merged, bool imported)
    {
        if (!_byAccount.TryGetValue(accountId, out var lookup) || lookup.Compiled.Audience.Name != audience) return;
        var hasEmail = false;
        foreach (var identifier in newIdentifiers) hasEmail |= identifier.Key == EmailKey;
        if (!imported && !lookup.Compiled.HasRealtimeFields && !hasEmail && lookupKeys.Length == 0 && merged.Count == 0) return;
        lookup.Apply(static (writer, change) => change.ApplyTo(writer), Prepare(lookup, state, newIdentifiers, lookupKeys, merged));
    }

    /// <summary>Profiles an import created (committed): one index write for the whole chunk.</summary>
    public void OnImported(long accountId, string audience, IReadOnlyList<(ProfileState State, byte[][] Keys)> profiles)
    {
        if (!_byAccount.TryGetValue(accountId, out var lookup) || lookup.Compiled.Audience.Name != audience) return;
        var changes = profiles.Select(p => Prepare(lookup, p.State,
            [.. p.State.Identifiers.Where(i => i.Identifier.Key == EmailKey).Select(i => new IdentifierDto(EmailKey, i.Identifier.Value))], p.Keys, [])).ToList();
        lookup.Apply(writer =>
        {
            foreach (var change in changes) change.ApplyTo(writer);
        });
    }

    /// <summary>A profile was erased (a privacy deletion): lookups no longer find it.</summary>
    public void OnErased(long accountId, string audience, Guid profileId)
    {
        if (_byAccount.TryGetValue(accountId, out var lookup) && lookup.Compiled.Audience.Name == audience)
            lookup.Apply(writer => writer.Erase(profileId));
    }

    /// <summary>A profile's change to the index, worked out (hashes, record) before the index is locked.</summary>
    private sealed record Change(Guid Id, byte[] Record, IReadOnlyList<UInt128> Keys, IReadOnlyList<Guid> Merged)
    {
        public void ApplyTo(LookupIndex.Writer writer)
        {
            for (var i = 0; i < Merged.Count; i++) writer.Merge(Merged[i], Id);
            for (var i = 0; i < Keys.Count; i++) writer.AddKey(Keys[i], Id);
            if (writer.Contains(Id)) writer.SetRecord(Id, Record);
        }
    }

    private Change Prepare(AccountLookup lookup, ProfileState state, IReadOnlyList<IdentifierDto> newIdentifiers, byte[][] lookupKeys, IReadOnlyList<Guid> merged)
    {
        // Most changes (a known customer's event) add no key: no list for them.
        List<UInt128>? keys = null;
        foreach (var identifier in newIdentifiers)
            if (identifier.Key == EmailKey && LookupIdentifiers.NormalizeEmail(identifier.Value) is { } normalized)
                foreach (var kind in EmailKinds) (keys ??= new(lookupKeys.Length + 3)).Add(LookupKeyHash.EmailKey(normalized, kind));
        foreach (var key in lookupKeys) (keys ??= new(lookupKeys.Length)).Add(LookupKeyHash.FromBytes(key));
        return new Change(state.Id, lookup.Compiled.Encode(state, _time.GetUtcNow().ToUnixTimeMilliseconds()), keys is null ? [] : keys, merged);
    }

    [LoggerMessage(EventId = 1501, Level = LogLevel.Information, Message = "Lookup index of account {Account}: {Profiles} profiles, {Keys} keys, built in {Ms:F0} ms ({MiB} MiB)")]
    private partial void LogBuilt(long account, int profiles, int keys, double ms, long miB);

    [LoggerMessage(EventId = 1503, Level = LogLevel.Debug, Message = "Lookup index of account {Account}: the store scanned in {ScannedMs:F0} ms")]
    private partial void LogPhases(long account, double scannedMs);

    [LoggerMessage(EventId = 1502, Level = LogLevel.Error, Message = "Building the lookup index of account {Account} failed; its lookups answer 503 until the next configuration change or restart")]
    private partial void LogBuildFailed(Exception ex, long account);
}
