using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace ActorMta.Routing;

/// <summary>
/// Next-hop decisions for one recipient domain. First match wins: a local domain is a
/// <see cref="LocalRoute"/>; a domain in a smarthost route goes to that route's hosts in order; any
/// other domain is routed by its MX records (RFC 5321 section 5.1, RFC 7505):
/// <list type="number">
/// <item>NXDOMAIN is a permanent failure (550 5.1.2); SERVFAIL, REFUSED, a timeout or a CNAME loop a
/// temporary one (451 4.4.3).</item>
/// <item>A single MX "." with preference 0 is a null MX: 556 5.1.10, permanent. A "." among other MX
/// records is ignored.</item>
/// <item>No MX records but the name exists: the domain's own addresses at preference 0 (implicit MX);
/// no addresses either is permanent (550 5.1.2).</item>
/// <item>An MX whose exchange is an address literal ("192.0.2.1", "[192.0.2.1]") is ignored.</item>
/// <item>MX records are sorted by preference, equal preferences shuffled; each name is resolved to its
/// IPv4 and (when IPv6 is usable) IPv6 addresses, IPv4 first unless <see cref="RoutingSettings.PreferIPv6"/>.
/// A name without addresses is skipped.</item>
/// <item>An MX host with an address of ours (<see cref="RoutingSettings.LocalAddresses"/>, loopback, or
/// the unspecified address) is "ourselves": it and every MX of equal or higher preference are
/// dropped. If that leaves nothing, mail would loop: permanent 550 5.4.6.</item>
/// <item>If no host is left with an address: temporary 451 4.4.4 (451 4.4.3 when a lookup failed).</item>
/// </list>
/// A recipient domain that is an address literal ("[192.0.2.1]") is routed to that address
/// (route "ipliteral"), unless the address is ours.
/// </summary>
public sealed class Router
{
    /// <summary>Exim's router name for MX routing, used as <see cref="RemoteRoute.RouteName"/>.</summary>
    public const string DnsLookupRouteName = "dnslookup";

    /// <summary>Route name for recipient domains that are address literals.</summary>
    public const string IpLiteralRouteName = "ipliteral";

    private readonly RoutingSettings _settings;
    private readonly IMxResolver _resolver;
    private readonly Random _random;
    private readonly (SmarthostRoute Route, SmarthostHost[] Hosts)[] _smarthosts;
    private readonly Lazy<bool> _useIPv6;

    public Router(RoutingSettings settings, IMxResolver resolver)
        : this(settings, resolver, null)
    {
    }

