using System.Runtime.CompilerServices;

namespace Tailor.Core.Lookup;

/// <summary>
/// A map from 128-bit keys to non-negative ints, open addressing with linear probing in two flat
/// arrays: 20 bytes a slot and no object per entry, which is what keeps the lookup index small.
/// Keys are hashes already, so their low bits are the slot. Not thread-safe; the index guards it.
/// </summary>
public sealed class UInt128Map
{
    private UInt128[] _keys;
    private int[] _values; // value + 1; 0 marks an empty slot
    private int _mask;

    public UInt128Map(int capacity = 16)
    {
        var size = 16;
        while (size * 3 / 4 < capacity) size <<= 1;
        _keys = new UInt128[size];
        _values = new int[size];
        _mask = size - 1;
    }

    public int Count { get; private set; }

    /// <summary>Bytes held by the arrays (for the memory figures).</summary>
    public long Bytes => (long)_keys.Length * 20;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Start(UInt128 key, int mask) => (int)((ulong)key ^ (ulong)(key >> 64)) & mask;

    public bool TryGetValue(UInt128 key, out int value)
    {
        var keys = _keys;
        var values = _values;
        var mask = _mask;
        for (var i = Start(key, mask); ; i = (i + 1) & mask)
        {
            var stored = values[i];
            if (stored == 0)
            {
                value = -1;
                return false;
            }
            if (keys[i] == key)
            {
                value = stored - 1;
                return true;
            }
        }
    }

    public void Set(UInt128 key, int value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        if ((Count + 1) * 4 > _keys.Length * 3) Grow();
        for (var i = Start(key, _mask); ; i = (i + 1) & _mask)
        {
            if (_values[i] == 0)
            {
                _keys[i] = key;
                _values[i] = value + 1;
                Count++;
                return;
            }
            if (_keys[i] == key)
            {
                _values[i] = value + 1;
                return;
            }
        }
    }

    /// <summary>Grows once to hold <paramref name="count"/> entries in all.</summary>
    public void Reserve(int count)
    {
        var size = _keys.Length;
        while (size * 3 / 4 < count) size <<= 1;
        if (size > _keys.Length) Resize(size);
    }

    private void Grow() => Resize(_keys.Length * 2);

    private void Resize(int size)
    {
        var (keys, values) = (_keys, _values);
        _keys = new UInt128[size];
        _values = new int[size];
        _mask = _keys.Length - 1;
        Count = 0;
        for (var i = 0; i < keys.Length; i++)
            if (values[i] != 0) Set(keys[i], values[i] - 1);
    }
}
