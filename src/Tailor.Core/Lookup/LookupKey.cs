namespace Tailor.Core.Lookup;

/// <summary>How a person can be found in the lookup index.</summary>
public enum LookupKeyKind : byte
{
    /// <summary>MD5 hex of the normalised email (a plain email is looked up by it).</summary>
    EmailMd5,
    EmailSha1,
    EmailSha256,
    /// <summary>first + last + street + city + state, normalised.</summary>
    NameAddress,
    /// <summary>first + last + 5-digit zip, normalised.</summary>
    NameZip,
}

/// <summary>One key of the lookup index: a kind and its canonical value (lower-case hex, or normalised text).</summary>
public readonly record struct LookupKey(LookupKeyKind Kind, string Value)
{
    public override string ToString() => $"{Kind}:{Value}";
}

public static class LookupKeyHash
{
    /// <summary>
    /// The 128-bit index key: the first 16 bytes of the hash (the email hashes as they are; name keys
    /// hashed with SHA-256), with the kind in the first byte so kinds never collide.
    /// </summary>
    public static UInt128 ToIndexKey(this LookupKey key)
    {
        Span<byte> bytes = stackalloc byte[32];
        if (key.Kind is LookupKeyKind.EmailMd5 or LookupKeyKind.EmailSha1 or LookupKeyKind.EmailSha256)
            Convert.FromHexString(key.Value.AsSpan(0, 32), bytes, out _, out _);
        else
            System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key.Value), bytes);
        bytes[0] = (byte)key.Kind;
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }

    [ThreadStatic] private static System.Security.Cryptography.IncrementalHash?[]? t_hashes;

    /// <summary>The index key of a normalised email (its MD5, as <see cref="LookupKeyKind.EmailMd5"/>).</summary>
    public static UInt128 EmailMd5Key(string normalizedEmail) => EmailKey(normalizedEmail, LookupKeyKind.EmailMd5);

    /// <summary>
    /// The index key of a normalised email's MD5, SHA-1 or SHA-256: the same as
    /// <see cref="LookupIdentifiers.EmailKeys"/> then <see cref="ToIndexKey"/>, without the hex in between.
    /// </summary>
    public static UInt128 EmailKey(string normalizedEmail, LookupKeyKind kind)
    {
        Span<byte> utf8 = stackalloc byte[1024];
        var length = System.Text.Encoding.UTF8.GetBytes(normalizedEmail.AsSpan(0, Math.Min(normalizedEmail.Length, 254)), utf8);
        var hashes = t_hashes ??= new System.Security.Cryptography.IncrementalHash?[3];
        // MD5 and SHA-1 are identifiers clients send (the API's contract), not security measures.
#pragma warning disable CA5351, CA5350
        var hash = hashes[(int)kind] ??= System.Security.Cryptography.IncrementalHash.CreateHash(kind switch
        {
            LookupKeyKind.EmailMd5 => System.Security.Cryptography.HashAlgorithmName.MD5,
            LookupKeyKind.EmailSha1 => System.Security.Cryptography.HashAlgorithmName.SHA1,
            LookupKeyKind.EmailSha256 => System.Security.Cryptography.HashAlgorithmName.SHA256,
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        });
#pragma warning restore CA5351, CA5350
        hash.AppendData(utf8[..length]);
        Span<byte> digest = stackalloc byte[32];
        hash.GetHashAndReset(digest);
        digest[0] = (byte)kind;
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(digest);
    }

    /// <summary>The index key of a hex hash of <paramref name="bytes"/> bytes (either case, trimmed), or null when it is not one.</summary>
    public static UInt128? HexKey(string? hex, int bytes, LookupKeyKind kind)
    {
        if (hex is null) return null;
        var text = hex.AsSpan().Trim();
        if (text.Length != bytes * 2) return null;
        foreach (var c in text)
            if (!char.IsAsciiHexDigit(c)) return null;
        Span<byte> key = stackalloc byte[16];
        Convert.FromHexString(text[..32], key, out _, out _);
        key[0] = (byte)kind;
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(key);
    }

    public static byte[] ToBytes(UInt128 key)
    {
        var bytes = new byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt128BigEndian(bytes, key);
        return bytes;
    }

    public static UInt128 FromBytes(ReadOnlySpan<byte> bytes) => System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(bytes);
}
