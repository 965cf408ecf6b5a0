using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Threading.RateLimiting;
using Tailor.Core.Configuration;
using Tailor.Core.Evaluation;
using Tailor.Storage;

namespace Tailor.Server.Accounts;

/// <summary>An account's configuration in force, with the limiters built from it.</summary>
public sealed class AccountConfig(int version, CompiledConfig compiled) : IDisposable
{
    public int Version { get; } = version;
    public CompiledConfig Compiled { get; } = compiled;

    /// <summary>The account's ingest rate (429 code 2003 beyond it).</summary>
    public RateLimiter Ingest { get; } = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
    {
        TokenLimit = compiled.IngestPerSecond,
        TokensPerPeriod = Math.Max(1, compiled.IngestPerSecond / 10),
        ReplenishmentPeriod = TimeSpan.FromMilliseconds(100),
        QueueLimit = 0,
        AutoReplenishment = true,
    });

    /// <summary>Per service: in-flight calls (429 code 2013 beyond it).</summary>
    public FrozenDictionary<string, InFlightLimit> Concurrency { get; } = compiled.Services.Values.ToFrozenDictionary(
        s => s.Name, s => new InFlightLimit(s.ConcurrentLimit), StringComparer.Ordinal);

    public void Dispose() => Ingest.Dispose();
}

public sealed record KeyEntry(long Id, long AccountId, KeyKind Kind)
{
    /// <summary>Lookup entitlements (null: every lookup field, no quota, 10,000 records per bulk request).</summary>
    public LookupGrant? Grant { get; init; }
}

public sealed record TokenEntry(long InstanceId, long AccountId, string Service, string Name, byte[] Hash);

/// <summary>
/// The in-memory view of accounts that the request path reads without I/O: key and token hashes,
/// each account's compiled configuration and limiters. Changes go to the store first, then here.
/// </summary>
public sealed partial class AccountDirectory(IAccountStore store, Secrets secrets, ILogger<AccountDirectory> logger) : IDisposable
{
    private readonly ConcurrentDictionary<string, KeyEntry> _keys = new(StringComparer.Ordinal);
    private ConcurrentDictionary<string, KeyEntry>.AlternateLookup<ReadOnlySpan<char>> KeysByHex => _keys.GetAlternateLookup<ReadOnlySpan<char>>();
    private readonly ConcurrentDictionary<long, TokenEntry> _tokens = new();
    private readonly ConcurrentDictionary<long, AccountConfig> _configs = new();
    private readonly ConcurrentDictionary<long, AccountRecord> _accounts = new();
    private volatile FrozenSet<string> _publicOrigins = FrozenSet<string>.Empty;
    private readonly SemaphoreSlim _configLock = new(1, 1);

    public Secrets Secrets => secrets;

    private int _credentialsVersion;

    /// <summary>
    /// Changes whenever a key or token stops being what it was (revoked, its grant changed), after the
    /// change: a verification begun under an earlier version may not be reused (<see cref="Apis.VerifiedOnConnection"/>).
    /// Read it before verifying.
    /// </summary>
    public int CredentialsVersion => Volatile.Read(ref _credentialsVersion);

    private void CredentialsChanged() => Interlocked.Increment(ref _credentialsVersion);

    public async Task LoadAsync(CancellationToken cancellationToken = default)
    {
        foreach (var account in await store.ListAccountsAsync(cancellationToken)) _accounts[account.Id] = account;
        foreach (var key in await store.ListKeysAsync(null, cancellationToken))
            if (key.RevokedAt is null) _keys[Convert.ToHexString(key.Hash)] = new KeyEntry(key.Id, key.AccountId, key.Kind) { Grant = key.Grant };
        foreach (var token in await store.ListTokensAsync(null, cancellationToken))
            if (token.RevokedAt is null) _tokens[token.InstanceId] = new TokenEntry(token.InstanceId, token.AccountId, token.Service, token.Name, token.Hash);
        foreach (var account in _accounts.Keys)
        {
            if (await store.GetConfigAsync(account, null, cancellationToken) is not { } saved) continue;
            var result = ConfigLoader.Load(saved.Text, $"account {account} config v{saved.Version}");
            if (result.Succeeded) _configs[account] = new AccountConfig(saved.Version, result.Compiled!);
            else LogStoredConfigInvalid(saved.Version, account, string.Join("; ", result.Errors));
        }
        RebuildOrigins();
    }

