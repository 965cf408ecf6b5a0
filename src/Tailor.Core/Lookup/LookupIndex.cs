using System.Buffers.Binary;

namespace Tailor.Core.Lookup;

/// <summary>
/// The in-memory read side of the lookup API for one audience: index keys (hashes of emails and of
/// name + postal, see <see cref="LookupKey"/>) → profile → that profile's lookup record. Records live
/// in large shared byte chunks; per profile there are only a few array slots, no objects.
/// Thread-safe: many readers (lookups take the read lock per batch slice) or one writer.
/// </summary>
public sealed class LookupIndex : IDisposable
{
    private const int ChunkSize = 1 << 20;

    private readonly ReaderWriterLockSlim _lock = new();
    private readonly UInt128Map _keys;
    private readonly UInt128Map _profiles;
    private readonly List<byte[]> _chunks = [];
    private int _chunkUsed = ChunkSize;
    private long[] _records = new long[1024]; // per ordinal: chunk << 32 | offset, the record there starts with its length
    private int[] _aliases = new int[1024];   // per ordinal: ordinal + 1 of the profile it was merged into, 0, or Erased
    private const int Erased = -1;
    private Guid[] _ids = new Guid[1024];
    private long _wasted;

    public LookupIndex(int expectedProfiles = 1024)
    {
        _keys = new UInt128Map(expectedProfiles * 4);
        _profiles = new UInt128Map(expectedProfiles);
    }

    public int ProfileCount { get; private set; }
    public int KeyCount => _keys.Count;

    /// <summary>Bytes the index holds (maps, per-profile arrays, record chunks).</summary>
    public long Bytes => _keys.Bytes + _profiles.Bytes + _records.Length * 28L + (long)_chunks.Count * ChunkSize;

    /// <summary>Bytes of the records in force: the answers' raw attribute bytes (JSON values and field headers).</summary>
    public long RecordBytes { get; private set; }

    /// <summary>Bytes of records superseded by newer ones (reclaimed when the index is rebuilt).</summary>
    public long WastedBytes => _wasted;

    public ReadScope Read()
    {
        _lock.EnterReadLock();
        return new ReadScope(this);
    }

    public readonly struct ReadScope(LookupIndex index) : IDisposable
    {
        /// <summary>The ordinal of the profile a key finds (merges followed), or -1.</summary>
        public int Find(UInt128 key)
        {
            if (!index._keys.TryGetValue(key, out var ordinal)) return -1;
            for (var hops = 0; hops < 64 && index._aliases[ordinal] > 0; hops++) ordinal = index._aliases[ordinal] - 1;
            return index._aliases[ordinal] == Erased ? -1 : ordinal;
        }

        /// <summary>The ordinal of a profile by its id, or -1.</summary>
        public int OrdinalOf(Guid profile)
        {
            if (!index._profiles.TryGetValue(ToKey(profile), out var ordinal) || index._aliases[ordinal] == Erased) return -1;
            return ordinal;
        }

        public ReadOnlySpan<byte> Record(int ordinal) => index.RecordOf(ordinal);

        public Guid ProfileId(int ordinal) => index._ids[ordinal];

        public void Dispose() => index._lock.ExitReadLock();
    }

    private ReadOnlySpan<byte> RecordOf(int ordinal)
    {
        var position = _records[ordinal];
        if (position < 0) return default;
        var chunk = _chunks[(int)(position >> 32)];
        var offset = (int)position;
        var length = BinaryPrimitives.ReadInt32LittleEndian(chunk.AsSpan(offset));
        return chunk.AsSpan(offset + 4, length);
    }

    public void Write(Action<Writer> changes) => Write(static (writer, changes) => changes(writer), changes);

    /// <summary>The same with the changes' state passed in (no closure per write).</summary>
    public void Write<TState>(Action<Writer, TState> changes, TState state)
    {
        _lock.EnterWriteLock();
        try
        {
            changes(new Writer(this), state);
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Changes, only under the write lock (<see cref="Write"/>).</summary>
    public readonly struct Writer(LookupIndex index)
    {
        /// <summary>Sets the profile's record (its lookup fields as they are now).</summary>
        public void SetRecord(Guid profile, ReadOnlySpan<byte> record) => index.SetRecord(index.Ordinal(profile), record);

        public void AddKey(UInt128 key, Guid profile) => index._keys.Set(key, index.Ordinal(profile));

        /// <summary>The source profile was merged into the target: its keys now find the target.</summary>
        public void Merge(Guid source, Guid target)
        {
            if (!index._profiles.TryGetValue(ToKey(source), out var from)) return;
            var to = index.Ordinal(target);
            if (from == to) return;
            index._aliases[from] = to + 1;
            index.SetRecord(from, default);
        }

        public bool Contains(Guid profile) => index._profiles.TryGetValue(ToKey(profile), out _);

        /// <summary>The profile was erased: its keys find nobody (nor do those of profiles merged into it).</summary>
        public void Erase(Guid profile)
        {
            if (!index._profiles.TryGetValue(ToKey(profile), out var ordinal)) return;
            index.SetRecord(ordinal, default);
            index._aliases[ordinal] = Erased;
        }

        /// <summary>Makes room for this many profiles and keys at once (a build), instead of growing step by step.</summary>
        public void Reserve(int profiles, int keys)
        {
            index._keys.Reserve(keys);
            index._profiles.Reserve(profiles);
            if (index._records.Length < profiles)
            {
                Array.Resize(ref index._records, profiles);
                Array.Resize(ref index._aliases, profiles);
                Array.Resize(ref index._ids, profiles);
            }
        }
    }

    private static UInt128 ToKey(Guid id)
    {
        Span<byte> bytes = stackalloc byte[16];
        id.TryWriteBytes(bytes);
        return BinaryPrimitives.ReadUInt128LittleEndian(bytes);
    }

    private int Ordinal(Guid profile)
    {
        var key = ToKey(profile);
        if (_profiles.TryGetValue(key, out var ordinal)) return ordinal;
        ordinal = ProfileCount++;
        if (ordinal == _records.Length)
        {
            Array.Resize(ref _records, _records.Length * 2);
            Array.Resize(ref _aliases, _aliases.Length * 2);
            Array.Resize(ref _ids, _ids.Length * 2);
        }
        _ids[ordinal] = profile;
        _records[ordinal] = -1;
        _aliases[ordinal] = 0;
        _profiles.Set(key, ordinal);
        return ordinal;
    }

    private void SetRecord(int ordinal, ReadOnlySpan<byte> record)
    {
        var old = _records[ordinal];
        if (old >= 0)
        {
            var current = RecordOf(ordinal);
            if (current.SequenceEqual(record)) return;
            _wasted += current.Length + 4;
            RecordBytes -= current.Length;
        }
        if (record.IsEmpty)
        {
            _records[ordinal] = -1;
            return;
        }
        RecordBytes += record.Length;
        var size = record.Length + 4;
        if (_chunkUsed + size > ChunkSize || _chunks.Count == 0)
        {
            _chunks.Add(new byte[Math.Max(ChunkSize, size)]);
            _chunkUsed = 0;
        }
        var chunkIndex = _chunks.Count - 1;
        var chunk = _chunks[chunkIndex];
        BinaryPrimitives.WriteInt32LittleEndian(chunk.AsSpan(_chunkUsed), record.Length);
        record.CopyTo(chunk.AsSpan(_chunkUsed + 4));
        _records[ordinal] = ((long)chunkIndex << 32) | (uint)_chunkUsed;
        _chunkUsed += size;
    }

    public void Dispose() => _lock.Dispose();
}
