using System.Buffers;

namespace Tailor.Core.Lookup;

/// <summary>
/// The byte layout of a profile's lookup answer: a sequence of fields, each
/// <c>[field index: 1 byte][length: 7-bit varint][UTF-8 JSON value]</c>.
/// </summary>
public static class LookupRecord
{
    public static void Append(IBufferWriter<byte> output, byte field, ReadOnlySpan<byte> json)
    {
        var span = output.GetSpan(1 + 5 + json.Length);
        span[0] = field;
        var n = 1;
        var length = (uint)json.Length;
        while (length >= 0x80)
        {
            span[n++] = (byte)(length | 0x80);
            length >>= 7;
        }
        span[n++] = (byte)length;
        json.CopyTo(span[n..]);
        output.Advance(n + json.Length);
    }

    /// <summary>Walks the fields of a record.</summary>
    public ref struct Reader(ReadOnlySpan<byte> record)
    {
        private ReadOnlySpan<byte> _rest = record;

        public bool Next(out int field, out ReadOnlySpan<byte> json)
        {
            if (_rest.IsEmpty)
            {
                field = 0;
                json = default;
                return false;
            }
            field = _rest[0];
            var n = 1;
            var length = 0;
            var shift = 0;
            byte b;
            do
            {
                b = _rest[n++];
                length |= (b & 0x7F) << shift;
                shift += 7;
            } while ((b & 0x80) != 0);
            json = _rest.Slice(n, length);
            _rest = _rest[(n + length)..];
            return true;
        }
    }
}