    /// <param name="random">Shuffles MX hosts of equal preference; a seeded one makes tests repeatable.</param>
    public Router(RoutingSettings settings, IMxResolver resolver, Random? random)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(resolver);
        _settings = settings;
        _resolver = resolver;
        _random = random ?? Random.Shared;
        if (settings.DefaultPort is <= 0 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(settings), settings.DefaultPort, "DefaultPort must be 1 to 65535.");
        }

        foreach (SmarthostRoute route in settings.Smarthosts)
        {
            if (string.IsNullOrWhiteSpace(route.Name) || route.Hosts.Count == 0)
            {
                throw new FormatException($"Smarthost route '{route.Name}' needs a name and at least one host.");
            }
        }

        _smarthosts = [.. settings.Smarthosts.Select(r => (r, r.Hosts.Select(h => SmarthostHost.Parse(r.Name, h)).ToArray()))];
        _useIPv6 = new Lazy<bool>(() => settings.UseIPv6 ?? HasGlobalIPv6());
    }

    /// <summary>Whether AAAA records are looked up and IPv6 hops returned.</summary>
    public bool UsesIPv6 => _useIPv6.Value;

    public async Task<RouteDecision> RouteAsync(string domain, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(domain);
        string trimmed = domain.Trim().TrimEnd('.');
        if (trimmed.Length == 0)
        {
            return new RouteFailed(true, 550, "5.1.2", "empty domain");
        }

        if (trimmed.StartsWith('['))
        {
            return RouteIpLiteral(trimmed);
        }

        string ascii = DnsMxResolver.Normalize(trimmed);
        if (_settings.LocalDomains.Contains(trimmed) || _settings.LocalDomains.Contains(ascii))
        {
            return new LocalRoute();
        }

        foreach (var (route, hosts) in _smarthosts)
        {
            if (route.Domains.Contains(trimmed) || route.Domains.Contains(ascii))
            {
                return await RouteSmarthostAsync(route, hosts, ct).ConfigureAwait(false);
            }
        }

        return await RouteMxAsync(ascii, ct).ConfigureAwait(false);
    }

    private RouteDecision RouteIpLiteral(string literal)
    {
        string inner = literal.EndsWith(']') ? literal[1..^1] : literal[1..];
        if (inner.StartsWith("IPv6:", StringComparison.OrdinalIgnoreCase))
        {
            inner = inner[5..];
        }

        if (!IPAddress.TryParse(inner, out IPAddress? address))
        {
            return new RouteFailed(true, 550, "5.1.2", $"invalid address literal {literal}");
        }

        if (IsOurs(address, includeLoopback: true))
        {
            return new RouteFailed(true, 550, "5.4.6", $"{literal}: address literal is this host: mail loops back to myself");
        }

        return new RemoteRoute(IpLiteralRouteName, [new NextHop(literal, address, _settings.DefaultPort, 0)]);
    }

    private async Task<RouteDecision> RouteSmarthostAsync(SmarthostRoute route, SmarthostHost[] hosts, CancellationToken ct)
    {
        Task<AddressLookup>[] lookups = [.. hosts.Select(h => h.Literal is { } ip
            ? Task.FromResult(new AddressLookup(DnsStatus.Ok, h.Name, [ip]))
            : _resolver.ResolveAddressesAsync(h.Name, UsesIPv6, ct))];
        await Task.WhenAll(lookups).ConfigureAwait(false);

        var hops = new List<NextHop>();
        var problems = new List<string>();
        for (int i = 0; i < hosts.Length; i++)
        {
            SmarthostHost host = hosts[i];
            AddressLookup found = await lookups[i].ConfigureAwait(false);
            int port = host.Port ?? _settings.DefaultPort;
            if (found.Status != DnsStatus.Ok)
            {
                problems.Add(found.Error ?? $"{host.Name}: {found.Status}");
                continue;
            }

            foreach (IPAddress address in Order(found.Addresses))
            {
                // Ourselves on our own port would loop; another port (a filter, a test sink) is fine.
                if (port == _settings.DefaultPort && IsOurs(address, includeLoopback: false))
                {
                    problems.Add($"{host.Name} [{address}] is this host");
                    continue;
                }

                if (!hops.Any(h => h.Address.Equals(address) && h.Port == port))
                {
                    hops.Add(new NextHop(host.Name, address, port, i));
                }
            }
        }

        return hops.Count > 0
            ? new RemoteRoute(route.Name, hops) { Auth = route.Auth }
            : new RouteFailed(false, 451, "4.4.4", $"smarthost route {route.Name}: no host has a usable address ({string.Join("; ", problems)})");
    }

    private async Task<RouteDecision> RouteMxAsync(string domain, CancellationToken ct)
    {
        MxLookup mx = await _resolver.LookupAsync(domain, ct).ConfigureAwait(false);
        switch (mx.Status)
        {
            case DnsStatus.NxDomain:
                return new RouteFailed(true, 550, "5.1.2", $"domain not found: {domain}");
            case DnsStatus.TemporaryFailure:
                return new RouteFailed(false, 451, "4.4.3", mx.Error ?? $"temporary DNS failure looking up MX for {domain}");
            case DnsStatus.NoData:
                return await RouteImplicitMxAsync(domain, ct).ConfigureAwait(false);
        }

        IReadOnlyList<MxEntry> records = mx.Records;
        if (records.Count == 1 && records[0].Exchange.Length == 0 && records[0].Preference == 0)
        {
            return new RouteFailed(true, 556, "5.1.10", "Recipient address has null MX");
        }

        var notes = new List<string>();
        var usable = new List<MxEntry>();
        foreach (MxEntry record in records)
        {
            if (record.Exchange.Length == 0)
            {
                notes.Add($"null MX among other MX records ignored");
            }
            else if (IsAddressLiteral(record.Exchange))
            {
                notes.Add($"MX record points to IP address {record.Exchange} (ignored)");
            }
            else if (!usable.Any(u => u.Exchange == record.Exchange))
            {
                usable.Add(record);
            }
        }

        if (usable.Count == 0)
        {
            return records.All(r => r.Exchange.Length == 0)
                ? new RouteFailed(true, 556, "5.1.10", "Recipient address has null MX")
                : new RouteFailed(true, 550, "5.4.4", $"no usable MX record for {domain}: {string.Join("; ", notes)}");
        }

        List<MxEntry> ordered = Shuffle(usable);
        AddressLookup[] lookups = await Task.WhenAll(ordered.Select(r => _resolver.ResolveAddressesAsync(r.Exchange, UsesIPv6, ct))).ConfigureAwait(false);
        var hosts = new List<(MxEntry Mx, AddressLookup Found)>();
        for (int i = 0; i < ordered.Count; i++)
        {
            hosts.Add((ordered[i], lookups[i]));
        }

        return Finish(domain, hosts, notes);
    }

    private async Task<RouteDecision> RouteImplicitMxAsync(string domain, CancellationToken ct)
    {
        AddressLookup found = await _resolver.ResolveAddressesAsync(domain, UsesIPv6, ct).ConfigureAwait(false);
        switch (found.Status)
        {
            case DnsStatus.NxDomain:
                return new RouteFailed(true, 550, "5.1.2", $"domain not found: {domain}");
            case DnsStatus.NoData:
                return new RouteFailed(true, 550, "5.1.2", $"{domain} has no MX and no address records");
            case DnsStatus.TemporaryFailure:
                return new RouteFailed(false, 451, "4.4.3", found.Error ?? $"temporary DNS failure looking up addresses for {domain}");
        }

        return Finish(domain, [(new MxEntry(0, domain), found)], []);
    }

    /// <summary>Drops ourselves and what ranks below us, then lays out the hops.</summary>
    private RouteDecision Finish(string domain, List<(MxEntry Mx, AddressLookup Found)> hosts, List<string> notes)
    {
        int? ourPreference = null;
        foreach (var (mx, found) in hosts)
        {
            if (found.Status == DnsStatus.Ok && found.Addresses.Any(a => IsOurs(a, includeLoopback: true)))
            {
                ourPreference = ourPreference is { } p ? Math.Min(p, mx.Preference) : mx.Preference;
            }
        }

        if (ourPreference is { } ours)
        {
            hosts = [.. hosts.Where(h => h.Mx.Preference < ours)];
            notes.Add($"MX records of preference {ours} and higher dropped: they point at this host");
        }

        var hops = new List<NextHop>();
        bool temporary = false;
        foreach (var (mx, found) in hosts)
        {
            if (found.Status != DnsStatus.Ok)
            {
                temporary |= found.Status == DnsStatus.TemporaryFailure;
                notes.Add(found.Error ?? $"{mx.Exchange}: {found.Status}");
                continue;
            }

            foreach (IPAddress address in Order(found.Addresses))
            {
                if (!hops.Any(h => h.Address.Equals(address)))
                {
                    hops.Add(new NextHop(mx.Exchange, address, _settings.DefaultPort, mx.Preference));
                }
            }
        }

        if (hops.Count > 0)
        {
            return new RemoteRoute(DnsLookupRouteName, hops);
        }

        string detail = notes.Count > 0 ? $" ({string.Join("; ", notes)})" : string.Empty;
        if (temporary)
        {
            return new RouteFailed(false, 451, "4.4.3", $"temporary DNS failure resolving the MX hosts of {domain}{detail}");
        }

        if (ourPreference is not null)
        {
            return new RouteFailed(true, 550, "5.4.6", $"lowest numbered MX record points to local host: mail for {domain} loops back to myself");
        }

        return new RouteFailed(false, 451, "4.4.4", $"no MX host of {domain} has an address{detail}");
    }

    /// <summary>By preference, equal preferences in random order (RFC 5321 section 5.1).</summary>
    private List<MxEntry> Shuffle(List<MxEntry> records)
    {
        var result = new List<MxEntry>(records.Count);
        foreach (var group in records.GroupBy(r => r.Preference).OrderBy(g => g.Key))
        {
            MxEntry[] same = [.. group];
            lock (_random)
            {
                _random.Shuffle(same);
            }

            result.AddRange(same);
        }

        return result;
    }

    private IEnumerable<IPAddress> Order(IReadOnlyList<IPAddress> addresses)
    {
        IEnumerable<IPAddress> v4 = addresses.Where(a => a.AddressFamily == AddressFamily.InterNetwork);
        IEnumerable<IPAddress> v6 = UsesIPv6 ? addresses.Where(a => a.AddressFamily == AddressFamily.InterNetworkV6) : [];
        return _settings.PreferIPv6 ? v6.Concat(v4) : v4.Concat(v6);
    }

    private bool IsOurs(IPAddress address, bool includeLoopback)
    {
        IPAddress a = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        if (includeLoopback && (IPAddress.IsLoopback(a) || a.Equals(IPAddress.Any) || a.Equals(IPAddress.IPv6Any)))
        {
            return true;
        }

        return _settings.LocalAddresses.Any(l => (l.IsIPv4MappedToIPv6 ? l.MapToIPv4() : l).Equals(a));
    }

    /// <summary>"192.0.2.1", "[192.0.2.1]", "[IPv6:2001:db8::1]", "2001:db8::1": not a host name.</summary>
    internal static bool IsAddressLiteral(string exchange)
    {
        if (exchange.StartsWith('[') || exchange.Contains(':'))
        {
            return true;
        }

        string[] labels = exchange.Split('.');
        return labels.Length == 4 && labels.All(l => l.Length is > 0 and <= 3 && l.All(char.IsAsciiDigit) && int.Parse(l, System.Globalization.CultureInfo.InvariantCulture) <= 255);
    }

    private static bool HasGlobalIPv6()
    {
        try
        {
            return NetworkInterface.GetAllNetworkInterfaces()
                .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
                .SelectMany(n => n.GetIPProperties().UnicastAddresses)
                .Select(u => u.Address)
                .Any(a => a.AddressFamily == AddressFamily.InterNetworkV6 && !IPAddress.IsLoopback(a) && !a.IsIPv6LinkLocal
                          && !a.IsIPv6SiteLocal && !a.IsIPv6UniqueLocal && !a.IsIPv4MappedToIPv6 && !a.IsIPv6Teredo);
        }
        catch (NetworkInformationException)
        {
            return false;
        }
    }

    /// <summary>One entry of <see cref="SmarthostRoute.Hosts"/>, parsed once at start-up.</summary>
    private sealed record SmarthostHost(string Name, IPAddress? Literal, int? Port)
    {
        public static SmarthostHost Parse(string route, string text)
        {
            string item = text.Trim();
            string host = item;
            string? portText = null;
            if (item.StartsWith('['))
            {
                int close = item.IndexOf(']', StringComparison.Ordinal);
                if (close < 0)
                {
                    throw Bad(route, text);
                }

                host = item[1..close];
                string rest = item[(close + 1)..];
                if (rest.Length > 0)
                {
                    portText = rest.StartsWith(':') ? rest[1..] : throw Bad(route, text);
                }

                if (host.StartsWith("IPv6:", StringComparison.OrdinalIgnoreCase))
                {
                    host = host[5..];
                }

                return IPAddress.TryParse(host, out IPAddress? bracketed)
                    ? new SmarthostHost(host, bracketed, ParsePort(route, text, portText))
                    : throw Bad(route, text);
            }

            int colons = item.Count(c => c == ':');
            if (colons == 1)
            {
                int colon = item.IndexOf(':', StringComparison.Ordinal);
                host = item[..colon];
                portText = item[(colon + 1)..];
            }
            else if (colons > 1)
            {
                // A bare IPv6 literal, without a port.
                return IPAddress.TryParse(item, out IPAddress? v6) && v6.AddressFamily == AddressFamily.InterNetworkV6
                    ? new SmarthostHost(item, v6, null)
                    : throw Bad(route, text);
            }

            host = host.TrimEnd('.');
            if (host.Length == 0 || host.Any(c => char.IsWhiteSpace(c) || c is '[' or ']' or '/' or '@'))
            {
                throw Bad(route, text);
            }

            int? port = ParsePort(route, text, portText);
            if (IsAddressLiteral(host))
            {
                return IPAddress.TryParse(host, out IPAddress? v4) ? new SmarthostHost(host, v4, port) : throw Bad(route, text);
            }

            return new SmarthostHost(host.ToLowerInvariant(), null, port);
        }

        private static int? ParsePort(string route, string text, string? portText)
        {
            if (portText is null)
            {
                return null;
            }

            return int.TryParse(portText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int port) && port is > 0 and <= 65535
                ? port
                : throw Bad(route, text);
        }

        private static FormatException Bad(string route, string text)
            => new($"Smarthost route '{route}': host '{text}' is not \"name\", \"name:port\", an IPv4 address with optional \":port\" or \"[IPv6]\" with optional \":port\".");
    }
}
