using System.Buffers;
using System.Text;
using ActorMta.Smtp;
using BenchmarkDotNet.Attributes;

namespace ActorMta.Benchmarks.Micro;

/// <summary>
/// Parsing one <c>RCPT TO:&lt;user@example.com&gt;</c> line. Baseline: the obvious string-based
/// parse (decode the line, check the verb, cut out the path, split the address), which is what
/// the span-based <see cref="CommandParser"/> has to beat.
/// </summary>
[MemoryDiagnoser]
public class CommandParsingBenchmarks
{
    private static readonly byte[] Line = "RCPT TO:<user@example.com>"u8.ToArray();

    [Benchmark(Baseline = true)]
    public (string, string)? StringSplit()
    {
        var text = Encoding.ASCII.GetString(Line);
        if (!text.StartsWith("RCPT TO:", StringComparison.OrdinalIgnoreCase)) return null;
        var open = text.IndexOf('<');
        var close = text.IndexOf('>', open + 1);
        if (open < 0 || close < 0) return null;
        var parts = text[(open + 1)..close].Split('@');
        return parts.Length == 2 ? (parts[0], parts[1]) : null;
    }

    [Benchmark]
    public ParseResult CommandParserParse() => CommandParser.Parse(Line);
}

/// <summary>
/// Decoding the DATA content of a 300-byte message (dot-stuffed line, terminator) into a buffer.
/// Baseline: string search for the terminator and a replace of the dot-stuffing.
/// </summary>
[MemoryDiagnoser]
public class DataDecodingBenchmarks
{
    private static readonly byte[] Input = BuildMessage(300);

    private readonly ArrayBufferWriter<byte> _output = new(1024);
    private readonly DataDecoder _decoder = new(maxSize: 1 << 20, maxLineLength: 1000, normalize: false);

    [Benchmark(Baseline = true)]
    public int StringReplace()
    {
        var text = Encoding.ASCII.GetString(Input);
        var end = text.IndexOf("\r\n.\r\n", StringComparison.Ordinal);
        var body = text[..(end + 2)].Replace("\r\n..", "\r\n.", StringComparison.Ordinal);
        return Encoding.ASCII.GetBytes(body).Length;
    }

    [Benchmark]
    public int DataDecoderDecode()
    {
        _output.ResetWrittenCount();
        _decoder.Reset(maxSize: 1 << 20, maxLineLength: 1000, normalize: false);
        _decoder.Decode(Input, _output, out var consumed);
        return consumed + _output.WrittenCount;
    }

    /// <summary>Header, a dot-stuffed line and text lines up to <paramref name="size"/> octets, then CRLF.CRLF.</summary>
    private static byte[] BuildMessage(int size)
    {
        var sb = new StringBuilder();
        sb.Append("From: a@client.test\r\nTo: user@example.com\r\nSubject: benchmark\r\n\r\n..a line that began with a dot\r\n");
        while (sb.Length < size - 2)
        {
            var left = size - 2 - sb.Length;
            sb.Append(new string('x', Math.Max(0, Math.Min(70, left - 2)))).Append("\r\n");
        }
        sb.Append(".\r\n");
        return Encoding.ASCII.GetBytes(sb.ToString());
    }
}
