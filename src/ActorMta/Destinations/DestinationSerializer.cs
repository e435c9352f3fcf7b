using System.Runtime.Serialization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using Akka.Serialization;

namespace ActorMta.Destinations;

/// <summary>
/// JSON for the destination events and snapshot, under stable string manifests (never CLR type
/// names). The JSON is written from private transfer types with fixed property names, so the
/// public records may be renamed or reshaped as long as the mapping here keeps the stored form.
/// Feature sets are stored as their Exim bit values.
/// </summary>
public sealed class DestinationSerializer : SerializerWithStringManifest
{
    /// <summary>Serializer id, stored in the journal's <c>identifier</c> column. Never change it.</summary>
    public const int SerializerId = 4310;

    public const string RecordWrittenManifest = "ehlo-record-v1";
    public const string RecordDeletedManifest = "ehlo-record-deleted-v1";
    public const string HostRetryManifest = "host-retry-v1";
    public const string SnapshotManifest = "destination-snapshot-v1";
    public const string ClearTextManifest = "tls-clear-until-v1";

    private static readonly JsonSerializerOptions Options = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public DestinationSerializer(ExtendedActorSystem system) : base(system) { }

    public override int Identifier => SerializerId;

    public override string Manifest(object o) => o switch
    {
        RecordWritten => RecordWrittenManifest,
        RecordDeleted => RecordDeletedManifest,
        HostRetryChanged => HostRetryManifest,
        DestinationSnapshot => SnapshotManifest,
        ClearTextRemembered => ClearTextManifest,
        _ => throw new ArgumentException($"{nameof(DestinationSerializer)} cannot serialize {o.GetType()}", nameof(o)),
    };

    public override byte[] ToBinary(object obj) => obj switch
    {
        RecordWritten e => JsonSerializer.SerializeToUtf8Bytes(new RecordWrittenDto { Record = RecordDto.From(e.Record) }, Options),
        RecordDeleted e => JsonSerializer.SerializeToUtf8Bytes(new RecordDeletedDto { Reason = e.Reason, At = e.At }, Options),
        HostRetryChanged e => JsonSerializer.SerializeToUtf8Bytes(new HostRetryChangedDto { Retry = RetryDto.From(e.Retry) }, Options),
        DestinationSnapshot s => JsonSerializer.SerializeToUtf8Bytes(
            new SnapshotDto { Record = s.Record is null ? null : RecordDto.From(s.Record), Retry = RetryDto.From(s.Retry), ClearTextUntil = s.ClearTextUntil }, Options),
        ClearTextRemembered e => JsonSerializer.SerializeToUtf8Bytes(new ClearTextDto { Until = e.Until, Reason = e.Reason }, Options),
        _ => throw new ArgumentException($"{nameof(DestinationSerializer)} cannot serialize {obj.GetType()}", nameof(obj)),
    };

    public override object FromBinary(byte[] bytes, string manifest) => manifest switch
    {
        RecordWrittenManifest => new RecordWritten(Read<RecordWrittenDto>(bytes, manifest).Record?.ToRecord()
                                                   ?? throw Corrupt(manifest, "record")),
        RecordDeletedManifest => Read<RecordDeletedDto>(bytes, manifest) is var d
            ? new RecordDeleted(d.Reason ?? "", d.At) : throw Corrupt(manifest, "body"),
        HostRetryManifest => new HostRetryChanged(Read<HostRetryChangedDto>(bytes, manifest).Retry?.ToRetry()),
        SnapshotManifest => Read<SnapshotDto>(bytes, manifest) is var s
            ? new DestinationSnapshot(s.Record?.ToRecord(), s.Retry?.ToRetry()) { ClearTextUntil = s.ClearTextUntil } : throw Corrupt(manifest, "body"),
        ClearTextManifest => Read<ClearTextDto>(bytes, manifest) is var c
            ? new ClearTextRemembered(c.Until, c.Reason ?? "") : throw Corrupt(manifest, "body"),
        _ => throw new SerializationException($"{nameof(DestinationSerializer)}: unknown manifest '{manifest}'"),
    };

    private static T Read<T>(byte[] bytes, string manifest) where T : class =>
        JsonSerializer.Deserialize<T>(bytes, Options) ?? throw Corrupt(manifest, "body");

    private static SerializationException Corrupt(string manifest, string what) =>
        new($"{nameof(DestinationSerializer)}: '{manifest}' without {what}");

    // ---- stored forms: property names are the contract ---------------------------------------

    private sealed class RecordWrittenDto
    {
        [JsonPropertyName("record")] public RecordDto? Record { get; set; }
    }

    private sealed class RecordDeletedDto
    {
        [JsonPropertyName("reason")] public string? Reason { get; set; }
        [JsonPropertyName("at")] public DateTimeOffset At { get; set; }
    }

    private sealed class HostRetryChangedDto
    {
        [JsonPropertyName("retry")] public RetryDto? Retry { get; set; }
    }

    private sealed class SnapshotDto
    {
        [JsonPropertyName("record")] public RecordDto? Record { get; set; }
        [JsonPropertyName("retry")] public RetryDto? Retry { get; set; }
        [JsonPropertyName("clearUntil")] public DateTimeOffset? ClearTextUntil { get; set; }
    }

    private sealed class ClearTextDto
    {
        [JsonPropertyName("until")] public DateTimeOffset Until { get; set; }
        [JsonPropertyName("reason")] public string? Reason { get; set; }
    }

    private sealed class RecordDto
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

    private sealed class RetryDto
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
}
