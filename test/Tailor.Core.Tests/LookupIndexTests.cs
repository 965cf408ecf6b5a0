using System.Text;
using Tailor.Core.Lookup;

namespace Tailor.Core.Tests;

/// <summary>The in-memory lookup index: keys find profiles, records are replaced, merges are followed, and it grows.</summary>
public sealed class LookupIndexTests
{
    private static byte[] Record(string json)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        LookupRecord.Append(buffer, 0, Encoding.UTF8.GetBytes(json));
        return buffer.WrittenSpan.ToArray();
    }

    private static string? Answer(LookupIndex index, UInt128 key)
    {
        using var read = index.Read();
        var ordinal = read.Find(key);
        if (ordinal < 0) return null;
        var reader = new LookupRecord.Reader(read.Record(ordinal));
        return reader.Next(out _, out var json) ? Encoding.UTF8.GetString(json) : "";
    }

    [Fact]
    public void A_key_finds_the_latest_record_of_its_profile()
    {
        using var index = new LookupIndex();
        var profile = Guid.NewGuid();
        index.Write(w =>
        {
            w.AddKey(1, profile);
            w.SetRecord(profile, Record("\"25-34\""));
        });
        Assert.Equal("\"25-34\"", Answer(index, 1));
        index.Write(w => w.SetRecord(profile, Record("\"35-44\"")));
        Assert.Equal("\"35-44\"", Answer(index, 1));
        Assert.Null(Answer(index, 2));
        Assert.Equal(Record("\"35-44\"").Length, index.RecordBytes);
    }

    [Fact]
    public void Keys_of_a_merged_profile_find_the_survivor()
    {
        using var index = new LookupIndex();
        var (older, newer) = (Guid.NewGuid(), Guid.NewGuid());
        index.Write(w =>
        {
            w.AddKey(10, older);
            w.AddKey(20, newer);
            w.SetRecord(newer, Record("\"newer\""));
            w.SetRecord(older, Record("\"older\""));
        });
        index.Write(w =>
        {
            w.Merge(newer, older);
            w.SetRecord(older, Record("\"merged\""));
        });
        Assert.Equal("\"merged\"", Answer(index, 10));
        Assert.Equal("\"merged\"", Answer(index, 20));
    }

    [Fact]
    public void It_grows_to_many_profiles_and_keys_without_losing_any()
    {
        using var index = new LookupIndex(expectedProfiles: 4);
        var profiles = Enumerable.Range(0, 50_000).Select(_ => Guid.NewGuid()).ToArray();
        index.Write(w =>
        {
            for (var i = 0; i < profiles.Length; i++)
            {
                w.AddKey((UInt128)i * 7919 + 1, profiles[i]);
                w.AddKey(((UInt128)i << 64) | 3, profiles[i]);
                w.SetRecord(profiles[i], Record($"{i}"));
            }
        });
        Assert.Equal(profiles.Length, index.ProfileCount);
        Assert.Equal(profiles.Length * 2, index.KeyCount);
        for (var i = 0; i < profiles.Length; i += 997)
        {
            Assert.Equal($"{i}", Answer(index, (UInt128)i * 7919 + 1));
            Assert.Equal($"{i}", Answer(index, ((UInt128)i << 64) | 3));
        }
    }
}
