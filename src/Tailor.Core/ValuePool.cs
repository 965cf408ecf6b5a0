namespace Tailor.Core;

/// <summary>
/// Text values that events and profiles repeat (paths, titles, categories, user agents): a value seen
/// often is one shared string instead of a new one on every call. A fixed table of <see cref="Slots"/>
/// strings, each value's slot chosen by its hash: a value found in its slot is shared, any other takes
/// the slot. A value that comes back often is back in its slot at once, so it stays shared; values
/// met once (a visitor's id) take turns in the slots they land on. No lock: a slot is one reference,
/// read and replaced whole. Long values are not pooled, so what it holds stays small (at most
/// <see cref="Slots"/> strings of <see cref="MaxLength"/> characters).
/// </summary>
internal static class ValuePool
{
    public const int MaxLength = 256;
    private const int Slots = 16384;
    private static readonly string?[] Table = new string?[Slots];

    public static string Get(ReadOnlySpan<char> value)
    {
        if (value.Length > MaxLength) return new string(value);
        // The runtime's randomized string hash: a client cannot pick values that all land in one slot.
        ref var slot = ref Table[string.GetHashCode(value) & (Slots - 1)];
        var shared = Volatile.Read(ref slot);
        if (shared is not null && value.SequenceEqual(shared)) return shared;
        var created = new string(value);
        Volatile.Write(ref slot, created);
        return created;
    }
}
