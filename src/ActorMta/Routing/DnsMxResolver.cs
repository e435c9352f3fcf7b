using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using DnsClient;
using DnsClient.Protocol;

namespace ActorMta.Routing;

/// <summary>
/// DNS over DnsClient, with a small TTL-honouring cache of its own (DnsClient's cache is off, so the
/// <see cref="TimeProvider"/> alone decides expiry and tests can control it).
/// <list type="bullet">
/// <item>The cache is keyed by (name, type). A CNAME is kept under (name, CNAME) and is followed for
/// every type, up to <see cref="RoutingSettings.MaxCnameDepth"/> links; a loop or a longer chain is a
/// temporary failure (it is the remote side's configuration, and it may be fixed before the retry
/// limit bounces the message).</item>
/// <item>A positive answer lives for the smallest TTL of its RRset, clamped to
/// [<see cref="RoutingSettings.MinCacheTtl"/>, <see cref="RoutingSettings.MaxCacheTtl"/>]. NXDOMAIN
/// and "no data" live for min(SOA TTL, SOA MINIMUM) when the authority section has an SOA (RFC 2308),
/// else <see cref="RoutingSettings.DefaultNegativeTtl"/>. Failures (SERVFAIL, REFUSED, timeouts) are
/// not cached.</item>
/// <item>A and AAAA records in the additional section of an MX answer are cached for the MX names,
/// so resolving those names usually needs no further query.</item>
/// <item>Concurrent questions for the same (name, type) share one query.</item>
/// </list>
/// </summary>
public sealed class DnsMxResolver : IMxResolver
{
    /// <summary>RFC 2308 section 5 suggests not keeping negative answers longer than this.</summary>
    private static readonly TimeSpan MaxNegativeTtl = TimeSpan.FromHours(3);

    private readonly RoutingSettings _settings;
    private readonly TimeProvider _clock;
    private readonly LookupClient _client;
    private readonly ConcurrentDictionary<(string Name, QueryType Type), Entry> _cache = new();
    private readonly ConcurrentDictionary<(string Name, QueryType Type), Task<Outcome>> _inFlight = new();

    public DnsMxResolver(RoutingSettings settings, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _clock = clock ?? TimeProvider.System;
        LookupClientOptions options = settings.DnsServers.Count > 0
            ? new LookupClientOptions([.. settings.DnsServers.Select(ep => new NameServer(ep))])
            : new LookupClientOptions();
        options.UseCache = false;
        options.Timeout = settings.DnsTimeout;
        options.Retries = Math.Max(0, settings.DnsRetries);
        options.ThrowDnsErrors = false;
        options.UseTcpFallback = true;
        _client = new LookupClient(options);
    }

    private enum Kind
    {
        Records,
        Alias,
        NoData,
        NxDomain,
    }

    private long _cacheHits;
    private long _queriesSent;

    /// <summary>Entries currently cached (expired ones included until they are swept); for tests and metrics.</summary>
    public int CachedEntries => _cache.Count;

    /// <summary>(name, type) questions answered from the cache, CNAME links included.</summary>
    public long CacheHits => Interlocked.Read(ref _cacheHits);

    /// <summary>Queries sent to a DNS server (one per (name, type) however many callers waited for it).</summary>
    public long QueriesSent => Interlocked.Read(ref _queriesSent);

    public async Task<MxLookup> LookupAsync(string domain, CancellationToken ct)
    {
        string name = Normalize(domain);
        Resolution r = await ResolveAsync(name, QueryType.MX, ct).ConfigureAwait(false);
        if (r.Status != DnsStatus.Ok)
        {
            return new MxLookup(r.Status, r.CanonicalName, [], r.Error);
        }

        MxEntry[] entries = [.. r.Records.OfType<MxRecord>().Select(mx => new MxEntry(mx.Preference, Normalize(mx.Exchange.Value)))];
        return new MxLookup(DnsStatus.Ok, r.CanonicalName, entries);
    }