    public AccountConfig? Config(long accountId) => _configs.GetValueOrDefault(accountId);

    public IEnumerable<long> AccountIds => _accounts.Keys;

    /// <summary>Raised after an account's new configuration is in force.</summary>
    public event Action<long>? ConfigApplied;

    /// <summary>Origins some public service allows (for CORS preflight, which carries no token).</summary>
    public FrozenSet<string> PublicOrigins => _publicOrigins;

    /// <summary>The key for an <c>{account_id}/{secret}</c> string, if it exists and is not revoked.</summary>
    public KeyEntry? FindKey(ReadOnlySpan<char> key)
    {
        Span<byte> hash = stackalloc byte[HMACSHA256.HashSizeInBytes];
        secrets.Hash(key, hash);
        Span<char> hex = stackalloc char[HMACSHA256.HashSizeInBytes * 2];
        Convert.TryToHexString(hash, hex, out _);
        return KeysByHex.TryGetValue(hex, out var entry) ? entry : null;
    }

    /// <summary>The token with this instance id and secret (constant-time hash comparison).</summary>
    public TokenEntry? FindToken(long accountId, long instanceId, ReadOnlySpan<char> secret)
    {
        if (!_tokens.TryGetValue(instanceId, out var token) || token.AccountId != accountId) return null;
        // The stored hash covers "{account_id}/{secret}".
        var scoped = secret.Length <= 64 ? stackalloc char[20 + 1 + 64] : new char[20 + 1 + secret.Length];
        accountId.TryFormat(scoped, out var digits, provider: System.Globalization.CultureInfo.InvariantCulture);
        scoped[digits] = '/';
        secret.CopyTo(scoped[(digits + 1)..]);
        Span<byte> hash = stackalloc byte[HMACSHA256.HashSizeInBytes];
        secrets.Hash(scoped[..(digits + 1 + secret.Length)], hash);
        return CryptographicOperations.FixedTimeEquals(token.Hash, hash) ? token : null;
    }

    public async Task<(AccountRecord Account, string MasterKey)> CreateAccountAsync(string name)
    {
        var account = await store.CreateAccountAsync(name);
        _accounts[account.Id] = account;
        var (_, key) = await CreateKeyAsync(account.Id, KeyKind.Master, "initial master key");
        return (account, key);
    }

    public Task<IReadOnlyList<AccountRecord>> ListAccountsAsync() => store.ListAccountsAsync();

    public async Task<(ApiKeyRecord Record, string Key)> CreateKeyAsync(long accountId, KeyKind kind, string label, LookupGrant? grant = null)
    {
        var key = Secrets.NewApiKey(accountId);
        var record = await store.AddKeyAsync(accountId, kind, label, secrets.Hash(key), grant);
        _keys[Convert.ToHexString(record.Hash)] = new KeyEntry(record.Id, accountId, kind) { Grant = grant };
        return (record, key);
    }

    public IEnumerable<KeyEntry> ActiveKeys(long accountId) => _keys.Values.Where(k => k.AccountId == accountId).OrderBy(k => k.Id);

    /// <summary>Replaces a key's lookup entitlements; false when the account has no such active key.</summary>
    public async Task<bool> SetKeyGrantAsync(long accountId, long keyId, LookupGrant? grant)
    {
        if (!await store.SetKeyGrantAsync(accountId, keyId, grant)) return false;
        foreach (var (hash, entry) in _keys)
            if (entry.Id == keyId) _keys[hash] = entry with { Grant = grant };
        CredentialsChanged();
        return true;
    }

