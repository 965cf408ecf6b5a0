using System.Text;

namespace Tailor.Core.Profiles;

/// <summary>
/// Versioned binary snapshot of a <see cref="ProfileState"/>. Attributes and segments are stored by
/// name, not slot, so a snapshot taken under one configuration loads under the next: attributes
/// that no longer exist or changed kind are dropped, counter windows are matched by length.
/// <para>Format v1 (little-endian; "varint" = 7-bit encoded):
/// <c>"TPS" 0x01 | id:16 (big-endian UUID) | created:i64 | updated:i64 | events:i64 |
/// identifiers: varint n × (key:str, value:str, added:i64) | batch segments: varint n × str |
/// segments: varint n × str | attributes: varint n × (name:str, tag:u8, updated:i64, body)</c>
/// with body: 1 scalar = value; 2 list = varint n × (value, at:i64); 3 sliding = varint w × window:i64,
/// varint b × (window:varint, number:i64, sum:f64); 4 total = base:f64, sum:f64; and value =
/// kind:u8 then str (string, json), f64 (number) or u8 (bool).</para>
/// <para>Format v2 (written now) is v1 with the times as varints: <c>"TPS" 0x02 | id:16 | updated:i64 |
/// created:time | events:varint | ...</c>, where every other time (created, identifier added, attribute
/// updated, list entry at) is a "time" = the zigzag varint of <c>updated - t</c> (one to four bytes
/// instead of eight), window lengths are varints and bucket numbers zigzag varints. About a quarter
/// smaller for a profile of 20 attributes; the partitions keep every active profile in this form.</para>
/// Both formats are frozen by tests; a change needs a new version number and a reader for the old ones.
/// </summary>
public static class ProfileSnapshot
{
    public const byte Version = 2;
    private static ReadOnlySpan<byte> Magic => "TPS"u8;

    private const byte TagScalar = 1, TagList = 2, TagSliding = 3, TagTotal = 4;

    /// <summary>The writer and the name buffer the thread keeps (a profile is read and written on every call); larger ones are not kept.</summary>
    private const int KeptCapacity = 256 * 1024;

    [ThreadStatic] private static SnapshotWriter? t_writer;
    [ThreadStatic] private static char[]? t_chars;

    public static byte[] Write(ProfileState state) => Write(state, static bytes => bytes.ToArray());

    /// <summary>
    /// The snapshot in an array rented from the shared pool (<see cref="RentedBytes"/>): the profile is
    /// written on every call, and its bytes are needed only until the call's commit.
    /// </summary>
    public static ArraySegment<byte> WriteRented(ProfileState state) => Write(state, RentedBytes.Copy);

    private static T Write<T>(ProfileState state, Func<ReadOnlySpan<byte>, T> copy)
    {
        var writer = t_writer ??= new SnapshotWriter(1024);
        writer.Clear();
        Write(state, writer);
        var bytes = copy(writer.Written);
        if (writer.Capacity > KeptCapacity) t_writer = null;
        return bytes;
    }

