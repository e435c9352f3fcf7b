using ActorMta.Configuration;
using ActorMta.Tests.Support;

namespace ActorMta.Tests.Destinations;

/// <summary>A SQLite store the operator names in persistence.connection-string is prepared as the default file is.</summary>
public sealed class NamedSqliteStoreTests
{
    [Fact]
    public async Task A_named_sqlite_file_is_switched_to_write_ahead_logging_at_start()
    {
        string folder = Directory.CreateTempSubdirectory("actormta-named-store-").FullName;
        string file = Path.Combine(folder, "shared.db");
        try
        {
            await using (var mta = await TestMta.StartAsync(s => s with { Persistence = new PersistenceSettings($"Data Source={file};Cache=Shared", "SQLite.MS") }))
            {
                using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={file};Mode=ReadOnly;Pooling=False");
                connection.Open();
                using var command = connection.CreateCommand();
                command.CommandText = "PRAGMA journal_mode";
                // Without WAL the journal's and the snapshot store's connections block each other (DestinationPersistence.PrepareSqlite).
                Assert.Equal("wal", command.ExecuteScalar() as string);
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }
}
