using Akka.Configuration;
using Akka.Persistence.Sql;

namespace ActorMta.Destinations;

/// <summary>
/// Persistence for the destination actors: Akka.Persistence.Sql journal, snapshot store and query
/// journal, plus the bindings of the destination events and snapshot to <see cref="DestinationSerializer"/>
/// and of the messages that cross cluster nodes to <see cref="DestinationWireSerializer"/>.
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

    /// <summary>
    /// The linq2db provider names whose ADO.NET provider ActorMta ships: <c>SQLite.MS</c>
    /// (Microsoft.Data.Sqlite) and PostgreSQL's (Npgsql), read from linq2db's own list so that a
    /// name it does not know is refused too. Any other name would fail only when a destination
    /// first recovers, long after the MTA started.
    /// </summary>
    public static IReadOnlyList<string> Providers { get; } =
    [
        .. typeof(LinqToDB.ProviderName).GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string))
            .Select(f => (string)f.GetRawConstantValue()!)
            .Where(name => name == "SQLite.MS" || name.StartsWith("PostgreSQL.", StringComparison.Ordinal))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal),
    ];

    /// <summary>SQLite (Microsoft.Data.Sqlite, provider <c>SQLite.MS</c>) in <paramref name="sqliteFile"/>; tables are created on first use.</summary>
    public static Config Config(string sqliteFile) =>
        Config($"Data Source={sqliteFile}", "SQLite.MS");

    /// <summary>
    /// Creates the SQLite file if needed and switches it to write-ahead logging (persistent in the
    /// file). Call once before the ActorSystem starts. In the default rollback-journal mode the
    /// journal's and the snapshot store's connections block each other (a reader holding its lock
    /// while another connection waits to write), which stalls persistence for up to the command
    /// timeout; with WAL readers and the writer do not block each other.
    /// </summary>
    /// <returns>
    /// Null, or what was done with a file that is not a sound SQLite database (for the log): it is
    /// moved aside and a new one is started. What it holds are hints, early-pipelining records and
    /// retry times, that the next connections learn again, like Exim's hints databases: no reason
    /// for an MTA to refuse to start, and with it every message.
    /// </returns>
    public static string? PrepareSqlite(string sqliteFile)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(sqliteFile));
        if (!string.IsNullOrEmpty(directory))
            Directory.CreateDirectory(directory);
        string? problem = Check(sqliteFile);
        if (problem is null) return null;
        string aside = $"{sqliteFile}.corrupt-{DateTime.UtcNow:yyyyMMddHHmmss}";
        File.Move(sqliteFile, aside);
        foreach (string suffix in new[] { "-wal", "-shm" })
            if (File.Exists(sqliteFile + suffix)) File.Move(sqliteFile + suffix, aside + suffix);
        if (Check(sqliteFile) is { } again) throw new IOException($"cannot start a new {sqliteFile}: {again}");
        return $"{sqliteFile} is not a sound SQLite database ({problem}): moved to {aside} and started anew; "
               + "the early-pipelining records and retry times it held will be learnt again";
    }

    /// <summary>The file of a SQLite connection string; null for an in-memory database or a string that does not parse.</summary>
    public static string? SqliteFileOf(string connectionString)
    {
        try
        {
            var builder = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(connectionString);
            string file = builder.DataSource;
            return file.Length == 0 || file == ":memory:" || builder.Mode == Microsoft.Data.Sqlite.SqliteOpenMode.Memory ? null : file;
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    /// <summary>Opens the file (creating it), sets WAL and runs SQLite's quick check; null when all is well.</summary>
    private static string? Check(string sqliteFile)
    {
        var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={sqliteFile}");
        try
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode=WAL;";
            command.ExecuteNonQuery();
            command.CommandText = "PRAGMA quick_check;";
            string verdict = command.ExecuteScalar() as string ?? "no answer";
            return verdict == "ok" ? null : verdict;
        }
        catch (Microsoft.Data.Sqlite.SqliteException e) when (e.SqliteErrorCode is 11 or 26) // SQLITE_CORRUPT, SQLITE_NOTADB
        {
            return e.Message;
        }
        finally
        {
            // A pooled connection would keep the file open (and its bad pages cached) under the next one.
            Microsoft.Data.Sqlite.SqliteConnection.ClearPool(connection);
            connection.Dispose();
        }
    }

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
                  # A destination recovers in milliseconds; one that cannot is run without its
                  # store (Destinations), and its deliveries should not wait Akka's 30 s for that.
                  recovery-event-timeout = 10s
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

    // Type names are taken from the types themselves: the engine's assembly name is not its namespace
    // (ActorMta.Engine), and a binding to a type that does not load is silently skipped by Akka.
    private static readonly string SerializationHocon = $$"""
        akka.actor {
          serializers {
            actormta-destinations = {{Quote(TypeName(typeof(DestinationSerializer)))}}
            actormta-destination-wire = {{Quote(TypeName(typeof(DestinationWireSerializer)))}}
          }
          serialization-bindings {
            {{Quote(TypeName(typeof(IDestinationEvent)))}} = actormta-destinations
            {{Quote(TypeName(typeof(DestinationSnapshot)))}} = actormta-destinations
            {{Quote(TypeName(typeof(IDestinationMessage)))}} = actormta-destination-wire
            {{Quote(TypeName(typeof(LeaseGranted)))}} = actormta-destination-wire
            {{Quote(TypeName(typeof(LeaseRefused)))}} = actormta-destination-wire
            {{Quote(TypeName(typeof(DestinationState)))}} = actormta-destination-wire
          }
        }
        """;

    private static string TypeName(Type type) => $"{type.FullName}, {type.Assembly.GetName().Name}";

    private static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