    public async Task<AddressLookup> ResolveAddressesAsync(string hostName, bool includeIPv6, CancellationToken ct)
    {
        string name = Normalize(hostName);
        Task<Resolution> v4 = ResolveAsync(name, QueryType.A, ct);
        Task<Resolution> v6 = includeIPv6 ? ResolveAsync(name, QueryType.AAAA, ct) : Task.FromResult(Resolution.Empty(name));
        Resolution a = await v4.ConfigureAwait(false);
        Resolution aaaa = await v6.ConfigureAwait(false);

        var addresses = new List<IPAddress>();
        addresses.AddRange(a.Records.OfType<AddressRecord>().Select(r => r.Address).Where(ip => ip.AddressFamily == AddressFamily.InterNetwork));
        addresses.AddRange(aaaa.Records.OfType<AddressRecord>().Select(r => r.Address).Where(ip => ip.AddressFamily == AddressFamily.InterNetworkV6));
        if (addresses.Count > 0)
        {
            return new AddressLookup(DnsStatus.Ok, a.CanonicalName, addresses);
        }

        if (a.Status == DnsStatus.TemporaryFailure || aaaa.Status == DnsStatus.TemporaryFailure)
        {
            string error = a.Status == DnsStatus.TemporaryFailure ? a.Error! : aaaa.Error!;
            return new AddressLookup(DnsStatus.TemporaryFailure, a.CanonicalName, [], error);
        }

        if (a.Status == DnsStatus.NxDomain)
        {
            return new AddressLookup(DnsStatus.NxDomain, a.CanonicalName, [], a.Error);
        }

        return new AddressLookup(DnsStatus.NoData, a.CanonicalName, [], $"{name} has no address records");
    }

    /// <summary>Lower case, no trailing dot, IDNA A-labels (so "bücher.example" is asked as "xn--bcher-kva.example").</summary>
    internal static string Normalize(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string n = name.Trim().TrimEnd('.');
        if (n.Length == 0)
        {
            return string.Empty;
        }

        if (!n.All(char.IsAscii))
        {
            try
            {
                n = new IdnMapping().GetAscii(n);
            }
            catch (ArgumentException)
            {
                // Left as it is: the query will fail and say so.
            }
        }

        return n.ToLowerInvariant();
    }

