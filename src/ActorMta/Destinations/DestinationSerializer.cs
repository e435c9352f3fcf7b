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
}
