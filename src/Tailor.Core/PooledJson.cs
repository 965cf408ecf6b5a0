using System.Buffers;
using System.Text.Json;

namespace Tailor.Core;

/// <summary>
/// JSON written into a buffer and writer the thread keeps, so that a call allocates only the finished
/// bytes (a fresh growing buffer per call was the largest allocation of a personalization call).
/// The callback must not itself call <see cref="Write{TState, TResult}"/>, and must not await.
/// </summary>
public static class PooledJson
{
    private const int KeptCapacity = 256 * 1024;

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic] private static Utf8JsonWriter? t_writer;

    public static byte[] Write<TState, TResult>(TState state, Func<Utf8JsonWriter, TState, TResult> write, out TResult result) =>
        Write(state, write, static bytes => bytes.ToArray(), out result);

    /// <summary>The same, in an array rented from the shared pool (<see cref="RentedBytes"/>).</summary>
    public static ArraySegment<byte> WriteRented<TState, TResult>(TState state, Func<Utf8JsonWriter, TState, TResult> write, out TResult result) =>
        Write(state, write, RentedBytes.Copy, out result);

    private static TBytes Write<TState, TResult, TBytes>(TState state, Func<Utf8JsonWriter, TState, TResult> write, Func<ReadOnlySpan<byte>, TBytes> copy, out TResult result)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(4096);
        buffer.ResetWrittenCount();
        var writer = t_writer ??= new Utf8JsonWriter(buffer);
        writer.Reset(buffer);
        result = write(writer, state);
        writer.Flush();
        var bytes = copy(buffer.WrittenSpan);
        // A rare huge document is not kept for the thread's lifetime.
        if (buffer.Capacity > KeptCapacity) (t_buffer, t_writer) = (null, null);
        return bytes;
    }
}
