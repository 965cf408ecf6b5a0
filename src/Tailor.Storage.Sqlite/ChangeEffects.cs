namespace Tailor.Storage.Sqlite;

/// <summary>
/// What a change does besides replacing its profile's snapshot (identifiers mapped and unmapped,
/// profiles merged, lookup keys added), encoded for its <c>pending_changes</c> row. Most changes
/// have none and store NULL; the encoding is read back only when a restart finds changes that were
/// not yet written behind.
/// </summary>
internal static class ChangeEffects
{
    private const byte Version = 1;

    public static bool Any(WriteItem item) =>
        item.IdentitiesUpserted.Count > 0 || item.IdentitiesDeleted.Count > 0 || item.MergedProfiles.Count > 0 || item.LookupKeys.Count > 0;

    /// <summary>The item's effects (call only when <see cref="Any"/>): counts, then strings as BinaryWriter writes them, ids as 16 big-endian bytes.</summary>
    public static byte[] Encode(WriteItem item)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream))
        {
            writer.Write(Version);
            writer.Write7BitEncodedInt(item.IdentitiesUpserted.Count);
            foreach (var identity in item.IdentitiesUpserted)
            {
                writer.Write(identity.Key);
                writer.Write(identity.Value);
                writer.Write(identity.ProfileId.ToByteArray(bigEndian: true));
            }
            writer.Write7BitEncodedInt(item.IdentitiesDeleted.Count);
            foreach (var (key, value) in item.IdentitiesDeleted)
            {
                writer.Write(key);
                writer.Write(value);
            }
            writer.Write7BitEncodedInt(item.MergedProfiles.Count);
            foreach (var merged in item.MergedProfiles) writer.Write(merged.ToByteArray(bigEndian: true));
            writer.Write7BitEncodedInt(item.LookupKeys.Count);
            foreach (var key in item.LookupKeys)
            {
                writer.Write7BitEncodedInt(key.Length);
                writer.Write(key);
            }
        }
        return stream.ToArray();
    }

    /// <summary>
    /// A change read back from its row, as the write item it was committed as, without its event (the log
    /// holds it) or its snapshot (the row does, and <see cref="PendingChanges"/> keeps only its position).
    /// </summary>
    public static WriteItem Decode(AudienceScope scope, Guid profileId, byte[]? effects)
    {
        if (effects is null) return new WriteItem { Scope = scope, Body = null, ProfileId = profileId, Snapshot = ReadOnlyMemory<byte>.Empty };
        using var reader = new BinaryReader(new MemoryStream(effects));
        var version = reader.ReadByte();
        if (version != Version) throw new InvalidDataException($"pending change of profile {profileId}: effects version {version}, this build reads {Version}");
        var upserted = new IdentityRecord[reader.Read7BitEncodedInt()];
        for (var i = 0; i < upserted.Length; i++) upserted[i] = new IdentityRecord(reader.ReadString(), reader.ReadString(), ReadId(reader));
        var deleted = new (string, string)[reader.Read7BitEncodedInt()];
        for (var i = 0; i < deleted.Length; i++) deleted[i] = (reader.ReadString(), reader.ReadString());
        var merged = new Guid[reader.Read7BitEncodedInt()];
        for (var i = 0; i < merged.Length; i++) merged[i] = ReadId(reader);
        var keys = new byte[reader.Read7BitEncodedInt()][];
        for (var i = 0; i < keys.Length; i++) keys[i] = reader.ReadBytes(reader.Read7BitEncodedInt());
        return new WriteItem
        {
            Scope = scope,
            Body = null,
            ProfileId = profileId,
            Snapshot = ReadOnlyMemory<byte>.Empty,
            IdentitiesUpserted = upserted,
            IdentitiesDeleted = deleted,
            MergedProfiles = merged,
            LookupKeys = keys,
        };
    }

    private static Guid ReadId(BinaryReader reader) => new(reader.ReadBytes(16), bigEndian: true);
}
