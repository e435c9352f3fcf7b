using System.Globalization;
using System.Text.Json.Nodes;
using ActorMta.Destinations;

namespace ActorMta.Control;

/// <summary>Destination states (<see cref="ListDestinations"/>) as JSON: the wire format of <c>destinations</c> and <c>actormta destinations --json</c>.</summary>
public static class DestinationListing
{
    public static JsonObject ToJson(DestinationState s)
    {
        JsonObject? retry = s.Retry is { } r
            ? new JsonObject
            {
                ["first-failure"] = Time(r.FirstFailure),
                ["next-try"] = Time(r.NextTry),
                ["failures"] = r.Failures,
                ["last-error"] = r.LastError,
            }
            : null;
        JsonObject? record = s.Record is { } e
            ? new JsonObject
            {
                ["learned"] = Time(e.LearnedAt),
                ["cleartext"] = Names(e.Cleartext),
                ["tls"] = Names(e.Tls),
                ["auth"] = new JsonArray([.. e.CleartextAuth.Select(a => (JsonNode?)a)]),
                ["tls-auth"] = new JsonArray([.. e.TlsAuth.Select(a => (JsonNode?)a)]),
                ["limits"] = new JsonObject { ["mailmax"] = e.Limits.Mail, ["rcptmax"] = e.Limits.Rcpt, ["rcptdomainmax"] = e.Limits.RcptDomain },
            }
            : null;
        return new JsonObject
        {
            ["destination"] = s.Key.ToString(),
            ["connections"] = s.LeasesInUse,
            ["in-memory"] = s.InMemory,
            ["early-pipelining"] = record,
            ["retry"] = retry,
        };
    }

    /// <summary>EHLO keywords of a feature set, in Exim's bit order ("PIPELINING", "PIPECONNECT", ...).</summary>
    private static JsonArray Names(EhloFeatures features)
    {
        var names = new JsonArray();
        foreach (var flag in Enum.GetValues<EhloFeatures>())
        {
            if (flag != EhloFeatures.None && features.HasFlag(flag)) names.Add(Keyword(flag));
        }
        return names;
    }

    private static string Keyword(EhloFeatures flag) => flag switch
    {
        EhloFeatures.StartTls => "STARTTLS",
        EhloFeatures.IgnoreQuota => "IGNOREQUOTA",
        EhloFeatures.Prdr => "PRDR",
        EhloFeatures.SmtpUtf8 => "SMTPUTF8",
        EhloFeatures.Dsn => "DSN",
        EhloFeatures.Pipelining => "PIPELINING",
        EhloFeatures.Size => "SIZE",
        EhloFeatures.Chunking => "CHUNKING",
        EhloFeatures.PipeConnect => "PIPECONNECT",
        EhloFeatures.EightBitMime => "8BITMIME",
        _ => flag.ToString().ToUpperInvariant(),
    };

    private static string Time(DateTimeOffset t) => t.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);
}
