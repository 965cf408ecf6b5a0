namespace Tailor.Core.Profiles;

/// <summary>The stored state of one attribute of one profile. One small object per set attribute.</summary>
public abstract class AttributeState
{
    /// <summary>Unix ms of the last change, <see cref="long.MinValue"/> when never set.</summary>
    public long UpdatedMs { get; set; } = long.MinValue;

    /// <summary>Back to the state of a new object (a reused state's spare taking a new profile's attribute).</summary>
    internal virtual void Empty() => UpdatedMs = long.MinValue;
}

/// <summary><c>single</c> and <c>imported</c>: one value; a <c>single</c> may expire after its ttl.</summary>
public sealed class ScalarState : AttributeState
{
    public Value Value { get; set; }

    internal override void Empty()
    {
        base.Empty();
        Value = default;
    }
}

/// <summary><c>list</c>: most recent values, newest first, at most max_items.</summary>
public sealed class ListState : AttributeState
{
    private ListEntry[] _items = new ListEntry[2];

    public int Count { get; private set; }

    public ListEntry this[int index] => _items[index];

    /// <summary>Adds a value at the front; with <paramref name="distinct"/> an equal value moves to the front.</summary>
    public void Add(Value value, long atMs, int maxItems, bool distinct)
    {
        var existing = distinct ? IndexOf(value) : -1;
        if (existing >= 0)
        {
            Array.Copy(_items, 0, _items, 1, existing);
        }
        else
        {
            if (Count == _items.Length && Count < maxItems) Array.Resize(ref _items, Math.Min(maxItems, Count * 2));
            var keep = Math.Min(Count, maxItems - 1);
            Array.Copy(_items, 0, _items, 1, keep);
            Count = keep + 1;
        }
        _items[0] = new ListEntry(value, atMs);
        UpdatedMs = atMs;
    }

    /// <summary>Drops entries older than the window (they are at the end).</summary>
    public void Expire(long oldestMs)
    {
        while (Count > 0 && _items[Count - 1].AtMs < oldestMs) _items[--Count] = default;
    }

    /// <summary>How many leading entries are at or after <paramref name="oldestMs"/>.</summary>
    public int VisibleCount(long oldestMs)
    {
        var count = Count;
        while (count > 0 && _items[count - 1].AtMs < oldestMs) count--;
        return count;
    }

    private int IndexOf(Value value)
    {
        for (var i = 0; i < Count; i++)
            if (_items[i].Value.Equals(value)) return i;
        return -1;
    }

    /// <summary>Replaces the content (used by merges and snapshots); entries must be newest first.</summary>
    public void Set(IReadOnlyList<ListEntry> entries, int maxItems)
    {
        Count = Math.Min(entries.Count, maxItems);
        _items = new ListEntry[Math.Max(2, Count)];
        for (var i = 0; i < Count; i++) _items[i] = entries[i];
        UpdatedMs = Count > 0 ? _items[0].AtMs : long.MinValue;
    }

    internal override void Empty()
    {
        base.Empty();
        Array.Clear(_items, 0, Count);
        Count = 0;
    }

    /// <summary>This list's array emptied when it holds <paramref name="capacity"/> (a reused state's list), else a new one; for <see cref="Adopt"/>.</summary>
    internal ListEntry[] Emptied(int capacity)
    {
        if (_items.Length < capacity) return new ListEntry[capacity];
        Array.Clear(_items);
        return _items;
    }

    /// <summary>Takes <paramref name="items"/> (newest first, the first <paramref name="count"/> in use) as the content, without a copy.</summary>
    internal void Adopt(ListEntry[] items, int count)
    {
        _items = items;
        Count = count;
    }

    public ReadOnlySpan<ListEntry> Entries => _items.AsSpan(0, Count);
}

public readonly record struct ListEntry(Value Value, long AtMs);

/// <summary><c>counter</c> with <c>counter_type: total</c>: all-time sum on top of the imported base.</summary>
public sealed class TotalCounterState : AttributeState
{
    public double Base { get; set; }
    public double Sum { get; set; }
    public double Total => Base + Sum;

    internal override void Empty()
    {
        base.Empty();
        (Base, Sum) = (0, 0);
    }
}
