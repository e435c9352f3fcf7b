using ActorMta.Destinations;
using ActorMta.Tests.Support;
using Microsoft.Data.Sqlite;

namespace ActorMta.Tests.Destinations;

/// <summary>
/// The destinations database holds hints (early-pipelining records, retry times) that connections
/// learn again: a damaged one is set aside and started anew, with a main-log line, instead of
/// keeping the MTA, and all its mail, from starting.
/// </summary>
public sealed class DamagedDatabaseTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "actormta-dbdamage-" + Guid.NewGuid().ToString("N")[..12]);

    public DamagedDatabaseTests() => Directory.CreateDirectory(_directory);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    private string File(string name) => Path.Combine(_directory, name);

    private static string QuickCheck(string file)
    {
        using var connection = new SqliteConnection($"Data Source={file};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA quick_check;";
        return (string)command.ExecuteScalar()!;
    }

    [Fact]
    public void A_file_that_is_not_a_database_is_moved_aside_and_a_sound_one_started()
    {
        string db = File("destinations.db");
        byte[] garbage = [.. Enumerable.Range(0, 5000).Select(i => (byte)(i * 31 + 7))];
        System.IO.File.WriteAllBytes(db, garbage);

        string? said = DestinationPersistence.PrepareSqlite(db);

        string aside = Assert.Single(Directory.GetFiles(_directory, "destinations.db.corrupt-*"));
        Assert.Equal(garbage, System.IO.File.ReadAllBytes(aside)); // kept for whoever wants to look, untouched
        Assert.Equal($"{db} is not a sound SQLite database (SQLite Error 26: 'file is not a database'.): moved to {aside} and started anew; "
                     + "the early-pipelining records and retry times it held will be learnt again", said);
        Assert.Equal("ok", QuickCheck(db));
    }

    [Fact]
    public void A_sound_database_is_left_as_it_is()
    {
        string db = File("destinations.db");
        using (var connection = new SqliteConnection($"Data Source={db};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE kept (x INTEGER); INSERT INTO kept VALUES (42);";
            command.ExecuteNonQuery();
        }

        Assert.Null(DestinationPersistence.PrepareSqlite(db));

        Assert.Empty(Directory.GetFiles(_directory, "*.corrupt-*"));
        using var again = new SqliteConnection($"Data Source={db};Pooling=False");
        again.Open();
        using var select = again.CreateCommand();
        select.CommandText = "SELECT x FROM kept;";
        Assert.Equal(42L, select.ExecuteScalar());
    }

    [Fact]
    public async Task The_MTA_starts_on_a_damaged_database_says_so_and_takes_mail()
    {
        System.IO.File.WriteAllText(File("destinations.db"), "this was a database once\n");

        await using var mta = await TestMta.StartAsync(directory: _directory);

        Assert.Contains("destinations.db is not a sound SQLite database", await mta.WaitForLogLineAsync("not a sound SQLite database"));
        string id = await ActorMta.Tests.Operations.Operator.SendAsync(mta, "a@client.test", "after the damage", "user@test.example");
        await mta.WaitForLogLineAsync($"{id} Completed");
    }
}
