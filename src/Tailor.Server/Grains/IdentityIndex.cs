using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Tailor.Core.Identity;
using Tailor.Core.Profiles;
using Tailor.Storage;

namespace Tailor.Server.Grains;

/// <summary>
/// An audience's identity index: the profile each identifier belongs to, and each profile's identifiers.
/// It holds no managed references. Identifiers are keyed by <see cref="IdentifierHash"/>, and a
/// profile's identifiers are kept UTF-8 encoded in one native block (read back only for merges and
/// erasures). Held as strings, every identifier a call added was a young object written into the
/// index's old arrays. The next collections reached it through the card table and copied it twice,
/// and at a million customers the index was two million strings (docs/performance.md).
/// Used from the identity grain's turns only. The blocks are freed when replaced or removed, and
/// all of them when the index is finalized (the grain dropped or reset it).
/// </summary>
internal sealed unsafe class IdentityIndex(int capacity)
{
    private readonly ShardedDictionary<UInt128, Guid> _owners = new(capacity);
    /// <summary>Per profile: a block of the encoded length (4 bytes), then per identifier its key's and value's byte counts (4 bytes each) and bytes.</summary>
    private readonly ShardedDictionary<Guid, nint> _members = new(capacity);

    public bool TryGetProfile(Identifier identifier, out Guid profile) => TryGetProfile(IdentifierHash.Of(identifier), out profile);

    /// <summary>By the identifier's <see cref="IdentifierHash"/>, for a caller that has it already.</summary>
    public bool TryGetProfile(UInt128 hash, out Guid profile) => _owners.TryGetValue(hash, out profile);

    /// <summary>The identifier now belongs to <paramref name="profile"/> (which it did not before).</summary>
    public void Assign(Identifier identifier, Guid profile) => Assign(identifier, IdentifierHash.Of(identifier), profile);

    /// <inheritdoc cref="Assign(Identifier, Guid)"/>
    public void Assign(Identifier identifier, UInt128 hash, Guid profile)
    {
        _owners[hash] = profile;
        ref var block = ref _members.GetValueRefOrAddDefault(profile);
        block = Append(block, identifier);
    }

    /// <summary>If the identifier belongs to <paramref name="profile"/>, it no longer does.</summary>
    public void Unassign(Identifier identifier, Guid profile)
    {
        var hash = IdentifierHash.Of(identifier);
        if (!_owners.TryGetValue(hash, out var owner) || owner != profile) return;
        _owners.Remove(hash);
        ref var block = ref _members.GetValueRefOrNullRef(profile);
        if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref block)) return;
        var kept = Decode(block);
        if (!kept.Remove(identifier)) return;
        NativeMemory.Free((void*)block);
        block = 0;
        foreach (var id in kept) block = Append(block, id);
    }

    /// <summary>The identifier belongs to no profile.</summary>
    public void Remove(Identifier identifier) => _owners.Remove(IdentifierHash.Of(identifier));

    /// <summary>
    /// Takes the profile's list of identifiers away and returns it; which profile each belongs to is left
    /// for the caller to change (<see cref="Assign"/> or <see cref="Remove"/>).
    /// </summary>
    public List<Identifier> TakeMembers(Guid profile)
    {
        if (!_members.Remove(profile, out var block)) return [];
        var identifiers = Decode(block);
        NativeMemory.Free((void*)block);
        return identifiers;
    }

    private static nint Append(nint block, Identifier identifier)
    {
        var keyBytes = Encoding.UTF8.GetByteCount(identifier.Key);
        var valueBytes = Encoding.UTF8.GetByteCount(identifier.Value);
        var used = block == 0 ? sizeof(int) : *(int*)block;
        var length = used + 2 * sizeof(int) + keyBytes + valueBytes;
        var grown = (byte*)NativeMemory.Realloc((void*)block, (nuint)length);
        var entry = new Span<byte>(grown + used, length - used);
        BinaryPrimitives.WriteInt32LittleEndian(entry, keyBytes);
        BinaryPrimitives.WriteInt32LittleEndian(entry[sizeof(int)..], valueBytes);
        Encoding.UTF8.GetBytes(identifier.Key, entry[(2 * sizeof(int))..]);
        Encoding.UTF8.GetBytes(identifier.Value, entry[(2 * sizeof(int) + keyBytes)..]);
        *(int*)grown = length;
        return (nint)grown;
    }

    private static List<Identifier> Decode(nint block)
    {
        var identifiers = new List<Identifier>();
        var bytes = new ReadOnlySpan<byte>((byte*)block, *(int*)block)[sizeof(int)..];
        while (bytes.Length > 0)
        {
            var keyBytes = BinaryPrimitives.ReadInt32LittleEndian(bytes);
            var valueBytes = BinaryPrimitives.ReadInt32LittleEndian(bytes[sizeof(int)..]);
            bytes = bytes[(2 * sizeof(int))..];
            identifiers.Add(new Identifier(Encoding.UTF8.GetString(bytes[..keyBytes]), Encoding.UTF8.GetString(bytes.Slice(keyBytes, valueBytes))));
            bytes = bytes[(keyBytes + valueBytes)..];
        }
        return identifiers;
    }

    ~IdentityIndex()
    {
        foreach (var block in _members.Values) NativeMemory.Free((void*)block);
    }
}
