using System.Globalization;

namespace Tailor.Core;

public enum ValueKind : byte
{
    /// <summary>Absent: an attribute never set, expired, or a field not in the event.</summary>
    Missing,
    Null,
    String,
    Number,
    Bool,
    /// <summary>A JSON object or array kept as its raw text (imported objects such as <c>interests</c>).</summary>
    Json,
}

/// <summary>
/// One scalar value of an event field or attribute. A struct so that rule evaluation does not allocate.
/// </summary>
public readonly struct Value : IEquatable<Value>
{
    private readonly string? _text;
    private readonly double _number;

    private Value(ValueKind kind, string? text, double number)
    {
        Kind = kind;
        _text = text;
        _number = number;
    }

    public ValueKind Kind { get; }

    public static Value Missing => default;
    public static Value Null { get; } = new(ValueKind.Null, null, 0);
    public static Value True { get; } = new(ValueKind.Bool, null, 1);
    public static Value False { get; } = new(ValueKind.Bool, null, 0);

    public static Value FromString(string text) => new(ValueKind.String, text, 0);
    public static Value FromNumber(double number) => new(ValueKind.Number, null, number);
    public static Value FromBool(bool value) => value ? True : False;
    public static Value FromJson(string rawJson) => new(ValueKind.Json, rawJson, 0);

    /// <summary>Missing or null.</summary>
    public bool IsAbsent => Kind is ValueKind.Missing or ValueKind.Null;
    public bool IsTrue => Kind == ValueKind.Bool && _number != 0;
    public string String => _text ?? "";
    public string? Text => _text;
    public double Number => _number;

    /// <summary>The number this value stands for: a number, or a string holding one.</summary>
    public bool TryGetNumber(out double number)
    {
        if (Kind == ValueKind.Number)
        {
            number = _number;
            return true;
        }
        if (Kind == ValueKind.String)
            return double.TryParse(_text, NumberStyles.Float, CultureInfo.InvariantCulture, out number);
        number = 0;
        return false;
    }

    /// <summary>Equality as the criteria language sees it: same kind, or a number and a numeric string.</summary>
    public bool Matches(in Value other)
    {
        if (IsAbsent || other.IsAbsent) return false;
        if (Kind == other.Kind)
            return Kind switch
            {
                ValueKind.Number or ValueKind.Bool => _number == other._number,
                _ => string.Equals(_text, other._text, StringComparison.Ordinal),
            };
        if (Kind == ValueKind.Number && other.TryGetNumber(out var n)) return n == _number;
        if (other.Kind == ValueKind.Number && TryGetNumber(out var m)) return m == other._number;
        return false;
    }

    /// <summary>Ordering for &lt; &lt;= &gt; &gt;=: numbers numerically, strings ordinally; null when not comparable.</summary>
    public int? CompareTo(in Value other)
    {
        if (IsAbsent || other.IsAbsent) return null;
        if (Kind == ValueKind.String && other.Kind == ValueKind.String) return Math.Sign(string.CompareOrdinal(_text, other._text));
        if (TryGetNumber(out var a) && other.TryGetNumber(out var b)) return a.CompareTo(b);
        return null;
    }

    public bool Equals(Value other) => Kind == other.Kind && _number.Equals(other._number) && string.Equals(_text, other._text, StringComparison.Ordinal);
    public override bool Equals(object? obj) => obj is Value other && Equals(other);
    public override int GetHashCode() => HashCode.Combine(Kind, _number, _text);
    public static bool operator ==(Value left, Value right) => left.Equals(right);
    public static bool operator !=(Value left, Value right) => !left.Equals(right);

    public override string ToString() => Kind switch
    {
        ValueKind.Missing => "<missing>",
        ValueKind.Null => "null",
        ValueKind.Bool => IsTrue ? "true" : "false",
        ValueKind.Number => _number.ToString("R", CultureInfo.InvariantCulture),
        ValueKind.String => $"\"{_text}\"",
        _ => _text ?? "",
    };
}
