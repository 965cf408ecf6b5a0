using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Tailor.Core;

/// <summary>
/// Short names that every event or profile repeats (event field names, stitching key names): each
/// distinct name is one shared string. Bounded in count and length, so that a client inventing
/// names cannot grow it without limit; past the bound a name is simply a new string.
/// </summary>
internal static class NamePool
{
    public const int MaxLength = 64;
    private const int MaxNames = 4096;
    private static readonly ConcurrentDictionary<string, string> Names = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> NamesByChars = Names.GetAlternateLookup<ReadOnlySpan<char>>();
    private static readonly StrongBox<int> Count = new();

    public static string Get(ReadOnlySpan<char> name)
    {
        if (name.Length <= MaxLength && NamesByChars.TryGetValue(name, out var shared)) return shared;
        var created = new string(name);
        if (name.Length <= MaxLength && Volatile.Read(ref Count.Value) < MaxNames && Names.TryAdd(created, created))
            Interlocked.Increment(ref Count.Value);
        return created;
    }
}
