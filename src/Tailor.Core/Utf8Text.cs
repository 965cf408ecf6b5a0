using System.Text;

namespace Tailor.Core;

/// <summary>Comparing UTF-8 bytes with a string without making one.</summary>
internal static class Utf8Text
{
    /// <summary>Whether <paramref name="utf8"/> spells <paramref name="text"/>: ASCII compared in place, other text decoded on the stack.</summary>
    public static bool Equals(ReadOnlySpan<byte> utf8, string text)
    {
        if (Ascii.Equals(utf8, text)) return true;
        // Unequal ASCII, or text that cannot fit: a character takes at least one byte.
        if (utf8.Length < text.Length || Ascii.IsValid(utf8)) return false;
        Span<char> chars = utf8.Length <= 512 ? stackalloc char[utf8.Length] : new char[utf8.Length];
        return chars[..Encoding.UTF8.GetChars(utf8, chars)].SequenceEqual(text);
    }
}
