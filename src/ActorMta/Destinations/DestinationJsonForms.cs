using System.Text.Json.Serialization;

namespace ActorMta.Destinations;

// The JSON forms of an early-pipelining record and a host retry state, shared by the stored events
// (DestinationSerializer) and the messages between cluster nodes (DestinationWireSerializer).
// Property names are the contract: stored rows and other nodes' builds read them.

internal sealed class RecordDto
{
    [JsonPropertyName("clr")] public ushort Cleartext { get; set; }
    [JsonPropertyName("tls")] public ushort Tls { get; set; }
    [JsonPropertyName("clrAuth")] public string[]? CleartextAuth { get; set; }
    [JsonPropertyName("tlsAuth")] public string[]? TlsAuth { get; set; }
    [JsonPropertyName("limitMail")] public int LimitMail { get; set; }
    [JsonPropertyName("limitRcpt")] public int LimitRcpt { get; set; }
    [JsonPropertyName("limitRcptDomain")] public int LimitRcptDomain { get; set; }
    [JsonPropertyName("learnedAt")] public DateTimeOffset LearnedAt { get; set; }

    public static RecordDto From(EarlyPipeRecord r) => new()
    {
        Cleartext = (ushort)r.Cleartext,
        Tls = (ushort)r.Tls,
        CleartextAuth = [.. r.CleartextAuth],
        TlsAuth = [.. r.TlsAuth],
        LimitMail = r.Limits.Mail,
        LimitRcpt = r.Limits.Rcpt,
        LimitRcptDomain = r.Limits.RcptDomain,
        LearnedAt = r.LearnedAt,
    };

    public EarlyPipeRecord ToRecord() => new(
        (EhloFeatures)Cleartext,
        (EhloFeatures)Tls,
        CleartextAuth ?? [],
        TlsAuth ?? [],
        LimitMail == 0 && LimitRcpt == 0 && LimitRcptDomain == 0
            ? EhloLimits.None
            : new EhloLimits(LimitMail, LimitRcpt, LimitRcptDomain),
        LearnedAt);
}

internal sealed class RetryDto
{
    [JsonPropertyName("firstFailure")] public DateTimeOffset FirstFailure { get; set; }
    [JsonPropertyName("nextTry")] public DateTimeOffset NextTry { get; set; }
    [JsonPropertyName("failures")] public int Failures { get; set; }
    [JsonPropertyName("lastError")] public string? LastError { get; set; }

    public static RetryDto? From(HostRetry? r) => r is null ? null : new()
    {
        FirstFailure = r.FirstFailure,
        NextTry = r.NextTry,
        Failures = r.Failures,
        LastError = r.LastError,
    };

    public HostRetry ToRetry() => new(FirstFailure, NextTry, Failures, LastError ?? "");
}
