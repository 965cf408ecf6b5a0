using System.Buffers;

namespace Tailor.Core.Events;

/// <summary>
/// An incoming event's top-level fields, in the order sent. Nested objects and arrays are kept as raw JSON.
/// Events carry a dozen fields or so: they sit in one array and a lookup compares names in turn
/// (cheaper than hashing at this size, and a third of a dictionary's bytes); an event with more than
/// <see cref="IndexedFrom"/> fields gets a dictionary of positions on its first lookup.
/// </summary>
public sealed class EventData
{
    private const int IndexedFrom = 24;

    private (string Name, Value Value)[] _fields;
    private int _count;
    private Dictionary<string, int>? _index;
    /// <summary>Whether <see cref="_fields"/> is rented from the shared pool (<see cref="CopyRented"/>), to go back in <see cref="Release"/>.</summary>
    private bool _rented;

    /// <summary>Takes <paramref name="fields"/> as they are: the first <paramref name="count"/> hold distinct names.</summary>
    internal EventData((string Name, Value Value)[] fields, int count) => (_fields, _count) = (fields, count);

    /// <summary>An event of these fields; a name given twice is an <see cref="ArgumentException"/>.</summary>
    public static EventData From(params (string Name, Value Value)[] fields)
    {
        var data = new EventData(new (string, Value)[fields.Length], 0);
        foreach (var (name, value) in fields)
            if (!data.TryAdd(name, value)) throw new ArgumentException($"field `{name}` is given twice", nameof(fields));
        return data;
    }

    public const string UuidField = "uuid";

    public Value this[string name] => IndexOf(name) is var i and >= 0 ? _fields[i].Value
        : MadeUuid is not null && string.Equals(name, UuidField, StringComparison.Ordinal) ? AddMadeUuid() : Value.Missing;

    public int Count => MadeUuid is null ? _count : _count + 1;

    /// <summary>The fields in the order sent (then a uuid the server made), enumerated without allocating.</summary>
    public ReadOnlySpan<(string Name, Value Value)>.Enumerator GetEnumerator()
    {
        if (MadeUuid is not null) AddMadeUuid();
        return new ReadOnlySpan<(string Name, Value Value)>(_fields, 0, _count).GetEnumerator();
    }

    /// <summary>
    /// The uuid the server made for an event sent without one. The <c>uuid</c> field reads as its text, made
    /// into a string only when something reads that field (a configuration that names it): the event's
    /// stored body and its row are written from the <see cref="Guid"/> itself, and a string per call was
    /// ~100 bytes (docs/performance.md, "4 December, fourteenth session").
    /// </summary>
    public Guid? MadeUuid { get; private set; }

    /// <summary>Gives an event without a <c>uuid</c> field the one the server made for it.</summary>
    public void SetMadeUuid(Guid uuid)
    {
        if (IndexOf(UuidField) >= 0) throw new InvalidOperationException("the event has a uuid of its own");
        MadeUuid = uuid;
    }

    /// <summary>The made uuid as a field from now on (its text, as <see cref="Guid.ToString()"/> writes it).</summary>
    private Value AddMadeUuid()
    {
        var value = Value.FromString(MadeUuid!.Value.ToString());
        Append(UuidField, value);
        MadeUuid = null;
        return value;
    }

    /// <summary>Sets a field (the server fills in <c>time</c> before the event is handed on); a made uuid gives way to a <c>uuid</c> set here.</summary>
    public void SetField(string name, Value value)
    {
        if (MadeUuid is not null && string.Equals(name, UuidField, StringComparison.Ordinal)) MadeUuid = null;
        var i = IndexOf(name);
        if (i >= 0) _fields[i].Value = value;
        else Append(name, value);
    }

    /// <summary>Adds a field; false when the event already has one of this name.</summary>
    internal bool TryAdd(string name, Value value)
    {
        if (IndexOf(name) >= 0 || MadeUuid is not null && string.Equals(name, UuidField, StringComparison.Ordinal)) return false;
        Append(name, value);
        return true;
    }

    /// <summary>A copy of these fields in an array of their count plus <paramref name="room"/> more.</summary>
    internal EventData Copy(int room)
    {
        var fields = new (string, Value)[_count + room];
        Array.Copy(_fields, fields, _count);
        return new EventData(fields, _count) { MadeUuid = MadeUuid };
    }

    /// <summary>
    /// The same, in an array rented from the shared pool: an event is parsed on every call and its
    /// fields are needed only until the call has answered. <see cref="Release"/> gives the array back.
    /// </summary>
    /// <param name="into">An event released before (nothing reads it any more), to hold the copy instead of a new object.</param>
    internal EventData CopyRented(int room, EventData? into = null)
    {
        var fields = ArrayPool<(string, Value)>.Shared.Rent(_count + room);
        Array.Copy(_fields, fields, _count);
        var copy = into ?? new EventData(fields, _count);
        (copy._fields, copy._count, copy._index, copy._rented, copy.MadeUuid) = (fields, _count, null, true, MadeUuid);
        return copy;
    }

    /// <summary>
    /// Empties the event and gives a rented field array back to the pool. Only once nothing reads the
    /// event any more (for a personalization call: once it has answered; after a failure the array is
    /// left to the GC, as a grain may still hold the event).
    /// </summary>
    public void Release()
    {
        var fields = _fields;
        var rented = _rented;
        (_fields, _count, _index, _rented, MadeUuid) = ([], 0, null, false, null);
        if (rented) ArrayPool<(string, Value)>.Shared.Return(fields, clearArray: true);
    }

    /// <summary>Forgets the fields (a reused instance); false when its array has grown past <paramref name="keep"/> places.</summary>
    internal bool Clear(int keep)
    {
        Array.Clear(_fields, 0, _count);
        (_count, _index, MadeUuid) = (0, null, null);
        return _fields.Length <= keep;
    }

    /// <summary>Throws unless <see cref="Release"/> emptied this event (it may then take another's fields).</summary>
    internal void EnsureReleased()
    {
        if (_fields.Length != 0) throw new InvalidOperationException("the event to reuse has not been released");
    }

    private void Append(string name, Value value)
    {
        if (_count == _fields.Length)
        {
            // A rented array that is outgrown is left to the GC: only the pool's own sizes may go back.
            Array.Resize(ref _fields, Math.Max(4, _count * 2));
            _rented = false;
        }
        _fields[_count] = (name, value);
        _index?.Add(name, _count);
        _count++;
    }

    private int IndexOf(string name)
    {
        if (_count > IndexedFrom)
        {
            if (_index is null)
            {
                _index = new Dictionary<string, int>(_count, StringComparer.Ordinal);
                for (var i = 0; i < _count; i++) _index[_fields[i].Name] = i;
            }
            return _index.TryGetValue(name, out var at) ? at : -1;
        }
        for (var i = 0; i < _count; i++)
            if (string.Equals(_fields[i].Name, name, StringComparison.Ordinal)) return i;
        return -1;
    }
}