    private static void Write(ProfileState state, SnapshotWriter w)
    {
        var updated = state.UpdatedMs;
        w.Write(Magic);
        w.Write(Version);
        Span<byte> idBytes = stackalloc byte[16];
        state.Id.TryWriteBytes(idBytes, bigEndian: true, out _);
        w.Write(idBytes);
        w.Write(updated);
        WriteTime(w, state.CreatedMs, updated);
        w.Write7BitEncodedInt64(state.EventCount);
        var identifiers = state.Identifiers;
        w.Write7BitEncodedInt(identifiers.Count);
        // Indexed loops: an interface's enumerator is one more object per snapshot.
        for (var i = 0; i < identifiers.Count; i++)
        {
            var id = identifiers[i];
            w.Write(id.Identifier.Key);
            w.Write(id.Identifier.Value);
            WriteTime(w, id.AddedMs, updated);
        }
        w.Write7BitEncodedInt(state.BatchSegments.Length);
        foreach (var segment in state.BatchSegments) w.Write(segment);
        var layout = state.Layout;
        var segments = 0;
        for (var i = 0; i < layout.Segments.Count; i++)
            if (state.InSegment(i)) segments++;
        w.Write7BitEncodedInt(segments);
        for (var i = 0; i < layout.Segments.Count; i++)
            if (state.InSegment(i)) w.WriteText(layout.Utf8Segment(i));

        var definitions = layout.Attributes;
        var attributes = 0;
        for (var a = 0; a < definitions.Count; a++)
            if (state.Attributes[definitions[a].Slot] is not null) attributes++;
        w.Write7BitEncodedInt(attributes);
        for (var a = 0; a < definitions.Count; a++)
        {
            var definition = definitions[a];
            if (state.Attributes[definition.Slot] is not { } attribute) continue;
            w.WriteText(layout.Utf8Name(a));
            switch (attribute)
            {
                case ScalarState scalar:
                    w.Write(TagScalar);
                    WriteTime(w, scalar.UpdatedMs, updated);
                    WriteValue(w, scalar.Value);
                    break;
                case ListState list:
                    w.Write(TagList);
                    WriteTime(w, list.UpdatedMs, updated);
                    w.Write7BitEncodedInt(list.Count);
                    foreach (var entry in list.Entries)
                    {
                        WriteValue(w, entry.Value);
                        WriteTime(w, entry.AtMs, updated);
                    }
                    break;
                case SlidingCounterState sliding:
                    w.Write(TagSliding);
                    WriteTime(w, sliding.UpdatedMs, updated);
                    w.Write7BitEncodedInt(definition.WindowsMs.Length);
                    foreach (var window in definition.WindowsMs) w.Write7BitEncodedInt64(window);
                    w.Write7BitEncodedInt(sliding.BucketCount);
                    foreach (var bucket in sliding.Buckets)
                    {
                        w.Write7BitEncodedInt(bucket.Window);
                        w.Write7BitEncodedInt64(ZigZag(bucket.Number));
                        w.Write(bucket.Sum);
                    }
                    break;
                case TotalCounterState total:
                    w.Write(TagTotal);
                    WriteTime(w, total.UpdatedMs, updated);
                    w.Write(total.Base);
                    w.Write(total.Sum);
                    break;
                default:
                    throw new InvalidOperationException($"unknown attribute state {attribute.GetType().Name}");
            }
        }
    }

    private static long ZigZag(long value) => (value << 1) ^ (value >> 63);
    private static long UnZigZag(long value) => (long)((ulong)value >> 1) ^ -(value & 1);

    /// <summary>A time relative to the profile's last update (v2): usually a few bytes.</summary>
    private static void WriteTime(SnapshotWriter w, long ms, long updated) => w.Write7BitEncodedInt64(ZigZag(updated - ms));

    /// <summary>Reads what differs between the versions: times, window lengths, bucket numbers.</summary>
    private readonly struct Format(bool v1, long updated)
    {
        public long Time(ref SnapshotReader r) => v1 ? r.ReadInt64() : updated - UnZigZag(r.Read7BitEncodedInt64());
        public long Window(ref SnapshotReader r) => v1 ? r.ReadInt64() : r.Read7BitEncodedInt64();
        public long BucketNumber(ref SnapshotReader r) => v1 ? r.ReadInt64() : UnZigZag(r.Read7BitEncodedInt64());
    }

    /// <summary>
    /// Reads a snapshot onto <paramref name="layout"/>, into <paramref name="reuse"/> (a finished call's
    /// state, see <see cref="ProfileState.Reset"/>) when it has the same layout. Throws
    /// <see cref="InvalidDataException"/> on a corrupt or unknown format.
    /// </summary>
    public static ProfileState Read(ReadOnlySpan<byte> bytes, AttributeLayout layout, ProfileState? reuse = null) =>
        Read(bytes, layout, reuse, []);