    public async Task<IReadOnlyList<ApiKeyRecord>> ListKeysAsync(long accountId) => await store.ListKeysAsync(accountId);

    public async Task<bool> RevokeKeyAsync(long accountId, long keyId)
    {
        if (!await store.RevokeKeyAsync(accountId, keyId)) return false;
        foreach (var (hash, entry) in _keys)
            if (entry.Id == keyId) _keys.TryRemove(hash, out _);
        CredentialsChanged();
        return true;
    }

    /// <summary>
    /// Creates a token <c>{account_id}/{instance_id}/{secret}</c>. The instance id finds the token's
    /// row; the stored hash covers the account and the secret.
    /// </summary>
    public async Task<(TokenRecord Record, string Token)> CreateTokenAsync(long accountId, string service, string name)
    {
        var active = (await store.ListTokensAsync(accountId)).Count(t => t.Service == service && t.RevokedAt is null);
        if (active >= ConfigLimits.MaxTokensPerService)
            throw new InvalidOperationException($"service `{service}` already has {active} active tokens; at most {ConfigLimits.MaxTokensPerService} (revoke one first)");
        var secret = Secrets.NewTokenSecret();
        var hash = secrets.Hash($"{accountId}/{secret}");
        var record = await store.AddTokenAsync(accountId, service, name, hash);
        _tokens[record.InstanceId] = new TokenEntry(record.InstanceId, accountId, service, name, hash);
        return (record, $"{accountId}/{record.InstanceId}/{secret}");
    }

    public async Task<IReadOnlyList<TokenRecord>> ListTokensAsync(long accountId) => await store.ListTokensAsync(accountId);

    public async Task<bool> RevokeTokenAsync(long accountId, long instanceId)
    {
        if (!await store.RevokeTokenAsync(accountId, instanceId)) return false;
        _tokens.TryRemove(instanceId, out _);
        CredentialsChanged();
        return true;
    }

    /// <summary>Validates and, when valid, stores and swaps in a new configuration version.</summary>
    public async Task<(ConfigVersionRecord? Saved, IReadOnlyList<ConfigError> Errors)> ApplyConfigAsync(long accountId, string text, string fileName)
    {
        var result = ConfigLoader.Load(text, fileName);
        if (!result.Succeeded) return (null, result.Errors);
        await _configLock.WaitAsync();
        try
        {
            var saved = await store.SaveConfigAsync(accountId, text, fileName.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? "json" : "yaml");
            var previous = _configs.GetValueOrDefault(accountId);
            _configs[accountId] = new AccountConfig(saved.Version, result.Compiled!);
            // Calls in flight still hold leases of the previous limiters: dispose them once those are long done.
            if (previous is not null) _ = Task.Delay(TimeSpan.FromMinutes(1)).ContinueWith(_ => previous.Dispose(), TaskScheduler.Default);
            RebuildOrigins();
            LogConfigApplied(accountId, saved.Version);
            ConfigApplied?.Invoke(accountId);
            return (saved, []);
        }
        finally
        {
            _configLock.Release();
        }
    }

    public void Dispose()
    {
        _configLock.Dispose();
        foreach (var config in _configs.Values) config.Dispose();
    }

    [LoggerMessage(EventId = 1301, Level = LogLevel.Error, Message = "The stored configuration v{Version} of account {Account} no longer validates: {Errors}")]
    private partial void LogStoredConfigInvalid(int version, long account, string errors);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Information, Message = "Account {Account} now runs configuration v{Version}")]
    private partial void LogConfigApplied(long account, int version);

    private void RebuildOrigins() => _publicOrigins = _configs.Values
        .SelectMany(c => c.Compiled.Services.Values.Where(s => s.Public).SelectMany(s => s.AllowedOrigins))
        .ToFrozenSet(StringComparer.Ordinal);
}
