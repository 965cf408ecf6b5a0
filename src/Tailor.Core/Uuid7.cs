using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Tailor.Core;

/// <summary>
/// Version 7 UUIDs (RFC 9562: 48 bits of Unix milliseconds, then 74 random bits), as
/// <see cref="Guid.CreateVersion7(DateTimeOffset)"/> makes them, with the random bits taken from a
/// per-thread buffer filled from the system's secure generator 16 UUIDs at a time: the runtime's
/// <see cref="Guid.NewGuid"/> reads <c>/dev/urandom</c> once per UUID on Linux, a system call on every
/// personalization call that has no uuid of its own.
/// </summary>
public static class Uuid7
{
    private const int BufferedIds = 16;

    [ThreadStatic] private static byte[]? t_random;
    [ThreadStatic] private static int t_used;

    public static Guid Create(DateTimeOffset timestamp)
    {
        var random = t_random ??= new byte[16 * BufferedIds];
        if (t_used == 0) RandomNumberGenerator.Fill(random);
        Span<byte> bytes = stackalloc byte[16];
        random.AsSpan(t_used * 16, 16).CopyTo(bytes);
        t_used = (t_used + 1) % BufferedIds;
        var milliseconds = timestamp.ToUnixTimeMilliseconds();
        if (milliseconds < 0) throw new ArgumentOutOfRangeException(nameof(timestamp), "a version 7 UUID holds a time from 1970 on");
        BinaryPrimitives.WriteUInt16BigEndian(bytes, (ushort)(milliseconds >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(bytes[2..], (uint)milliseconds);
        bytes[6] = (byte)(0x70 | (bytes[6] & 0x0F));
        bytes[8] = (byte)(0x80 | (bytes[8] & 0x3F));
        return new Guid(bytes, bigEndian: true);
    }
}
