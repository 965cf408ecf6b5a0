using System.Buffers.Binary;
using System.Text;
using Microsoft.Data.Sqlite;

namespace Tailor.Storage.Sqlite;

/// <summary>
/// What one audience's pending rows change in the profile tables, read in the same read transaction
/// as the tables: a scan reads the tables through it, so it sees every committed change without
/// waiting for the write-behind (after a crash with a large backlog, that wait was most of the time
/// to serving). The latest pending change of a profile or identifier wins over its row in the table.
/// </summary>
internal sealed class PendingOverlay
{
    /// <summary>What a scan needs of the pending rows (decoding identifiers it does not need would cost most of the read).</summary>
    [Flags]
    public enum Parts
    {
        /// <summary>Profiles' latest changes and merges.</summary>
        Profiles = 1,
        /// <summary>Identifier changes (of one key name when <see cref="Read"/> is given one).</summary>
        Identities = 2,
        /// <summary>Lookup keys and merges.</summary>
        LookupKeys = 4,
    }

    /// <summary>Each pending profile's latest change (the log position of its snapshot), or <see cref="Removed"/> when merged away.</summary>
    public Dictionary<Guid, long> Profiles { get; } = [];

    /// <summary>Each pending identifier's latest owner, or null when it was evicted.</summary>
    public Dictionary<(string Key, string Value), Guid?> Identities { get; } = [];

    /// <summary>Lookup keys added by pending changes, with the profile they were added to.</summary>
    public List<(byte[] Key, Guid Profile)> LookupKeys { get; } = [];

    /// <summary>Pending merges: merged profile → the profile it went into (which may itself have been merged since).</summary>
    public Dictionary<Guid, Guid> Merges { get; } = [];

    public const long Removed = -1;

    /// <summary>Reads the scope's pending rows, in log order, within <paramref name="transaction"/>; of identifiers only those named <paramref name="key"/> when given.</summary>
    public static PendingOverlay Read(SqliteConnection connection, SqliteTransaction transaction, AudienceScope scope, Parts parts, string? key = null)
    {
        var overlay = new PendingOverlay();
        var names = new SharedNames();
        var onlyKey = key is null ? null : Encoding.UTF8.GetBytes(key);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT seq, profile_id, effects FROM pending_changes WHERE account_id = $a AND audience = $aud ORDER BY seq";
        command.Parameters.AddWithValue("$a", scope.AccountId);
        command.Parameters.AddWithValue("$aud", scope.Audience);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var profile = new Guid((byte[])reader[1], bigEndian: true);
            if ((parts & Parts.Profiles) != 0) overlay.Profiles[profile] = reader.GetInt64(0);
            if (!reader.IsDBNull(2)) overlay.Add(profile, (byte[])reader[2], parts, onlyKey, names);
        }
        return overlay;
    }

    private void Add(Guid profile, byte[] encoded, Parts parts, byte[]? onlyKey, SharedNames names)
    {
        var identities = (parts & Parts.Identities) != 0;
        var effects = new ChangeEffects.Reader(encoded);
        for (var n = effects.Count(); n > 0; n--)
        {
            var key = effects.Bytes();
            var value = effects.Bytes();
            var owner = effects.Id();
            if (identities && (onlyKey is null || key.SequenceEqual(onlyKey))) Identities[(names.Of(key), Encoding.UTF8.GetString(value))] = owner;
        }
        for (var n = effects.Count(); n > 0; n--)
        {
            var key = effects.Bytes();
            var value = effects.Bytes();
            if (identities && (onlyKey is null || key.SequenceEqual(onlyKey))) Identities[(names.Of(key), Encoding.UTF8.GetString(value))] = null;
        }
        for (var n = effects.Count(); n > 0; n--)
        {
            var merged = effects.Id();
            if ((parts & Parts.Profiles) != 0) Profiles[merged] = Removed;
            if ((parts & (Parts.Profiles | Parts.LookupKeys)) != 0) Merges[merged] = profile;
        }
        if ((parts & Parts.LookupKeys) == 0) return;
        for (var n = effects.Count(); n > 0; n--) LookupKeys.Add((effects.Bytes().ToArray(), profile));
    }

    /// <summary>The profile <paramref name="profile"/> became through the pending merges (itself when none).</summary>
    public Guid Survivor(Guid profile)
    {
        // A chain is as long as the merges made of it; each merge names a profile alive when it was made.
        for (var hops = 0; hops <= Merges.Count && Merges.TryGetValue(profile, out var into); hops++) profile = into;
        return profile;
    }

    /// <summary>A lookup key and the profile it was added to, as one comparable value (keys are 16 bytes).</summary>
    public static (UInt128, Guid) KeyOf(ReadOnlySpan<byte> key, Guid profile) =>
        (key.Length == 16 ? BinaryPrimitives.ReadUInt128BigEndian(key) : throw new InvalidDataException($"a lookup key of {key.Length} bytes"), profile);
}
