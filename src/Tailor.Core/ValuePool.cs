using System.Text;

namespace Tailor.Core;

/// <summary>
/// Text values that events and profiles repeat (paths, titles, categories, user agents): a value seen
/// often is one shared string instead of a new one on every call. A fixed table of <see cref="Slots"/>
/// strings, each value's slot chosen by its hash: a value found in its slot is shared, any other takes
/// the slot. A value that comes back often is back in its slot at once, so it stays shared; values
/// met once (a visitor's id) take turns in the slots they land on. No lock: a slot is one reference,
/// read and replaced whole. Long values are not pooled, so what it holds stays small (at most
/// <see cref="Slots"/> strings of <see cref="MaxLength"/> bytes).
/// <para>Values come as the UTF-8 they arrive in (a request's JSON, a snapshot): a value found in the
/// table is never decoded, and ASCII text (nearly all of it) is compared with the string in place.</para>
/// </summary>
internal static class ValuePool
{
    /// <summary>The longest value pooled, in UTF-8 bytes.</summary>
    public const int MaxLength = 256;
    private const int Slots = 16384;
    private static readonly string?[] Table = new string?[Slots];

    /// <summary>The string of <paramref name="utf8"/> (valid UTF-8, else decoded with replacement characters as <see cref="Encoding.UTF8"/> does).</summary>
    public static string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > MaxLength) return Encoding.UTF8.GetString(utf8);
        // HashCode's seed is random per process: a client cannot pick values that all land in one slot.
        var hasher = new HashCode();
        hasher.AddBytes(utf8);
        ref var slot = ref Table[hasher.ToHashCode() & (Slots - 1)];
        var shared = Volatile.Read(ref slot);
        if (shared is not null && Utf8Text.Equals(utf8, shared)) return shared;
        var created = Encoding.UTF8.GetString(utf8);
        Volatile.Write(ref slot, created);
        return created;
    }
}
