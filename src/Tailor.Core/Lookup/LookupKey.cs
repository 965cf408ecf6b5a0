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

    public static byte[] ToBytes(UInt128 key)
    {
        var bytes = new byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt128BigEndian(bytes, key);
        return bytes;
    }

    public static UInt128 FromBytes(ReadOnlySpan<byte> bytes) => System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(bytes);
}
