using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using ARSoft.Tools.Net;
using ARSoft.Tools.Net.Dns;

namespace ActorMta.Tests.Routing;

/// <summary>What the fake server does for a name instead of answering normally.</summary>
public enum FakeDnsFailure
{
    ServFail,
    Refused,

    /// <summary>Answers only after <see cref="FakeDnsServer.SlowAnswerDelay"/>, too late for the client.</summary>
    Timeout,
}

/// <summary>
/// A DNS server on 127.0.0.1 (UDP and TCP, one free port) answering from a table the test fills,
/// like a recursive resolver would: CNAMEs chased within the answer, A/AAAA glue for MX names in the
/// additional section, NXDOMAIN for names without any record, an SOA in the authority section of
/// negative answers when one is set. Counts the queries per (name, type).
/// Kept in its own file: ARSoft.Tools.Net and DnsClient both define ARecord, MxRecord and so on.
/// </summary>
public sealed class FakeDnsServer : IDisposable
{
    private readonly DnsServer _server;
    private readonly object _gate = new();
    private readonly List<(string Name, RecordType Type, Func<DnsRecordBase> Make)> _records = [];
    private readonly Dictionary<string, FakeDnsFailure> _failures = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, (int Ttl, int Minimum)> _soas = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.OrdinalIgnoreCase);

    private FakeDnsServer(DnsServer server, IPEndPoint endPoint)
    {
        _server = server;
        EndPoint = endPoint;
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>When false, behaves like a server that returns a CNAME without chasing it.</summary>
    public bool ChaseCnames { get; set; } = true;

    /// <summary>When false, MX answers carry no A/AAAA glue.</summary>
    public bool IncludeAdditionals { get; set; } = true;

    /// <summary>Delay before every answer (to make concurrent queries overlap).</summary>
    public TimeSpan AnswerDelay { get; set; } = TimeSpan.Zero;

    /// <summary>How late a <see cref="FakeDnsFailure.Timeout"/> name is answered.</summary>
    public TimeSpan SlowAnswerDelay { get; set; } = TimeSpan.FromSeconds(5);

    public int TotalQueries => _counts.Values.Sum();

    public static FakeDnsServer Start()
    {
        for (int attempt = 0; ; attempt++)
        {
            var endPoint = new IPEndPoint(IPAddress.Loopback, FreePort());
            var server = new DnsServer(new UdpServerTransport(endPoint, 2000), new TcpServerTransport(endPoint, 2000, 10000));
            var fake = new FakeDnsServer(server, endPoint);
            server.QueryReceived += fake.OnQueryAsync;
            try
            {
                server.Start();
                fake.WaitUntilAnswering();
                return fake;
            }
            catch (SocketException) when (attempt < 5)
            {
                server.Stop();
            }
        }
    }

    public FakeDnsServer Mx(string name, int preference, string exchange, int ttl = 300)
        => Add(name, RecordType.Mx, () => new MxRecord(Parse(name), ttl, (ushort)preference, exchange == "." ? DomainName.Root : Parse(exchange)));

    public FakeDnsServer A(string name, string address, int ttl = 300)
        => Add(name, RecordType.A, () => new ARecord(Parse(name), ttl, IPAddress.Parse(address)));

    public FakeDnsServer Aaaa(string name, string address, int ttl = 300)
        => Add(name, RecordType.Aaaa, () => new AaaaRecord(Parse(name), ttl, IPAddress.Parse(address)));

    public FakeDnsServer Cname(string name, string target, int ttl = 300)
        => Add(name, RecordType.CName, () => new CNameRecord(Parse(name), ttl, Parse(target)));

    /// <summary>A TXT record: makes the name exist without any MX, A or AAAA.</summary>
    public FakeDnsServer Txt(string name, string text = "v=spf1 -all", int ttl = 300)
        => Add(name, RecordType.Txt, () => new TxtRecord(Parse(name), ttl, text));

    /// <summary>Negative answers for <paramref name="name"/> carry an SOA with this TTL and MINIMUM.</summary>
    public FakeDnsServer Soa(string name, int ttl, int minimum)
    {
        lock (_gate)
        {
            _soas[Key(name)] = (ttl, minimum);
        }

        return this;
    }

    public FakeDnsServer Fail(string name, FakeDnsFailure failure)
    {
        lock (_gate)
        {
            _failures[Key(name)] = failure;
        }

        return this;
    }

    public FakeDnsServer Heal(string name)
    {
        lock (_gate)
        {
            _failures.Remove(Key(name));
        }

        return this;
    }

    /// <summary>Removes every record of <paramref name="name"/>.</summary>
    public FakeDnsServer Remove(string name)
    {
        lock (_gate)
        {
            _records.RemoveAll(r => r.Name == Key(name));
        }

        return this;
    }

    /// <summary>Queries received for (name, type); type as "MX", "A", "AAAA", "CNAME".</summary>
    public int Queries(string name, string type) => _counts.GetValueOrDefault($"{Key(name)}/{type.ToUpperInvariant()}");

    public void Dispose()
    {
        try
        {
            _server.Stop();
        }
        catch (AggregateException)
        {
            // ARSoft's Stop surfaces its own cancelled listener tasks.
        }
    }

    private FakeDnsServer Add(string name, RecordType type, Func<DnsRecordBase> make)
    {
        lock (_gate)
        {
            _records.Add((Key(name), type, make));
        }

        return this;
    }

    private async Task OnQueryAsync(object sender, QueryReceivedEventArgs e)
    {
        if (e.Query is not DnsMessage query || query.Questions.Count != 1)
        {
            return;
        }

        DnsQuestion question = query.Questions[0];
        string qname = Key(question.Name.ToString());
        _counts.AddOrUpdate($"{qname}/{question.RecordType.ToString().ToUpperInvariant()}", 1, (_, n) => n + 1);
        if (AnswerDelay > TimeSpan.Zero)
        {
            await Task.Delay(AnswerDelay);
        }

        DnsMessage response = query.CreateResponseInstance();
        response.IsRecursionAllowed = true;
        FakeDnsFailure? failure = FailureFor(qname);
        if (failure == FakeDnsFailure.Timeout)
        {
            await Task.Delay(SlowAnswerDelay);
        }

        if (failure is FakeDnsFailure.ServFail or FakeDnsFailure.Timeout)
        {
            response.ReturnCode = ReturnCode.ServerFailure;
            e.Response = response;
            return;
        }

        if (failure == FakeDnsFailure.Refused)
        {
            response.ReturnCode = ReturnCode.Refused;
            e.Response = response;
            return;
        }

        lock (_gate)
        {
            Answer(response, qname, question.RecordType);
        }

        e.Response = response;
    }

    private void Answer(DnsMessage response, string qname, RecordType type)
    {
        var visited = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        string current = qname;
        while (visited.Add(current))
        {
            var matching = _records.Where(r => r.Name == current && r.Type == type).ToList();
            if (matching.Count > 0)
            {
                foreach (var record in matching)
                {
                    response.AnswerRecords.Add(record.Make());
                }

                if (type == RecordType.Mx && IncludeAdditionals)
                {
                    AddGlue(response, matching.Select(m => ((MxRecord)m.Make()).ExchangeDomainName));
                }

                response.ReturnCode = ReturnCode.NoError;
                return;
            }

            var alias = _records.FirstOrDefault(r => r.Name == current && r.Type == RecordType.CName);
            if (alias.Make is not null)
            {
                var cname = (CNameRecord)alias.Make();
                response.AnswerRecords.Add(cname);
                if (!ChaseCnames)
                {
                    response.ReturnCode = ReturnCode.NoError;
                    return;
                }

                current = Key(cname.CanonicalName.ToString());
                continue;
            }

            bool exists = _records.Any(r => r.Name == current);
            response.ReturnCode = exists ? ReturnCode.NoError : ReturnCode.NxDomain;
            if (_soas.TryGetValue(current, out var soa))
            {
                response.AuthorityRecords.Add(new SoaRecord(Parse(current), soa.Ttl, Parse("ns." + current), Parse("hostmaster." + current), 1, 3600, 600, 86400, soa.Minimum));
            }

            return;
        }

        // A CNAME loop: what we have so far, as some resolvers do.
        response.ReturnCode = ReturnCode.NoError;
    }

    private void AddGlue(DnsMessage response, IEnumerable<DomainName> names)
    {
        foreach (DomainName name in names)
        {
            string key = Key(name.ToString());
            foreach (var record in _records.Where(r => r.Name == key && r.Type is RecordType.A or RecordType.Aaaa))
            {
                response.AdditionalRecords.Add(record.Make());
            }
        }
    }

    private FakeDnsFailure? FailureFor(string name)
    {
        lock (_gate)
        {
            return _failures.TryGetValue(name, out FakeDnsFailure f) ? f : null;
        }
    }

    /// <summary>Start() binds in the background: a query sent too early is lost. Probe until one is answered.</summary>
    private void WaitUntilAnswering()
    {
        // Header: id 0x4242, RD; one question: "probe." type A class IN.
        byte[] query = [0x42, 0x42, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 5, (byte)'p', (byte)'r', (byte)'o', (byte)'b', (byte)'e', 0, 0x00, 0x01, 0x00, 0x01];
        using var udp = new UdpClient(AddressFamily.InterNetwork);
        udp.Client.ReceiveTimeout = 100;
        for (int attempt = 0; attempt < 50; attempt++)
        {
            udp.Send(query, query.Length, EndPoint);
            try
            {
                IPEndPoint? from = null;
                if (udp.Receive(ref from).Length > 0)
                {
                    break;
                }
            }
            catch (SocketException)
            {
                // Not yet listening.
            }
        }

        _counts.Clear();
    }

    private static DomainName Parse(string name) => DomainName.Parse(name.TrimEnd('.'));

    private static string Key(string name) => name.TrimEnd('.').ToLowerInvariant();

    /// <summary>A port free for both UDP and TCP on loopback right now.</summary>
    private static int FreePort()
    {
        for (int i = 0; ; i++)
        {
            using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            int port = ((IPEndPoint)udp.LocalEndPoint!).Port;
            try
            {
                using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                tcp.Bind(new IPEndPoint(IPAddress.Loopback, port));
                return port;
            }
            catch (SocketException) when (i < 20)
            {
            }
        }
    }
}
