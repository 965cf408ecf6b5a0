using System.Buffers;
using System.Text;

namespace Tailor.Storage.Sqlite;

/// <summary>
/// What a change does besides replacing its profile's snapshot (identifiers mapped and unmapped,
/// profiles merged, lookup keys added), encoded for its <c>pending_changes</c> row. Most changes
/// have none and store NULL. The layout: a version byte; then the upserted identities (a count, then
/// key, value and profile id each), the deleted ones (key and value), the merged profiles and the
/// lookup keys. Counts and lengths are 7-bit encoded integers, strings UTF-8, ids 16 big-endian bytes.
/// </summary>
internal static class ChangeEffects
{
    private const byte Version = 1;

    public static bool Any(WriteItem item) =>
        item.IdentitiesUpserted.Count > 0 || item.IdentitiesDeleted.Count > 0 || item.MergedProfiles.Count > 0 || item.LookupKeys.Count > 0;

    /// <summary>Writes the item's effects (call only when <see cref="Any"/>) into <paramref name="output"/>, without allocating.</summary>
    public static void Encode(WriteItem item, IBufferWriter<byte> output)
    {
        Byte(output, Version);
        Count(output, item.IdentitiesUpserted.Count);
        for (var i = 0; i < item.IdentitiesUpserted.Count; i++)
        {
            var identity = item.IdentitiesUpserted[i];
            Text(output, identity.Key);
            Text(output, identity.Value);
            Id(output, identity.ProfileId);
        }
        Count(output, item.IdentitiesDeleted.Count);
        for (var i = 0; i < item.IdentitiesDeleted.Count; i++)
        {
            Text(output, item.IdentitiesDeleted[i].Key);
            Text(output, item.IdentitiesDeleted[i].Value);
        }
        Count(output, item.MergedProfiles.Count);
        for (var i = 0; i < item.MergedProfiles.Count; i++) Id(output, item.MergedProfiles[i]);
        Count(output, item.LookupKeys.Count);
        for (var i = 0; i < item.LookupKeys.Count; i++)
        {
            Count(output, item.LookupKeys[i].Length);
            output.Write(item.LookupKeys[i]);
        }
    }

    private static void Byte(IBufferWriter<byte> output, byte value)
    {
        output.GetSpan(1)[0] = value;
        output.Advance(1);
    }

    private static void Count(IBufferWriter<byte> output, int value)
    {
        var span = output.GetSpan(5);
        var length = 0;
        var rest = (uint)value;
        for (; rest >= 0x80; rest >>= 7) span[length++] = (byte)(rest | 0x80);
        span[length++] = (byte)rest;
        output.Advance(length);
    }

    private static void Text(IBufferWriter<byte> output, string text)
    {
        var length = Encoding.UTF8.GetByteCount(text);
        Count(output, length);
        Encoding.UTF8.GetBytes(text, output.GetSpan(length));
        output.Advance(length);
    }

    private static void Id(IBufferWriter<byte> output, Guid id)
    {
        id.TryWriteBytes(output.GetSpan(16), bigEndian: true, out _);
        output.Advance(16);
    }

    /// <summary>Reads the encoding back, part by part, in the order it was written.</summary>
    public ref struct Reader
    {
        private ReadOnlySpan<byte> _rest;

        public Reader(ReadOnlySpan<byte> effects)
        {
            if (effects.IsEmpty || effects[0] != Version)
                throw new InvalidDataException($"a pending change's effects: version {(effects.IsEmpty ? "none" : effects[0])}, this build reads {Version}");
            _rest = effects[1..];
        }

        public int Count()
        {
            var value = 0;
            for (var shift = 0; ; shift += 7)
            {
                var b = _rest[0];
                _rest = _rest[1..];
                value |= (b & 0x7F) << shift;
                if (b < 0x80) return value;
            }
        }

        public ReadOnlySpan<byte> Bytes()
        {
            var length = Count();
            var bytes = _rest[..length];
            _rest = _rest[length..];
            return bytes;
        }

        public string Text() => Encoding.UTF8.GetString(Bytes());

        public Guid Id()
        {
            var id = new Guid(_rest[..16], bigEndian: true);
            _rest = _rest[16..];
            return id;
        }
    }

    /// <summary>The profiles a change merged away (what opening after a crash needs of its effects: memory keeps only what reads need).</summary>
    public static Guid[] MergedProfiles(ReadOnlySpan<byte> effects)
    {
        if (effects.IsEmpty) return [];
        var reader = new Reader(effects);
        for (var n = reader.Count(); n > 0; n--)
        {
            reader.Bytes();
            reader.Bytes();
            reader.Id();
        }
        for (var n = reader.Count(); n > 0; n--)
        {
            reader.Bytes();
            reader.Bytes();
        }
        var merged = new Guid[reader.Count()];
        for (var i = 0; i < merged.Length; i++) merged[i] = reader.Id();
        return merged;
    }
}
