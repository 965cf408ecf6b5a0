using System.Net;

namespace Tailor.Core.Configuration;

/// <summary>An IP allow-list entry (IPv4 or IPv6 CIDR). IPv4-mapped IPv6 client addresses match IPv4 entries.</summary>
public readonly record struct IpNetwork(IPNetwork Network)
{
    public bool Contains(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6 && Network.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
            address = address.MapToIPv4();
        return Network.Contains(address);
    }

    public override string ToString() => Network.ToString();

    internal static IPAddress Truncate(IPAddress address, int prefix)
    {
        var bytes = address.GetAddressBytes();
        for (var i = 0; i < bytes.Length; i++)
        {
            var keep = Math.Clamp(prefix - i * 8, 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep));
        }
        return new IPAddress(bytes);
    }
}
