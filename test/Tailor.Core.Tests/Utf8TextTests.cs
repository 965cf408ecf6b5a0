using System.Text;

namespace Tailor.Core.Tests;

/// <summary>UTF-8 bytes compared with strings without decoding them (the value pool's and the snapshot reader's test).</summary>
public sealed class Utf8TextTests
{
    [Theory]
    [InlineData("", "", true)]
    [InlineData("shoes", "shoes", true)]
    [InlineData("shoes", "shoeS", false)]
    [InlineData("shoes", "shoe", false)]
    [InlineData("shoe", "shoes", false)]
    [InlineData("für", "für", true)]
    [InlineData("für", "fur", false)]
    [InlineData("fur", "für", false)]
    [InlineData("für", "fü", false)]
    [InlineData("日本語", "日本語", true)]
    [InlineData("日本語", "日本", false)]
    [InlineData("😀 ok", "😀 ok", true)]
    public void Bytes_equal_a_string_exactly_when_they_spell_it(string spelled, string text, bool equal) =>
        Assert.Equal(equal, Utf8Text.Equals(Encoding.UTF8.GetBytes(spelled), text));

    [Fact]
    public void Long_text_beyond_ascii_is_compared_whole()
    {
        var text = string.Concat(Enumerable.Repeat("ü", 400));
        Assert.True(Utf8Text.Equals(Encoding.UTF8.GetBytes(text), text));
        Assert.False(Utf8Text.Equals(Encoding.UTF8.GetBytes(text + "x"), text));
    }
}