    /// <summary>
    /// The same, with strings the caller holds already (a call's identifier values): an identifier or
    /// string attribute value equal to one of <paramref name="known"/> is that string, not a new one. A
    /// returning customer's call carries the identifiers its profile holds, and a profile's attributes
    /// often hold one of them too (an email): two or three strings fewer per call.
    /// </summary>
    public static ProfileState Read(ReadOnlySpan<byte> bytes, AttributeLayout layout, ProfileState? reuse, ReadOnlySpan<string> known)
    {
        if (bytes.Length < 4 || !bytes[..3].SequenceEqual(Magic)) throw new InvalidDataException("not a Tailor profile snapshot");
        if (bytes[3] is not (1 or Version)) throw new InvalidDataException($"unsupported profile snapshot version {bytes[3]}");
        if (bytes.Length < 20) throw SnapshotReader.Truncated();
        var v1 = bytes[3] == 1;
        var r = new SnapshotReader(bytes, 20);
        var id = new Guid(bytes[4..20], bigEndian: true);
        ProfileState state;
        Format f;
        if (v1)
        {
            state = Start(reuse, id, r.ReadInt64(), layout);
            state.UpdatedMs = r.ReadInt64();
            state.EventCount = r.ReadInt64();
            f = new Format(v1, state.UpdatedMs);
        }
        else
        {
            var updated = r.ReadInt64();
            f = new Format(v1, updated);
            state = Start(reuse, id, f.Time(ref r), layout);
            state.UpdatedMs = updated;
            state.EventCount = r.Read7BitEncodedInt64();
        }
        var identifiers = r.Read7BitEncodedInt();
        if (identifiers < 0 || identifiers > r.Remaining) throw SnapshotReader.Corrupt("an identifier count out of range");
        state.ReserveIdentifiers(identifiers + 2);
        for (var i = 0; i < identifiers; i++)
        {
            var key = NamePool.Get(Chars(r.ReadStringBytes()));
            var value = r.ReadStringBytes();
            state.AddIdentifier(new ProfileIdentifier(new Identifier(key, Known(value, known) ?? Encoding.UTF8.GetString(value)), f.Time(ref r)));
        }
        var batchCount = r.Read7BitEncodedInt();
        if (batchCount < 0 || batchCount > r.Remaining) throw SnapshotReader.Corrupt("a batch segment count out of range");
        if (batchCount > 0)
        {
            var batch = new string[batchCount];
            var sorted = true;
            for (var i = 0; i < batch.Length; i++)
            {
                batch[i] = ValuePool.Get(r.ReadStringBytes());
                sorted &= i == 0 || string.CompareOrdinal(batch[i - 1], batch[i]) < 0;
            }
            // Written sorted and distinct: taken as they are (a snapshot from elsewhere is put in order).
            if (sorted) state.BatchSegments = batch;
            else state.SetBatchSegments(batch);
        }
        // Segment and attribute names are matched against the layout's own UTF-8 names: no string is made for them.
        var segments = r.Read7BitEncodedInt();
        for (var i = 0; i < segments; i++)
        {
            var index = layout.SegmentIndex(r.ReadStringBytes());
            if (index >= 0) state.SetSegment(index, true);
        }
        var attributes = r.Read7BitEncodedInt();
        var next = 0;
        for (var i = 0; i < attributes; i++)
        {
            var name = r.ReadStringBytes();
            var definition = layout.FindNext(name, ref next) ?? layout.Find(Chars(name));
            var tag = r.ReadByte();
            var updated = f.Time(ref r);
            AttributeState? attribute = tag switch
            {
                TagScalar => ReadScalar(ref r, Spare<ScalarState>(state, definition), updated, known),
                TagList => ReadList(ref r, f, definition, Spare<ListState>(state, definition), updated, known),
                TagSliding => ReadSliding(ref r, f, definition, Spare<SlidingCounterState>(state, definition), updated),
                TagTotal => ReadTotal(ref r, Spare<TotalCounterState>(state, definition), updated),
                _ => throw new InvalidDataException($"unknown attribute tag {tag}"),
            };
            if (definition is not null && Fits(definition, attribute)) state.Attributes[definition.Slot] = attribute;
        }
        if (!r.AtEnd) throw new InvalidDataException("trailing bytes after the profile snapshot");
        return state;
    }

    private static ProfileState Start(ProfileState? reuse, Guid id, long createdMs, AttributeLayout layout)
    {
        if (reuse is null || !ReferenceEquals(reuse.Layout, layout)) return new ProfileState(id, createdMs, layout);
        reuse.Reset(id, createdMs);
        return reuse;
    }

    private static T? Spare<T>(ProfileState state, AttributeDefinition? definition) where T : AttributeState =>
        definition is null ? null : state.Spare<T>(definition.Slot);

    private static ScalarState ReadScalar(ref SnapshotReader r, ScalarState? spare, long updated, ReadOnlySpan<string> known)
    {
        var scalar = spare ?? new ScalarState();
        scalar.Value = ReadValue(ref r, known);
        scalar.UpdatedMs = updated;
        return scalar;
    }

    private static TotalCounterState ReadTotal(ref SnapshotReader r, TotalCounterState? spare, long updated)
    {
        var total = spare ?? new TotalCounterState();
        total.Base = r.ReadDouble();
        total.Sum = r.ReadDouble();
        total.UpdatedMs = updated;
        return total;
    }

    /// <summary>A string's UTF-8 bytes decoded into the thread's buffer (valid until the next call).</summary>
    private static ReadOnlySpan<char> Chars(ReadOnlySpan<byte> utf8)
    {
        var chars = t_chars is { } kept && kept.Length >= utf8.Length ? kept : new char[Math.Max(64, utf8.Length)];
        if (chars.Length <= KeptCapacity) t_chars = chars;
        return chars.AsSpan(0, Encoding.UTF8.GetChars(utf8, chars));
    }

