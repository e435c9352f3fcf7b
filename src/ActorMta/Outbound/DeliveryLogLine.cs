using System.Globalization;
using ActorMta.Spool;

namespace ActorMta.Outbound;

/// <summary>Exim-format main-log lines for remote deliveries (<c>=&gt;</c>, <c>==</c>, <c>**</c>).</summary>
public static class DeliveryLogLine
{
    /// <summary>
    /// One line per recipient. A message sent over a connection that an earlier message already
    /// used gets a <c>*</c> after the host's address and port, as Exim marks continued connections.
    /// </summary>
    public static string Format(Envelope envelope, RecipientOutcome outcome)
    {
        var recipient = envelope.Recipients[outcome.RecipientIndex].Address;
        var facts = outcome.Connection;
        var host = facts is null ? "" : $" R={facts.RouteName} T=remote_smtp H={facts.HostName} [{facts.Address}]:{facts.Port}{(facts.MessageOnConnection > 1 ? "*" : "")}";
        return outcome.Status switch
        {
            DeliveryStatus.Delivered =>
                $"{envelope.MessageId} => {recipient}{host}{Flags(facts)} C=\"{Quote(outcome.Reply?.ToString() ?? outcome.Text)}\" DT={Seconds(facts)}",
            DeliveryStatus.Deferred => $"{envelope.MessageId} == {recipient}{host} defer: {outcome.Text}",
            _ => $"{envelope.MessageId} ** {recipient}{host}: {outcome.Text}",
        };
    }

    /// <summary><c>TFO</c>/<c>TFO*</c>, <c>X=</c> and <c>CV=</c>, <c>A=</c>, then <c>L</c>/<c>L*</c>, then <c>K</c>, in Exim's order.</summary>
    private static string Flags(ConnectionFacts? facts)
    {
        if (facts is null) return "";
        var tfo = facts.FastOpen ? " TFO*" : "";
        var tls = facts.Tls is null ? "" : $" X={facts.Tls} CV={(facts.CertificateVerified ? "yes" : "no")}";
        var auth = facts.Auth is null ? "" : $" A={facts.Auth}";
        var pipelining = facts.EarlyPipelined ? " L*" : facts.PipeliningUsed ? " L" : "";
        var chunking = facts.ChunkingUsed ? " K" : "";
        return tfo + tls + auth + pipelining + chunking;
    }

    private static string Seconds(ConnectionFacts? facts) =>
        facts is null ? "0s" : facts.DeliveryTime.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + "s";

    private static string Quote(string text) => text.Replace("\\", "\\\\").Replace("\"", "\\\"");
}
