using System.Runtime.InteropServices;

namespace Tailor.Server.Grains;

/// <summary>
/// A partition's resident profiles: each one's committed snapshot, copied to native memory, and when it
/// was last used. A partition replaces a profile's snapshot on every call; as an array referenced from
/// the partition's table (old by then), every new one was reached through the card table at the next
/// collection and copied, most of the 600–800 bytes per call the GC's pauses copied
/// (docs/performance.md). A native block holds no references, and the one it replaces is freed at once.
/// Used from the partition's turns only. A block handed out stays valid until that profile's snapshot
/// is replaced or removed, which only the profile's own turn (or the idle sweep, between its turns) does.
/// Blocks are freed when replaced or removed, and all of them when the table is finalized (the
/// partition was collected), never while a turn could still read one.
/// </summary>
internal sealed unsafe class ResidentSnapshots
{
    public struct Entry
    {
        /// <summary>The snapshot's length (4 bytes) and bytes; null when the profile has no state.</summary>
        internal byte* Block;
        public int TouchedS;

        public readonly nint Snapshot => (nint)Block;
    }

    private readonly Dictionary<Guid, Entry> _entries = [];

    public ref Entry Find(Guid id) => ref CollectionsMarshal.GetValueRefOrNullRef(_entries, id);

    /// <summary>Keeps a copy of <paramref name="snapshot"/> (empty: no state) as the profile's, freeing the one it replaces.</summary>
    public nint Set(Guid id, ReadOnlySpan<byte> snapshot, int touchedS)
    {
        var block = snapshot.IsEmpty ? null : Copy(snapshot);
        ref var entry = ref CollectionsMarshal.GetValueRefOrAddDefault(_entries, id, out var existed);
        if (existed) Free(entry.Block);
        entry = new Entry { Block = block, TouchedS = touchedS };
        return (nint)block;
    }

    public void Remove(Guid id)
    {
        if (_entries.Remove(id, out var entry)) Free(entry.Block);
    }

    public Dictionary<Guid, Entry>.Enumerator GetEnumerator() => _entries.GetEnumerator();

    /// <summary>A block's snapshot bytes (empty for none); valid while the block is.</summary>
    public static ReadOnlySpan<byte> Bytes(nint block) =>
        block == 0 ? default : new ReadOnlySpan<byte>((byte*)block + sizeof(int), *(int*)block);

    /// <summary>A copy of a block's snapshot for the wire or a merge, or null for none.</summary>
    public static byte[]? ToArray(nint block) => block == 0 ? null : Bytes(block).ToArray();

    private static byte* Copy(ReadOnlySpan<byte> snapshot)
    {
        var block = (byte*)NativeMemory.Alloc((nuint)(sizeof(int) + snapshot.Length));
        *(int*)block = snapshot.Length;
        snapshot.CopyTo(new Span<byte>(block + sizeof(int), snapshot.Length));
        return block;
    }

    private static void Free(byte* block)
    {
        if (block != null) NativeMemory.Free(block);
    }

    ~ResidentSnapshots()
    {
        foreach (var (_, entry) in _entries) Free(entry.Block);
    }
}
