
namespace ActorMta.Interop.Tests.Support;

/// <summary>Checks that a delivered maildir file is the transmitted message plus the receiver's own headers.</summary>
public static class MessageCompare
{
    /// <summary>Header fields a receiving MTA may put in front of the message it got.</summary>
    private static readonly HashSet<string> ReceiverHeaders =
        new(StringComparer.OrdinalIgnoreCase) { "Return-Path", "Delivered-To", "Envelope-To", "Received" };

    /// <summary>
    /// Asserts that <paramref name="deliveredFile"/> ends with exactly <paramref name="transmitted"/>
    /// (line ends compared as LF), and that what precedes it is only receiver trace headers with
    /// exactly one <c>Received:</c> (the receiver's own) and one <c>Return-Path:</c>.
    /// </summary>
    public static void AssertDeliveredAsTransmitted(string deliveredFile, string transmitted)
    {
        var delivered = File.ReadAllText(deliveredFile).Replace("\r\n", "\n");
        transmitted = transmitted.Replace("\r\n", "\n");
        Assert.True(delivered.EndsWith(transmitted, StringComparison.Ordinal),
            $"delivered message does not end with the transmitted one.\n--- transmitted:\n{transmitted}\n--- delivered:\n{delivered}");

        var added = delivered[..^transmitted.Length];
        var fields = HeaderFieldNames(added);
        Assert.All(fields, f => Assert.Contains(f, ReceiverHeaders));
        Assert.Single(fields, f => f.Equals("Received", StringComparison.OrdinalIgnoreCase));
        Assert.Single(fields, f => f.Equals("Return-Path", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Field names of an unfolded header block (continuation lines start with space or tab).</summary>
    private static List<string> HeaderFieldNames(string block)
    {
        var names = new List<string>();
        foreach (var line in block.Split('\n'))
        {
            if (line.Length == 0) continue;
            if (line[0] is ' ' or '\t')
            {
                Assert.NotEmpty(names);
                continue;
            }
            var colon = line.IndexOf(':');
            Assert.True(colon > 0, $"not a header field: {line}");
            names.Add(line[..colon]);
        }
        return names;
    }
}
