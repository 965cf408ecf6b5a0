using System.Buffers;
using System.Runtime.CompilerServices;

namespace Tailor.Storage.Sqlite;

/// <summary>
/// Rows a write-behind gathers, sorts and writes, in an array rented from <see cref="ArrayPool{T}.Shared"/>
/// (grown by renting a larger one) and returned when disposed. A generation's rows number up to a few
/// hundred thousand: new arrays that size went to the large object heap at every write-behind, where
/// only a full collection frees them (docs/performance.md).
/// </summary>
internal sealed class RentedRows<T>(int capacity) : IDisposable
{
    private T[] _rows = ArrayPool<T>.Shared.Rent(Math.Max(capacity, 16));

    public int Count { get; private set; }

    /// <summary>The rows; valid until the next <see cref="Add"/> (which may move them).</summary>
    public Span<T> Span => _rows.AsSpan(0, Count);

    /// <summary>The array the rows are in (its first <see cref="Count"/> elements), for a caller that must hold it across calls.</summary>
    public T[] Array => _rows;

    public void Add(T row)
    {
        if (Count == _rows.Length)
        {
            var larger = ArrayPool<T>.Shared.Rent(_rows.Length * 2);
            Span.CopyTo(larger);
            ArrayPool<T>.Shared.Return(_rows, RuntimeHelpers.IsReferenceOrContainsReferences<T>());
            _rows = larger;
        }
        _rows[Count++] = row;
    }

    /// <summary>Keeps the first <paramref name="count"/> rows.</summary>
    public void Truncate(int count) => Count = Math.Min(count, Count);

    public void Dispose()
    {
        if (_rows.Length > 0) ArrayPool<T>.Shared.Return(_rows, RuntimeHelpers.IsReferenceOrContainsReferences<T>());
        (_rows, Count) = ([], 0);
    }
}
