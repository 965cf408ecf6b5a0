namespace Tailor.Core.Events;

/// <summary>An incoming event's top-level fields. Nested objects and arrays are kept as raw JSON.</summary>
public sealed class EventData
{
    private readonly Dictionary<string, Value> _fields;

    public EventData(Dictionary<string, Value> fields) => _fields = fields;

    public static EventData From(params (string Name, Value Value)[] fields) =>
        new(fields.ToDictionary(f => f.Name, f => f.Value, StringComparer.Ordinal));

    public Value this[string name] => _fields.TryGetValue(name, out var value) ? value : Value.Missing;

    public IReadOnlyDictionary<string, Value> Fields => _fields;

    /// <summary>The fields, enumerated without allocating (<see cref="Fields"/> boxes its enumerator).</summary>
    public Dictionary<string, Value>.Enumerator GetEnumerator() => _fields.GetEnumerator();

    /// <summary>Sets a field (the server fills in <c>time</c> and <c>uuid</c> before the event is handed on).</summary>
    public void SetField(string name, Value value) => _fields[name] = value;
}
