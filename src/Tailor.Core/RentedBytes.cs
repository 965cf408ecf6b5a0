using System.Buffers;

namespace Tailor.Core;

/// <summary>
/// Bytes a call needs only until its commit (the stored event, the profile's snapshot), copied into an
/// array rented from <see cref="ArrayPool{T}.Shared"/> instead of a new one on every call. Whoever
/// returns it must know that nothing reads the bytes any more; after a failure they are left to the GC.
/// </summary>
public static class RentedBytes
{
    public static ArraySegment<byte> Copy(ReadOnlySpan<byte> bytes)
    {
        var rented = ArrayPool<byte>.Shared.Rent(bytes.Length);
        bytes.CopyTo(rented);
        return new ArraySegment<byte>(rented, 0, bytes.Length);
    }

    public static void Return(ArraySegment<byte> bytes)
    {
        if (bytes.Array is { Length: > 0 } array) ArrayPool<byte>.Shared.Return(array);
    }
}