    /// <summary>The one of <paramref name="known"/> that <paramref name="utf8"/> spells, or null.</summary>
    private static string? Known(ReadOnlySpan<byte> utf8, ReadOnlySpan<string> known)
    {
        foreach (var candidate in known)
            if (Utf8Text.Equals(utf8, candidate)) return candidate;
        return null;
    }

    private static string Text(ReadOnlySpan<byte> utf8, ReadOnlySpan<string> known) => Known(utf8, known) ?? ValuePool.Get(utf8);

    /// <summary>Moves a profile onto another configuration's layout, keeping what still fits.</summary>
    internal static void Remap(ProfileState state, AttributeLayout layout)
    {
        var copy = Read(Write(state), layout);
        state.Layout = layout;
        state.Attributes = copy.Attributes;
        state.SegmentBits = copy.SegmentBits;
    }

    private static bool Fits(AttributeDefinition definition, AttributeState? state) => state switch
    {
        ScalarState => definition.Type is Configuration.AttributeType.Single or Configuration.AttributeType.Imported,
        ListState => definition.Type == Configuration.AttributeType.List,
        SlidingCounterState => definition.IsSliding,
        TotalCounterState => definition.IsTotal,
        _ => false,
    };

    private static ListState ReadList(ref SnapshotReader r, Format f, AttributeDefinition? definition, ListState? spare, long updated, ReadOnlySpan<string> known)
    {
        var count = r.Read7BitEncodedInt();
        if (count < 0 || count > r.Remaining) throw SnapshotReader.Corrupt("a list length out of range");
        var maxItems = definition?.MaxItems ?? count;
        var kept = Math.Min(count, maxItems);
        // One array, with room for the call's next value (a list grows by doubling otherwise).
        var list = spare ?? new ListState();
        var entries = list.Emptied(Math.Max(2, Math.Min(kept + 1, maxItems)));
        for (var i = 0; i < count; i++)
        {
            var entry = new ListEntry(ReadValue(ref r, known), f.Time(ref r));
            if (i < kept) entries[i] = entry;
        }
        list.UpdatedMs = updated;
        list.Adopt(entries, kept);
        return list;
    }

    private static SlidingCounterState ReadSliding(ref SnapshotReader r, Format f, AttributeDefinition? definition, SlidingCounterState? spare, long updated)
    {
        var windowCount = r.Read7BitEncodedInt();
        if (windowCount < 0 || windowCount > r.Remaining) throw SnapshotReader.Corrupt("a window count out of range");
        Span<long> windows = windowCount <= 16 ? stackalloc long[windowCount] : new long[windowCount];
        for (var i = 0; i < windows.Length; i++) windows[i] = f.Window(ref r);
        var counter = spare ?? new SlidingCounterState();
        counter.Empty();
        counter.UpdatedMs = updated;
        var buckets = r.Read7BitEncodedInt();
        // Sized once for what the snapshot holds and the call's new bucket (bounded: the count is read from bytes).
        counter.Reserve(Math.Clamp(buckets, 0, 1024) + 2);
        for (var i = 0; i < buckets; i++)
        {
            var window = r.Read7BitEncodedInt();
            var number = f.BucketNumber(ref r);
            var sum = r.ReadDouble();
            // Windows are matched by length: a bucket's number only means something for its width.
            var target = definition is null || window >= windows.Length ? -1 : Array.IndexOf(definition.WindowsMs, windows[window]);
            if (target >= 0) counter.AddBucket(new SlidingCounterState.Bucket(target, number, sum));
        }
        return counter;
    }

    private static void WriteValue(SnapshotWriter w, Value value)
    {
        w.Write((byte)value.Kind);
        switch (value.Kind)
        {
            case ValueKind.String or ValueKind.Json: w.Write(value.String); break;
            case ValueKind.Number: w.Write(value.Number); break;
            case ValueKind.Bool: w.Write(value.IsTrue); break;
        }
    }

    /// <summary>
    /// A value; its text is one of <paramref name="known"/> when equal, else shared through the
    /// <see cref="ValuePool"/> (a JSON value too: an object of a few interests repeats across profiles).
    /// </summary>
    private static Value ReadValue(ref SnapshotReader r, ReadOnlySpan<string> known) => (ValueKind)r.ReadByte() switch
    {
        ValueKind.Missing => Value.Missing,
        ValueKind.Null => Value.Null,
        ValueKind.String => Value.FromString(Text(r.ReadStringBytes(), known)),
        ValueKind.Json => Value.FromJson(Text(r.ReadStringBytes(), known)),
        ValueKind.Number => Value.FromNumber(r.ReadDouble()),
        ValueKind.Bool => Value.FromBool(r.ReadBoolean()),
        var kind => throw new InvalidDataException($"unknown value kind {(byte)kind}"),
    };
}
