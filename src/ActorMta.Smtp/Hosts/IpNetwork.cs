using System.Net;
using System.Net.Sockets;

namespace ActorMta.Smtp;

/// <summary>An address block "address/prefix". IPv4-mapped IPv6 blocks are held as IPv4, so that
/// "::ffff:192.0.2.0/120" and "192.0.2.0/24" mean the same thing.</summary>
internal readonly struct IpNetwork
{
    private readonly byte[] _network;

    private IpNetwork(byte[] network, int prefixLength)
    {
        _network = network;
        PrefixLength = prefixLength;
    }

    public int PrefixLength { get; }

    public static bool TryParse(string text, out IpNetwork network)
    {
        network = default;
        int slash = text.IndexOf('/');
        ReadOnlySpan<char> addressText = slash < 0 ? text : text.AsSpan(0, slash);

        // IPAddress.TryParse also takes "10", "10.1" and "0x0a.0.0.1"; config must say what it means.
        if (addressText.Contains('%') || !IPAddress.TryParse(addressText, out IPAddress? address))
        {
            return false;
        }

        if (address.AddressFamily == AddressFamily.InterNetwork && !IsDottedQuad(addressText))
        {
            return false;
        }

        int bits = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        int prefix = bits;
        if (slash >= 0)
        {
            ReadOnlySpan<char> prefixText = text.AsSpan(slash + 1);
            if (prefixText.IsEmpty || prefixText.Length > 3 || prefixText.ContainsAnyExceptInRange('0', '9')
                || !int.TryParse(prefixText, out prefix) || prefix > bits)
            {
                return false;
            }
        }

        if (address.IsIPv4MappedToIPv6 && prefix >= 96)
        {
            address = address.MapToIPv4();
            prefix -= 96;
        }

        byte[] bytes = address.GetAddressBytes();

        // Host bits in "10.1.2.3/8" are ignored, as Exim does: the block is 10.0.0.0/8.
        Mask(bytes, prefix);
        network = new IpNetwork(bytes, prefix);
        return true;
    }

    /// <summary>True when <paramref name="address"/> (already unmapped by the caller) is in the block.</summary>
    public bool Contains(ReadOnlySpan<byte> address)
    {
        if (address.Length != _network.Length)
        {
            return false;
        }

        int whole = PrefixLength / 8;
        if (!address[..whole].SequenceEqual(_network.AsSpan(0, whole)))
        {
            return false;
        }

        int rest = PrefixLength % 8;
        if (rest == 0)
        {
            return true;
        }

        int mask = 0xFF << (8 - rest) & 0xFF;
        return (address[whole] & mask) == _network[whole];
    }

    private static void Mask(byte[] bytes, int prefix)
    {
        for (int i = 0; i < bytes.Length; i++)
        {
            int keep = Math.Clamp(prefix - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep) & 0xFF);
        }
    }

    private static bool IsDottedQuad(ReadOnlySpan<char> text)
    {
        int dots = 0;
        foreach (char c in text)
        {
            if (c == '.')
            {
                dots++;
            }
            else if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return dots == 3;
    }
}
