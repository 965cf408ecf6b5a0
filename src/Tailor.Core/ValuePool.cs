using CommunityToolkit.HighPerformance.Buffers;

namespace Tailor.Core;

/// <summary>
/// Text values that events and profiles repeat (paths, titles, categories, user agents): a value seen
/// often is one shared string instead of a new one on every call. The pool is bounded in count and
/// keeps the most used values (values met once, like a visitor's id, take turns in the rest), and
/// long values are not pooled, so what it holds stays small.
/// </summary>
internal static class ValuePool
{
    public const int MaxLength = 256;
    private static readonly StringPool Pool = new(8192);

    public static string Get(ReadOnlySpan<char> value) => value.Length <= MaxLength ? Pool.GetOrAdd(value) : new string(value);
}
