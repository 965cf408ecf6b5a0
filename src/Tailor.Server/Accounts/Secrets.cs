using System.Security.Cryptography;
using System.Text;

namespace Tailor.Server.Accounts;

/// <summary>
/// Key and token secrets: generated here, shown once, stored only as HMAC-SHA256 under the server's
/// secret (a file in the data directory, mode 600). Lookups compare hashes, never secrets.
/// </summary>
public sealed class Secrets : IDisposable
{
    private readonly byte[] _serverSecret;
    /// <summary>
    /// An HMAC keyed once per thread: every personalization call hashes its API key and its token, and
    /// OpenSSL's one-shot HMAC sets up the digest and key on each call (about 2 µs alone, more under
    /// load; 3% of the server's CPU in a profile). A keyed instance only resets its state.
    /// </summary>
    private readonly ThreadLocal<IncrementalHash> _hmac;

    public Secrets(string dataDirectory)
    {
        var path = Path.Combine(dataDirectory, "server.secret");
        if (!File.Exists(path))
        {
            var fresh = RandomNumberGenerator.GetBytes(32);
            using (var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, FileOptions.WriteThrough))
                stream.Write(fresh);
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        _serverSecret = File.ReadAllBytes(path);
        if (_serverSecret.Length != 32) throw new InvalidOperationException($"{path} is not a 32-byte server secret");
        _hmac = new ThreadLocal<IncrementalHash>(() => IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _serverSecret), trackAllValues: true);
        AdminKey = LoadOrCreateAdminKey(Path.Combine(dataDirectory, "admin.key"));
    }

    /// <summary>The server administrator's key (creates accounts); kept in admin.key, mode 600.</summary>
    public string AdminKey { get; }

    public byte[] Hash(string secret)
    {
        var hash = new byte[HMACSHA256.HashSizeInBytes];
        Hash(secret, hash);
        return hash;
    }

    /// <summary>The same hash into <paramref name="hash"/> (32 bytes), without allocating for secrets of usual length.</summary>
    public void Hash(ReadOnlySpan<char> secret, Span<byte> hash)
    {
        const int StackBytes = 512;
        var length = Encoding.UTF8.GetByteCount(secret);
        var utf8 = length <= StackBytes ? stackalloc byte[StackBytes] : new byte[length];
        Encoding.UTF8.GetBytes(secret, utf8);
        var hmac = _hmac.Value!;
        hmac.AppendData(utf8[..length]);
        hmac.GetHashAndReset(hash);
    }

    public void Dispose()
    {
        foreach (var hmac in _hmac.Values) hmac.Dispose();
        _hmac.Dispose();
    }

    /// <summary><c>{account_id}/{40 hex}</c>.</summary>
    public static string NewApiKey(long accountId) => $"{accountId}/{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20))}";

    /// <summary>The 32-hex secret part of a token <c>{account_id}/{instance_id}/{32 hex}</c>.</summary>
    public static string NewTokenSecret() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public bool IsAdminKey(string candidate) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(candidate), Encoding.UTF8.GetBytes(AdminKey));

    private static string LoadOrCreateAdminKey(string path)
    {
        if (!File.Exists(path))
        {
            File.WriteAllText(path, "admin/" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20)));
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        return File.ReadAllText(path).Trim();
    }
}
