using System.Runtime.Serialization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using Akka.Serialization;

namespace ActorMta.Destinations;

/// <summary>
/// JSON for the messages between delivery agents and sessions on one node and destinations on
/// another (a cluster, <see cref="ShardedDestinations"/>), under stable string manifests. Akka's
/// default would write CLR type names and could not write an <see cref="System.Net.IPAddress"/>;
/// with names of our own, nodes of two builds can talk during a rolling upgrade as long as the
/// forms here keep their meaning. One transfer type carries every message: each uses its fields.
/// On one node nothing is serialized, so this costs nothing there.
/// </summary>
public sealed class DestinationWireSerializer : SerializerWithStringManifest
{
    /// <summary>Serializer id. Never change it: nodes of another build know it by this number.</summary>
    public const int SerializerId = 4311;

    private static readonly JsonSerializerOptions Options = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault,
    };

    public DestinationWireSerializer(ExtendedActorSystem system) : base(system) { }

    public override int Identifier => SerializerId;

    public override string Manifest(object o) => o switch
    {
        AcquireLease => "acquire-lease-v1",
        ReleaseLease => "release-lease-v1",
        EhloLearned => "ehlo-learned-v1",
        EarlyAttemptFailed => "early-failed-v1",
        TlsFailed => "tls-failed-v1",
        HostFailed => "host-failed-v1",
        HostSucceeded => "host-succeeded-v1",
        GetDestinationState => "get-state-v1",
        LeaseGranted => "lease-granted-v1",
        LeaseRefused => "lease-refused-v1",
        DestinationState => "state-v1",
        _ => throw new ArgumentException($"{nameof(DestinationWireSerializer)} cannot serialize {o.GetType()}", nameof(o)),
    };

    public override byte[] ToBinary(object obj)
    {
        WireDto dto = obj switch
        {
            AcquireLease m => new() { Key = m.Key.EntityId, Session = m.SessionId },
            ReleaseLease m => new() { Key = m.Key.EntityId, Session = m.SessionId },
            EhloLearned m => new()
            {
                Key = m.Key.EntityId,
                Tls = m.Tls,
                Features = (ushort)m.Features,
                Auth = [.. m.Auth],
                Limits = m.Limits == EhloLimits.None ? null : [m.Limits.Mail, m.Limits.Rcpt, m.Limits.RcptDomain],
                Early = m.EarlyConnection,
            },
            EarlyAttemptFailed m => new() { Key = m.Key.EntityId, Reason = m.Reason },
            TlsFailed m => new() { Key = m.Key.EntityId, Reason = m.Reason, Until = m.Until },
            HostFailed m => new() { Key = m.Key.EntityId, Reason = m.Reason },
            HostSucceeded m => new() { Key = m.Key.EntityId },
            GetDestinationState m => new() { Key = m.Key.EntityId },
            LeaseGranted m => new()
            {
                Key = m.Key.EntityId,
                Session = m.SessionId,
                Record = m.Record is null ? null : RecordDto.From(m.Record),
                ClearTextUntil = m.ClearTextUntil,
            },
            LeaseRefused m => new() { Key = m.Key.EntityId, Session = m.SessionId, Reason = m.Reason, Until = m.RetryAt },
            DestinationState m => new()
            {
                Key = m.Key.EntityId,
                Record = m.Record is null ? null : RecordDto.From(m.Record),
                Retry = RetryDto.From(m.Retry),
                Leases = m.LeasesInUse,
                InMemory = m.InMemory,
                ClearTextUntil = m.ClearTextUntil,
            },
            _ => throw new ArgumentException($"{nameof(DestinationWireSerializer)} cannot serialize {obj.GetType()}", nameof(obj)),
        };
        return JsonSerializer.SerializeToUtf8Bytes(dto, Options);
    }

    public override object FromBinary(byte[] bytes, string manifest)
    {
        var dto = JsonSerializer.Deserialize<WireDto>(bytes, Options) ?? throw Corrupt(manifest, "a body");
        var key = DestinationKey.TryParse(dto.Key, out var k) ? k : throw Corrupt(manifest, "a destination key");
        string Session() => dto.Session ?? throw Corrupt(manifest, "a session id");
        return manifest switch
        {
            "acquire-lease-v1" => new AcquireLease(key, Session()),
            "release-lease-v1" => new ReleaseLease(key, Session()),
            "ehlo-learned-v1" => new EhloLearned(key, dto.Tls, (EhloFeatures)dto.Features, dto.Auth ?? [],
                dto.Limits is [var mail, var rcpt, var domain] ? new EhloLimits(mail, rcpt, domain) : EhloLimits.None, dto.Early),
            "early-failed-v1" => new EarlyAttemptFailed(key, dto.Reason ?? ""),
            "tls-failed-v1" => new TlsFailed(key, dto.Reason ?? "", dto.Until ?? throw Corrupt(manifest, "an end time")),
            "host-failed-v1" => new HostFailed(key, dto.Reason ?? ""),
            "host-succeeded-v1" => new HostSucceeded(key),
            "get-state-v1" => new GetDestinationState(key),
            "lease-granted-v1" => new LeaseGranted(key, Session(), dto.Record?.ToRecord()) { ClearTextUntil = dto.ClearTextUntil },
            "lease-refused-v1" => new LeaseRefused(key, Session(), dto.Reason ?? "", dto.Until),
            "state-v1" => new DestinationState(key, dto.Record?.ToRecord(), dto.Retry?.ToRetry(), dto.Leases)
            {
                InMemory = dto.InMemory,
                ClearTextUntil = dto.ClearTextUntil,
            },
            _ => throw new SerializationException($"{nameof(DestinationWireSerializer)}: unknown manifest '{manifest}'"),
        };
    }

    private static SerializationException Corrupt(string manifest, string what) =>
        new($"{nameof(DestinationWireSerializer)}: '{manifest}' without {what}");

    /// <summary>Every message's fields; each manifest says which it uses.</summary>
    private sealed class WireDto
    {
        [JsonPropertyName("key")] public string? Key { get; set; }
        [JsonPropertyName("session")] public string? Session { get; set; }
        [JsonPropertyName("reason")] public string? Reason { get; set; }
        [JsonPropertyName("until")] public DateTimeOffset? Until { get; set; }
        [JsonPropertyName("tls")] public bool Tls { get; set; }
        [JsonPropertyName("features")] public ushort Features { get; set; }
        [JsonPropertyName("auth")] public string[]? Auth { get; set; }
        [JsonPropertyName("limits")] public int[]? Limits { get; set; }
        [JsonPropertyName("early")] public bool Early { get; set; }
        [JsonPropertyName("record")] public RecordDto? Record { get; set; }
        [JsonPropertyName("retry")] public RetryDto? Retry { get; set; }
        [JsonPropertyName("leases")] public int Leases { get; set; }
        [JsonPropertyName("inMemory")] public bool InMemory { get; set; }
        [JsonPropertyName("clearUntil")] public DateTimeOffset? ClearTextUntil { get; set; }
    }
}
