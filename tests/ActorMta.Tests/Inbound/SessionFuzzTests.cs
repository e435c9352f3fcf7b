using System.Net.Sockets;
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
/// maildir once and nothing else is, and the server still serves a plain client afterwards.
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
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task Random_sessions_get_well_formed_replies_and_lose_or_duplicate_no_message(int seed)
    {
        await using var mta = await TestMta.StartAsync(s => s with
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
        var sessions = Enumerable.Range(0, 12).Select(i => RunAsync(mta, new Random(random.Next()), $"seed {seed} session {i}")).ToList();
        var results = await Task.WhenAll(sessions);

        var accepted = results.SelectMany(r => r.Accepted).ToList();
        Assert.Equal(accepted.Count, accepted.Distinct().Count());
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

    private sealed record SessionResult(List<string> Accepted);

    private static async Task<SessionResult> RunAsync(TestMta mta, Random random, string name)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(mta.EndPoint);
        var replies = new Replies();
        var reading = ReadAllAsync(socket, replies);
        var script = Script(random);
        try
        {
            await replies.SettledAsync(0);
            foreach (var (piece, endsGroup) in script)
            {
                int before = replies.Finals;
                // Cut anywhere.
                for (int at = 0; at < piece.Length;)
                {
                    int n = Math.Min(piece.Length - at, random.Next(4) == 0 ? random.Next(1, 8) : piece.Length);
                    await socket.SendAsync(piece.AsMemory(at, n), SocketFlags.None);
                    at += n;
                }
                // A command that must end a pipelined group (RFC 2920) is mostly waited for, as a
                // client does; now and then not, as a client out of step (or a smuggler) does.
                if (endsGroup && random.Next(40) != 0) await replies.SettledAsync(before);
            }
            await socket.SendAsync("QUIT\r\n"u8.ToArray(), SocketFlags.None);
        }
        catch (SocketException)
        {
            // The server closed the connection (too many bad commands, a synchronization error): allowed.
        }
        // The server answers QUIT and closes, or has closed already.
        var done = await Task.WhenAny(reading, Task.Delay(TimeSpan.FromSeconds(30)));
        Assert.True(done == reading, $"{name}: the server neither closed nor answered QUIT; replies:\n{replies}");

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
        return new SessionResult(accepted);
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

        /// <summary>Until a final reply came after <paramref name="before"/> of them and nothing more for a moment (or 1 s: none may come).</summary>
        public async Task SettledAsync(int before)
        {
            var deadline = Environment.TickCount64 + 1000;
            while (Environment.TickCount64 < deadline && (Finals <= before || Environment.TickCount64 - Volatile.Read(ref _lastAt) < 30))
                await Task.Delay(5);
        }
    }

    private static async Task ReadAllAsync(Socket socket, Replies replies)
    {
        var buffer = new byte[8192];
        try
        {
            int n;
            while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None)) > 0) replies.Add(Encoding.UTF8.GetString(buffer, 0, n));
        }
        catch (SocketException)
        {
            // A reset after the server closed with unread input: the end, as a FIN is.
        }
    }

    private static readonly string[] Senders = ["<a@client.test>", "<>", "<bad", "a@client.test", "<a@[127.0.0.1]>", "<\"quoted local\"@client.test>", "<ü@client.test>", "<a@client.test> SIZE=100", "<a@client.test> SIZE=99999999", "<a@client.test> BODY=8BITMIME", "<a@client.test> BODY=BINARYMIME", "<a@client.test> SMTPUTF8", "<a@client.test> RET=HDRS ENVID=x+2Bz", "<a@client.test> FOO=bar", "<a@client.test> SIZE=", ""];

    private static readonly string[] Recipients = ["<user@test.example>", "<user@test.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;user@test.example", "<someone@elsewhere.example>", "<user@relay.example.invalid>", "<postmaster>", "<user@test.example", "<>", "<ü@test.example>", "<user@test.example> NOTIFY=NEVER,SUCCESS", "<@route:user@test.example>", ""];

    /// <summary>A session's input as pieces: each a command, a message's data, a chunk or noise.</summary>
    private static List<(byte[] Bytes, bool EndsGroup)> Script(Random random)
    {
        var pieces = new List<(byte[], bool)>();
        void Add(string text) => pieces.Add((Encoding.UTF8.GetBytes(text), EndsGroup(text)));
        string Pick(string[] items) => items[random.Next(items.Length)];

        if (random.Next(4) != 0) Add(random.Next(5) == 0 ? "HELO client.test\r\n" : "EHLO client.test\r\n");
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
