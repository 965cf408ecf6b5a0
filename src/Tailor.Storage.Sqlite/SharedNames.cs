using System.Text;

namespace Tailor.Storage.Sqlite;

/// <summary>One string per distinct UTF-8 name read from the pending rows (identifier key names and audiences are few; their rows are many).</summary>
internal sealed class SharedNames
{
    private readonly Dictionary<string, string> _names = [];

    public string Of(ReadOnlySpan<byte> utf8)
    {
        Span<char> chars = utf8.Length <= 256 ? stackalloc char[utf8.Length] : new char[utf8.Length];
        chars = chars[..Encoding.UTF8.GetChars(utf8, chars)];
        var names = _names.GetAlternateLookup<ReadOnlySpan<char>>();
        if (names.TryGetValue(chars, out var name)) return name;
        name = new string(chars);
        _names[name] = name;
        return name;
    }
}
