using System.Text;

namespace ActorMta.Benchmarks.Outbound;

/// <summary>The queue both MTAs deliver: N single-recipient messages spread round-robin over D domains d0.bench ... d(D-1).bench.</summary>
public sealed record BenchQueue(int Messages, int Destinations, int Size)
{
    public const string Sender = "bench@client.bench.example";

    public static string Domain(int destination) => $"d{destination}.bench";

    /// <summary>Destination i is 127.0.0.(i+1) on the sink's port: the destination key is IP:port.</summary>
    public static string Address(int destination) => $"127.0.0.{destination + 1}";

    public string Recipient(int message) => $"u{message}@{Domain(message % Destinations)}";

    /// <summary>A plain text message of about <see cref="Size"/> bytes, CRLF line ends.</summary>
    public byte[] Body(int message)
    {
        var text = new StringBuilder()
            .Append($"From: {Sender}\r\nTo: {Recipient(message)}\r\nSubject: throughput {message}\r\n")
            .Append($"Message-ID: <bench-{message}@client.bench.example>\r\nDate: Sun, 29 Nov 2026 12:00:00 +0000\r\n\r\n");
        while (text.Length < Size - 2) text.Append("The quick brown fox jumps over the lazy dog.\r\n");
        return Encoding.ASCII.GetBytes(text.ToString());
    }
}
