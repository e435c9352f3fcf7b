using Akka.Configuration;
using Akka.Persistence.Sql;

namespace ActorMta.Destinations;

/// <summary>
/// Persistence for the destination actors: Akka.Persistence.Sql journal, snapshot store and query
/// journal, plus the bindings of the destination events and snapshot to <see cref="DestinationSerializer"/>.
/// </summary>
/// <remarks>
/// The returned config already ends with <see cref="SqlPersistence.DefaultConfiguration"/> as its
/// last fallback (stack.md pitfalls A and B), so it must itself be used as the <b>last</b> fallback:
/// <code>
/// var config = overrides                      // --set, per-test paths: win over everything
///     .WithFallback(fileConfig)               // actormta.conf: may set another connection-string/provider (PostgreSQL)
///     .WithFallback(referenceConf)
///     .WithFallback(DestinationPersistence.Config(sqliteFile));   // LAST: carries the plugin defaults
/// </code>
/// Anything placed after it loses to the plugin defaults (e.g. <c>provider-name = ""</c>).
/// </remarks>
public static class DestinationPersistence
{
    public const string JournalPluginId = "akka.persistence.journal.sql";
    public const string SnapshotPluginId = "akka.persistence.snapshot-store.sql";
    public const string QueryPluginId = "akka.persistence.query.journal.sql";

    /// <summary>SQLite (Microsoft.Data.Sqlite, provider <c>SQLite.MS</c>) in <paramref name="sqliteFile"/>; tables are created on first use.</summary>
    public static Config Config(string sqliteFile) =>
        Config($"Data Source={sqliteFile}", "SQLite.MS");

    /// <summary>Any linq2db provider, e.g. <c>("Host=...;Database=mta;Username=...", "PostgreSQL.15")</c> for a cluster.</summary>
    public static Config Config(string connectionString, string providerName)
    {
        var cs = Quote(connectionString);
        var provider = Quote(providerName);
        var hocon = $$"""
            akka.persistence {
              journal {
                plugin = "{{JournalPluginId}}"
                sql {
                  connection-string = {{cs}}
                  provider-name = {{provider}}
                  auto-initialize = true
                }
              }
              snapshot-store {
                plugin = "{{SnapshotPluginId}}"
                sql {
                  connection-string = {{cs}}
                  provider-name = {{provider}}
                  auto-initialize = true
                }
              }
              query.journal.sql {
                connection-string = {{cs}}
                provider-name = {{provider}}
                write-plugin = "{{JournalPluginId}}"
              }
            }
            {{SerializationHocon}}
            """;
        return ConfigurationFactory.ParseString(hocon).WithFallback(SqlPersistence.DefaultConfiguration);
    }

    /// <summary>The serializer and its bindings alone (for a system that configures its journal elsewhere).</summary>
    public static Config Serialization => ConfigurationFactory.ParseString(SerializationHocon);

    private const string SerializationHocon = """
        akka.actor {
          serializers {
            actormta-destinations = "ActorMta.Destinations.DestinationSerializer, ActorMta"
          }
          serialization-bindings {
            "ActorMta.Destinations.IDestinationEvent, ActorMta" = actormta-destinations
            "ActorMta.Destinations.DestinationSnapshot, ActorMta" = actormta-destinations
          }
        }
        """;

    private static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
