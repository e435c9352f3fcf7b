using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using System.Text.RegularExpressions;
using Akka.Actor;
using Akka.Event;
using ActorMta.Queue;
using ActorMta.Tests.Support;

namespace ActorMta.Tests.Inbound;

/// <summary>
/// Sessions driven by seeded random scripts over real sockets: commands right and wrong, with and
/// without parameters, DATA with stray dots, bare CR and LF and overlong lines, BDAT with sizes that
/// do not match what follows, binary noise, all cut into random pieces and pipelined or not. The
/// test knows no expected reply; it checks what must hold whatever the input: every reply is a
/// well-formed SMTP reply, no session actor fails, every message that got a 250 with an id is in a
/// maildir once and nothing else is, and the server still serves a plain client afterwards. Some
/// seeds run against a server offering STARTTLS, which most sessions take up (with commands
/// injected behind it in the same write half the time): nothing is written in the clear after the
/// 220, the handshake succeeds, and the injected command is never answered.
/// </summary>
public sealed class SessionFuzzTests
{
    private static readonly Regex ReplyLine = new(@"^[2-5][0-9][0-9][ -][^\r\n]*$", RegexOptions.CultureInvariant);

    /// <summary>Collects the actor system's Error events: a session that throws logs one.</summary>
    private sealed class ErrorCollector : ReceiveActor
    {
        public ErrorCollector(List<string> errors) => Receive<Error>(e => { lock (errors) errors.Add(e.ToString()); });
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(3, false)]
    [InlineData(4, false)]
    [InlineData(5, true)]
    [InlineData(6, true)]
    [InlineData(7, true)]
    public async Task Random_sessions_get_well_formed_replies_and_lose_or_duplicate_no_message(int seed, bool tls)
    {
        // With TLS the server offers STARTTLS, and the client takes it up when it is answered 220:
        // the rest of its script goes over TLS. Half the time commands ride in the same write as
        // the STARTTLS (plaintext injection, CVE-2011-0411): they must never be answered.
        using var certificates = tls ? new Tls.TlsFixture() : null;
        Func<ActorMta.Configuration.MtaSettings, ActorMta.Configuration.MtaSettings> withTls = certificates?.Settings() ?? (s => s);
        await using var mta = await TestMta.StartAsync(s => withTls(s) with
        {
            // Short timeouts: a session that declared a chunk longer than it sends waits for the rest.
            Smtp = s.Smtp with
            {
                MaxBadCommands = 20,
                MaxMessageSize = 64 * 1024,
                IdleTimeout = TimeSpan.FromSeconds(2),
                DataTimeout = TimeSpan.FromSeconds(2),
            },
        });
        var errors = new List<string>();
        var collector = mta.Node.System.ActorOf(Props.Create(() => new ErrorCollector(errors)));
        mta.Node.System.EventStream.Subscribe(collector, typeof(Error));

        var random = new Random(seed);
        var sessions = Enumerable.Range(0, 12).Select(i => RunAsync(mta, new Random(random.Next()), $"seed {seed} session {i}", tls)).ToList();
        var results = await Task.WhenAll(sessions);

        var accepted = results.SelectMany(r => r.Accepted).ToList();
        Assert.Equal(accepted.Count, accepted.Distinct().Count());
        if (tls) Assert.True(results.Sum(r => r.Upgrades) > 0, $"seed {seed}: no session got as far as TLS");
        // The server still serves a plain client.
        using (var plain = await mta.GreetedAsync())
        {
            await plain.SendAsync("MAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\nDATA\r\n");
            await plain.ReadRepliesAsync(3);
            await plain.SendAsync("Subject: after\r\n\r\nstill here\r\n.\r\n");
            var reply = await plain.ReadRepliesAsync(1);
            Assert.StartsWith("250 2.0.0 OK id=", reply);
            accepted.Add(Regex.Match(reply, @"id=(\S+)").Groups[1].Value);
        }

        // Every accepted message delivered once, nothing else; the queue drains.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (await mta.Node.Queue.Ask<int>(QueueManager.CountQueue.Instance, TimeSpan.FromSeconds(5)) > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the queue did not drain");
            await Task.Delay(50);
        }
        var received = mta.MainLogLines().Where(l => l.Contains(" <= ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]).ToList();
        Assert.Equal(accepted.Order(StringComparer.Ordinal), received.Order(StringComparer.Ordinal));
        var delivered = mta.MainLogLines().Where(l => l.Contains(" => ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]).ToList();
        Assert.Equal(accepted.Order(StringComparer.Ordinal), delivered.Order(StringComparer.Ordinal));
        Assert.Equal(accepted.Count, Directory.GetFiles(mta.MaildirNew("user")).Length);
        lock (errors) Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    private sealed record SessionResult(List<string> Accepted, int Upgrades);

    private static async Task<SessionResult> RunAsync(TestMta mta, Random random, string name, bool tls)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(mta.EndPoint);
        var replies = new Replies();
        await using var conversation = new Conversation(socket, replies);
        var reading = conversation.ReadAllAsync();
        var script = Script(random, tls);
        try
        {
            // The banner, however long a loaded machine takes: a STARTTLS sent before it would take
            // the banner's 220 for its own.
            await replies.AtLeastAsync(1, reading);
            await replies.SettledAsync(0);
            foreach (var (bytes, endsGroup) in script)
            {
                var piece = bytes;
                Task<bool>? upgrade = null;
                if (tls && !conversation.IsTls && IsStartTls(piece))
                {
                    // Its reply must be told from those before it: let them all arrive first.
                    await replies.QuietAsync();
                    if (random.Next(2) == 0) piece = [.. piece, .. Injected];
                    upgrade = conversation.ExpectStartTlsReply();
                }
                int before = replies.Finals;
                // Cut anywhere, but a STARTTLS that is to be taken up: what arrives after the server read
                // it is the TLS handshake's, so an injection must arrive with it.
                for (int at = 0; at < piece.Length;)
                {
                    int n = Math.Min(piece.Length - at, upgrade is null && random.Next(4) == 0 ? random.Next(1, 8) : piece.Length);
                    await conversation.SendAsync(piece.AsMemory(at, n));
                    at += n;
                }
                if (upgrade is not null)
                {
                    await conversation.AwaitStartTlsAsync(upgrade);
                    Assert.True(upgrade.IsCompleted, $"{name}: no reply to STARTTLS; replies:\n{replies}");
                    if (await upgrade)
                    {
                        // The first command over TLS. Had the injected VRFY been kept, its 252 would come first.
                        int atTls = replies.Finals;
                        await conversation.SendAsync("NOOP\r\n"u8.ToArray());
                        await replies.AtLeastAsync(atTls + 1, reading);
                        Assert.True(replies.FinalLine(atTls)?.StartsWith("250 ", StringComparison.Ordinal) == true,
                            $"{name}: the first reply over TLS is not NOOP's: {replies.FinalLine(atTls)}; replies:\n{replies}");
                    }
                    continue;
                }
                // A command that must end a pipelined group (RFC 2920) is mostly waited for, as a
                // client does; now and then not, as a client out of step (or a smuggler) does.
                if (endsGroup && random.Next(40) != 0) await replies.SettledAsync(before);
            }
            await conversation.SendAsync("QUIT\r\n"u8.ToArray());
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            // The server closed the connection (too many bad commands, a synchronization error): allowed.
        }
        // The server answers QUIT and closes, or has closed already.
        var ended = await Task.WhenAny(reading, Task.Delay(TimeSpan.FromSeconds(30)));
        Assert.True(ended == reading, $"{name}: the server neither closed nor answered QUIT; replies:\n{replies}");
        Assert.True(conversation.Violation is null, $"{name}: {conversation.Violation}; replies:\n{replies}");

        string all = replies.Text;
        Assert.StartsWith("220 ", all);
        var lines = all.Split("\r\n");
        Assert.Equal("", lines[^1]); // every reply ends with CRLF
        foreach (var line in lines[..^1])
        {
            Assert.True(ReplyLine.IsMatch(line) && line.Length <= 512, $"{name}: malformed reply line \"{line}\" in:\n{all}");
        }
        // The server closed the connection, after a reply that says why: QUIT's, a timeout or a
        // limit (421), a synchronization error (554).
        Assert.Matches(@"^(221|421|554) ", lines[^2]);
        var accepted = lines.Select(l => Regex.Match(l, @"^250 2\.0\.0 OK id=(\S+)")).Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();
        return new SessionResult(accepted, conversation.Upgrades);
    }

    /// <summary>Pipelined behind a STARTTLS in the same write: the server must discard it unanswered.</summary>
    private static readonly byte[] Injected = "VRFY injected\r\n"u8.ToArray();

    private static bool IsStartTls(byte[] piece) => piece.AsSpan().StartsWith("STARTTLS\r\n"u8);

    /// <summary>
    /// The client's side of the connection: what it writes goes to the socket, or to TLS once a
    /// STARTTLS was answered 220; what it reads goes to <see cref="Replies"/>. The reader does the
    /// handshake itself, right after the 220, so no byte is read in the clear past it.
    /// </summary>
    private sealed class Conversation(Socket socket, Replies replies) : IAsyncDisposable
    {
        private readonly NetworkStream _plain = new(socket, ownsSocket: false);
        private Stream _current = null!;
        private TaskCompletionSource<bool>? _startTls;
        private int _startTlsAfter;

        public bool IsTls => _current is SslStream;

        public int Upgrades { get; private set; }

        /// <summary>What the server did wrong at the TLS boundary, if anything.</summary>
        public string? Violation { get; private set; }

        /// <summary>
        /// Completes with true once TLS is up after a 220 that follows the replies so far; false when
        /// STARTTLS was refused. Its reply is not told by its place: a reply to an earlier command
        /// (a message's 250, after an fsync that took seconds on a loaded CI machine) may still come
        /// first, and taking that for STARTTLS's once left the 220 unheeded. Only STARTTLS gets a 220
        /// after the banner, so the first one is its; a refusal is known only by the silence after it.
        /// </summary>
        public Task<bool> ExpectStartTlsReply()
        {
            _startTlsAfter = replies.Finals;
            var pending = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _startTls, pending);
            return pending.Task;
        }

        /// <summary>Until STARTTLS's reply is known: a 220 (the reader completes it), or a refusal, taken
        /// to be a final reply after which nothing came for 3 s. At most 10 s.</summary>
        public async Task AwaitStartTlsAsync(Task<bool> upgrade)
        {
            var deadline = Environment.TickCount64 + 10_000;
            while (!upgrade.IsCompleted && Environment.TickCount64 < deadline)
            {
                await Task.WhenAny(upgrade, Task.Delay(50));
                if (replies.Finals > _startTlsAfter && replies.QuietFor >= 3000)
                    Interlocked.Exchange(ref _startTls, null)?.TrySetResult(false);
            }
        }

        public async Task SendAsync(ReadOnlyMemory<byte> bytes) => await (_current ?? _plain).WriteAsync(bytes);

        public async Task ReadAllAsync()
        {
            _current ??= _plain;
            var buffer = new byte[8192];
            try
            {
                int n;
                while ((n = await _current.ReadAsync(buffer)) > 0)
                {
                    replies.Add(Encoding.UTF8.GetString(buffer, 0, n));
                    if (Volatile.Read(ref _startTls) is null) continue;
                    string? reply = replies.FinalLinesFrom(_startTlsAfter).FirstOrDefault(l => l.StartsWith("220 ", StringComparison.Ordinal));
                    if (reply is null || Interlocked.Exchange(ref _startTls, null) is not { } startTls) continue;
                    if (!replies.Text.EndsWith(reply + "\r\n", StringComparison.Ordinal))
                    {
                        Violation = "the server wrote in the clear after its 220 to STARTTLS";
                        startTls.SetResult(false);
                        return;
                    }
                    var ssl = new SslStream(_plain, leaveInnerStreamOpen: true, (_, _, _, _) => true);
                    try
                    {
                        await ssl.AuthenticateAsClientAsync(TestMta.Hostname);
                    }
                    catch (Exception e) when (e is IOException or AuthenticationException)
                    {
                        Violation = $"the TLS handshake after 220 failed: {e.Message}";
                        startTls.SetResult(false);
                        return;
                    }
                    _current = ssl;
                    Upgrades++;
                    startTls.SetResult(true);
                }
            }
            catch (Exception e) when (e is SocketException or IOException)
            {
                // A reset after the server closed with unread input: the end, as a FIN is.
            }
            finally
            {
                _startTls?.TrySetResult(false);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_current is SslStream ssl) await ssl.DisposeAsync();
            await _plain.DisposeAsync();
        }
    }

    /// <summary>What the server said so far, and how many final reply lines that was.</summary>
    private sealed class Replies
    {
        private readonly StringBuilder _text = new();
        private int _finals;
        private long _lastAt;

        public int Finals => Volatile.Read(ref _finals);

        public string Text
        {
            get { lock (_text) return _text.ToString(); }
        }

        public void Add(string text)
        {
            lock (_text)
            {
                int lineStart = _text.Length;
                while (lineStart > 0 && _text[lineStart - 1] != '\n') lineStart--;
                _text.Append(text);
                for (int i = lineStart; i < _text.Length; i++)
                {
                    if (_text[i] != '\n') continue;
                    if (i - lineStart >= 4 && _text[lineStart + 3] == ' ') Interlocked.Increment(ref _finals);
                    lineStart = i + 1;
                }
            }
            Volatile.Write(ref _lastAt, Environment.TickCount64);
        }

        public override string ToString() => Text;

        /// <summary>The final line of reply number <paramref name="index"/> (0-based), if it came.</summary>
        public string? FinalLine(int index) => FinalLinesFrom(index).FirstOrDefault();

        /// <summary>The final lines of the replies from number <paramref name="index"/> (0-based) on.</summary>
        public IEnumerable<string> FinalLinesFrom(int index) =>
            Text.Split("\r\n").Where(line => line.Length >= 4 && line[3] == ' ').Skip(index);

        /// <summary>Milliseconds since the server last wrote.</summary>
        public long QuietFor => Environment.TickCount64 - Volatile.Read(ref _lastAt);

        /// <summary>Until <paramref name="finals"/> final replies came, the connection ended, or 10 s passed.</summary>
        public async Task AtLeastAsync(int finals, Task reading)
        {
            var deadline = Environment.TickCount64 + 10_000;
            while (Finals < finals && !reading.IsCompleted && Environment.TickCount64 < deadline) await Task.Delay(5);
        }

        /// <summary>Until nothing came for 200 ms (at most 3 s). Before a STARTTLS, whose reply is told
        /// by its place: with 50 ms, a CI machine loaded by other tests once delivered an earlier
        /// command's reply after the wait, it was taken for STARTTLS's, the 220 went unheeded and the
        /// session ended with it.</summary>
        public async Task QuietAsync()
        {
            var deadline = Environment.TickCount64 + 3000;
            while (Environment.TickCount64 < deadline && Environment.TickCount64 - Volatile.Read(ref _lastAt) < 200) await Task.Delay(5);
        }

        /// <summary>Until a final reply came after <paramref name="before"/> of them and nothing more for a moment (or 1 s: none may come).</summary>
        public async Task SettledAsync(int before)
        {
            var deadline = Environment.TickCount64 + 1000;
            while (Environment.TickCount64 < deadline && (Finals <= before || Environment.TickCount64 - Volatile.Read(ref _lastAt) < 30))
                await Task.Delay(5);
        }
    }

    private static readonly string[] Senders = ["<a@client.test>", "<>", "<bad", "a@client.test", "<a@[127.0.0.1]>", "<\"quoted local\"@client.test>", "<ü@client.test>", "<a@client.test> SIZE=100", "<a@client.test> SIZE=99999999", "<a@client.test> BODY=8BITMIME", "<a@client.test> BODY=BINARYMIME", "<a@client.test> SMTPUTF8", "<a@client.test> RET=HDRS ENVID=x+2Bz", "<a@client.test> FOO=bar", "<a@client.test> SIZE=", ""];

    private static readonly string[] Recipients = ["<user@test.example>", "<user@test.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;user@test.example", "<someone@elsewhere.example>", "<user@relay.example.invalid>", "<postmaster>", "<user@test.example", "<>", "<ü@test.example>", "<user@test.example> NOTIFY=NEVER,SUCCESS", "<@route:user@test.example>", ""];

    /// <summary>A session's input as pieces: each a command, a message's data, a chunk or noise.</summary>
    /// <param name="tls">The server offers STARTTLS: most sessions ask for it early.</param>
    private static List<(byte[] Bytes, bool EndsGroup)> Script(Random random, bool tls)
    {
        var pieces = new List<(byte[], bool)>();
        void Add(string text) => pieces.Add((Encoding.UTF8.GetBytes(text), EndsGroup(text)));
        string Pick(string[] items) => items[random.Next(items.Length)];

        if (random.Next(4) != 0) Add(random.Next(5) == 0 ? "HELO client.test\r\n" : "EHLO client.test\r\n");
        if (tls && random.Next(3) != 0) Add("STARTTLS\r\n");
        int steps = random.Next(5, 40);
        for (int i = 0; i < steps; i++)
        {
            switch (random.Next(20))
            {
                case 0 or 1: Add($"MAIL FROM:{Pick(Senders)}\r\n"); break;
                case 2 or 3: Add($"RCPT TO:{Pick(Recipients)}\r\n"); break;
                case 4: Add("DATA\r\n"); Add(Body(random) + ".\r\n"); break;
                case 5:
                    {
                        // A chunk whose declared size may or may not match what follows.
                        string body = Body(random);
                        int declared = random.Next(3) == 0 ? random.Next(0, 200) : Encoding.UTF8.GetByteCount(body);
                        Add($"BDAT {declared}{(random.Next(2) == 0 ? " LAST" : "")}\r\n{body}");
                        break;
                    }
                case 6: Add(Pick(["RSET\r\n", "NOOP\r\n", "VRFY user\r\n", "HELP\r\n", "EXPN list\r\n", "TURN\r\n"])); break;
                case 7: Add(Pick(["EHLO again.test\r\n", "HELO\r\n", "EHLO\r\n", "STARTTLS\r\n", "AUTH PLAIN AGFAYg==\r\n", "AUTH FOO\r\n"])); break;
                case 8: Add(Pick(["mail from:<a@client.test>\r\n", "MAIL FROM: <a@client.test>\r\n", "MAIL\r\n", "RCPT\r\n", "DATA extra\r\n", "BDAT\r\n", "BDAT -1\r\n", "BDAT 99999999999999999999\r\n", "BDAT 5 LAST junk\r\n"])); break;
                case 9 when random.Next(3) == 0: pieces.Add((Noise(random), true)); break;
                case 10 when random.Next(3) == 0: Add(new string('A', random.Next(500, 3000)) + "\r\n"); break;
                case 11 when random.Next(3) == 0: Add(Pick(["\r\n", "\n", "\r", " \r\n", "NOOP\n", "NOOP\rNOOP\r\n"])); break;
                default:
                    // A well-formed transaction (with a body as odd as the others), so that messages are stored.
                    Add("RSET\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\nDATA\r\n");
                    Add(Body(random) + ".\r\n");
                    break;
            }
        }
        return pieces;
    }

    /// <summary>RFC 2920: MAIL, RCPT and RSET may be followed at once; the rest (EHLO, DATA, NOOP...,
    /// a message's data, junk) is waited for, as a pipelining client waits.</summary>
    private static bool EndsGroup(string text)
    {
        string last = text.TrimEnd('\r', '\n');
        last = last[(last.LastIndexOf('\n') + 1)..];
        return last.Split(' ', ':')[0].ToUpperInvariant() is not ("MAIL" or "RCPT" or "RSET");
    }

    private static string Body(Random random)
    {
        var body = new StringBuilder("Subject: fuzz\r\n\r\n");
        int lines = random.Next(0, 12);
        for (int i = 0; i < lines; i++)
        {
            body.Append(random.Next(12) switch
            {
                0 => ".",
                1 => "..",
                2 => ".\n.",
                3 => "bare\nLF",
                4 => "lone\rCR",
                5 => new string('x', random.Next(990, 1100)),
                6 => "\u00e9t\u00e9 8bit",
                7 => "\r\n.\r",
                8 => "QUIT",
                _ => "line " + i,
            });
            body.Append("\r\n");
        }
        return body.ToString();
    }

    private static byte[] Noise(Random random)
    {
        var bytes = new byte[random.Next(1, 64)];
        random.NextBytes(bytes);
        return bytes;
    }
}
