using System.Buffers;

namespace Tailor.Server.Apis;

/// <summary>
/// A request's body as read: its bytes, in an array rented from <see cref="ArrayPool{T}.Shared"/> when it
/// came with a Content-Length. Dispose it once nothing reads <see cref="Span"/> any more.
/// </summary>
internal readonly struct RequestBody(byte[] bytes, int length, bool rented = true) : IDisposable
{
    public RequestBody(byte[] bytes) : this(bytes, bytes.Length, rented: false) { }

    public ReadOnlySpan<byte> Span => bytes is null ? default : bytes.AsSpan(0, length);

    public void Dispose()
    {
        if (rented && bytes is { Length: > 0 }) ArrayPool<byte>.Shared.Return(bytes);
    }
}