    /// <summary>Answers (name, type) from the cache and the network, following CNAMEs.</summary>
    private async Task<Resolution> ResolveAsync(string name, QueryType type, CancellationToken ct)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string current = name;
        for (int links = 0; ; links++)
        {
            if (!seen.Add(current))
            {
                return Resolution.Failed(current, $"CNAME loop at {current} while looking up {type} for {name}");
            }

            if (links > _settings.MaxCnameDepth)
            {
                return Resolution.Failed(current, $"CNAME chain longer than {_settings.MaxCnameDepth} while looking up {type} for {name}");
            }

            Entry? entry = Find(current, type);
            if (entry is not null)
            {
                Interlocked.Increment(ref _cacheHits);
            }
            else
            {
                Outcome outcome = await QueryOnceAsync(current, type, ct).ConfigureAwait(false);
                if (outcome.Error is not null)
                {
                    return Resolution.Failed(current, outcome.Error);
                }

                entry = outcome.Entry!;
            }

            switch (entry.Kind)
            {
                case Kind.Records:
                    return new Resolution(DnsStatus.Ok, current, entry.Records, null);
                case Kind.NoData:
                    return new Resolution(DnsStatus.NoData, current, [], $"{current} has no {type} records");
                case Kind.NxDomain:
                    return new Resolution(DnsStatus.NxDomain, current, [], $"{current} does not exist (NXDOMAIN)");
                default:
                    current = entry.Target!;
                    break;
            }
        }
    }

    private Entry? Find(string name, QueryType type)
    {
        DateTimeOffset now = _clock.GetUtcNow();
        foreach (var key in new[] { (name, type), (name, QueryType.CNAME) })
        {
            if (_cache.TryGetValue(key, out Entry? entry))
            {
                if (entry.Expires > now)
                {
                    return entry;
                }

                _cache.TryRemove(new KeyValuePair<(string, QueryType), Entry>(key, entry));
            }
        }

        return null;
    }

    /// <summary>One query on the wire, shared by everyone asking the same (name, type) at the same time.</summary>
    private Task<Outcome> QueryOnceAsync(string name, QueryType type, CancellationToken ct)
    {
        var key = (name, type);
        var mine = new TaskCompletionSource<Outcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<Outcome> shared = _inFlight.GetOrAdd(key, mine.Task);
        if (shared == mine.Task)
        {
            _ = RunQueryAsync(name, type, mine, key);
        }

        return shared.WaitAsync(ct);
    }

    private async Task RunQueryAsync(string name, QueryType type, TaskCompletionSource<Outcome> result, (string, QueryType) key)
    {
        try
        {
            // Not the caller's token: others may be waiting for this answer. The DNS timeout bounds it.
            Outcome outcome = await QueryAndCacheAsync(name, type).ConfigureAwait(false);
            result.TrySetResult(outcome);
        }
        catch (Exception ex)
        {
            result.TrySetResult(new Outcome(null, $"DNS lookup of {type} for {name} failed: {ex.Message}"));
        }
        finally
        {
            _inFlight.TryRemove(new KeyValuePair<(string, QueryType), Task<Outcome>>(key, result.Task));
        }
    }

    private async Task<Outcome> QueryAndCacheAsync(string name, QueryType type)
    {
        IDnsQueryResponse response;
        Interlocked.Increment(ref _queriesSent);
        try
        {
            response = await _client.QueryAsync(name, type, QueryClass.IN, CancellationToken.None).ConfigureAwait(false);
        }
        catch (DnsResponseException ex) when (ex.Code == DnsResponseCode.ConnectionTimeout)
        {
            return new Outcome(null, $"DNS timeout looking up {type} for {name}");
        }
        catch (DnsResponseException ex)
        {
            return new Outcome(null, $"DNS error looking up {type} for {name}: {ex.Code} {ex.Message}");
        }
        catch (Exception ex) when (ex is SocketException or IOException or TimeoutException or OperationCanceledException)
        {
            return new Outcome(null, $"DNS lookup of {type} for {name} failed: {ex.Message}");
        }

        DnsHeaderResponseCode rcode = response.Header.ResponseCode;
        if (rcode != DnsHeaderResponseCode.NoError && rcode != DnsHeaderResponseCode.NotExistentDomain)
        {
            string what = rcode switch
            {
                DnsHeaderResponseCode.ServerFailure => "SERVFAIL",
                DnsHeaderResponseCode.Refused => "REFUSED",
                DnsHeaderResponseCode.FormatError => "FORMERR",
                DnsHeaderResponseCode.NotImplemented => "NOTIMP",
                _ => rcode.ToString(),
            };
            return new Outcome(null, $"DNS server answered {what} for {type} {name}");
        }

        DateTimeOffset now = _clock.GetUtcNow();
        Entry? forName = null;
        void Store(string owner, QueryType key, Entry entry)
        {
            Put(owner, key, entry);
            if (owner == name)
            {
                forName = entry;
            }
        }

        // Walk the answer from the question name along CNAMEs found in the same answer.
        var answers = response.Answers;
        var walked = new HashSet<string>(StringComparer.Ordinal);
        string current = name;
        while (walked.Add(current))
        {
            DnsResourceRecord[] records = [.. answers.Where(r => Owner(r) == current && (QueryType)r.RecordType == type)];
            if (records.Length > 0)
            {
                Store(current, type, new Entry(Kind.Records, records, null, now + PositiveTtl(records)));
                break;
            }

            CNameRecord? alias = answers.OfType<CNameRecord>().FirstOrDefault(r => Owner(r) == current);
            if (alias is not null)
            {
                string target = Normalize(alias.CanonicalName.Value);
                Store(current, QueryType.CNAME, new Entry(Kind.Alias, [], target, now + PositiveTtl([alias])));
                current = target;
                continue;
            }

            // Nothing for `current`. The return code speaks of the end of the chain. A bare "no data"
            // after a CNAME is only trusted with an SOA: a server that did not chase the alias would
            // look the same, and then the caller asks for the target itself.
            SoaRecord? soa = response.Authorities.OfType<SoaRecord>().FirstOrDefault();
            DateTimeOffset negativeExpiry = now + NegativeTtl(soa);
            if (rcode == DnsHeaderResponseCode.NotExistentDomain)
            {
                Store(current, type, new Entry(Kind.NxDomain, [], null, negativeExpiry));
            }
            else if (current == name || soa is not null)
            {
                Store(current, type, new Entry(Kind.NoData, [], null, negativeExpiry));
            }

            break;
        }

        CacheAdditionals(response, now);
        return forName is null
            ? new Outcome(null, $"DNS answer for {type} {name} did not answer the question")
            : new Outcome(forName, null);
    }

    /// <summary>Glue for the MX names: A/AAAA in the additional section, when nothing fresher is cached.</summary>
    private void CacheAdditionals(IDnsQueryResponse response, DateTimeOffset now)
    {
        var mxNames = response.Answers.OfType<MxRecord>().Select(mx => Normalize(mx.Exchange.Value)).ToHashSet(StringComparer.Ordinal);
        foreach (var group in response.Additionals
                     .Where(r => r.RecordType is ResourceRecordType.A or ResourceRecordType.AAAA)
                     .GroupBy(r => (Name: Owner(r), Type: (QueryType)r.RecordType)))
        {
            if (!mxNames.Contains(group.Key.Name) || Find(group.Key.Name, group.Key.Type) is not null)
            {
                continue;
            }

            DnsResourceRecord[] records = [.. group];
            Put(group.Key.Name, group.Key.Type, new Entry(Kind.Records, records, null, now + PositiveTtl(records)));
        }
    }

    private void Put(string name, QueryType type, Entry entry)
    {
        if (_cache.Count >= _settings.MaxCacheEntries)
        {
            DateTimeOffset now = _clock.GetUtcNow();
            foreach (var pair in _cache)
            {
                if (pair.Value.Expires <= now)
                {
                    _cache.TryRemove(pair);
                }
            }

            if (_cache.Count >= _settings.MaxCacheEntries)
            {
                _cache.Clear();
            }
        }

        _cache[(name, type)] = entry;
    }

    private TimeSpan PositiveTtl(IEnumerable<DnsResourceRecord> records)
    {
        int seconds = records.Min(r => r.InitialTimeToLive);
        return Clamp(TimeSpan.FromSeconds(Math.Max(0, seconds)), _settings.MaxCacheTtl);
    }

    private TimeSpan NegativeTtl(SoaRecord? soa)
    {
        if (soa is null)
        {
            return _settings.DefaultNegativeTtl;
        }

        long seconds = Math.Min((long)Math.Max(0, soa.InitialTimeToLive), soa.Minimum);
        return Clamp(TimeSpan.FromSeconds(seconds), MaxNegativeTtl < _settings.MaxCacheTtl ? MaxNegativeTtl : _settings.MaxCacheTtl);
    }

    private TimeSpan Clamp(TimeSpan ttl, TimeSpan max)
        => ttl < _settings.MinCacheTtl ? _settings.MinCacheTtl : ttl > max ? max : ttl;

    private static string Owner(DnsResourceRecord record) => Normalize(record.DomainName.Value);

    private sealed record Entry(Kind Kind, IReadOnlyList<DnsResourceRecord> Records, string? Target, DateTimeOffset Expires);

    private sealed record Outcome(Entry? Entry, string? Error);

    private sealed record Resolution(DnsStatus Status, string CanonicalName, IReadOnlyList<DnsResourceRecord> Records, string? Error)
    {
        public static Resolution Empty(string name) => new(DnsStatus.NoData, name, [], null);

        public static Resolution Failed(string name, string error) => new(DnsStatus.TemporaryFailure, name, [], error);
    }
}
