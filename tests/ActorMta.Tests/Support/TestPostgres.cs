using System.Diagnostics;

namespace ActorMta.Tests.Support;

/// <summary>
/// A PostgreSQL server of the test's own, from Debian's postgresql package: a new cluster in a
/// temporary directory (initdb), listening on a free port on 127.0.0.1, stopped and deleted on
/// dispose. Run as root, the cluster belongs to the package's postgres user (PostgreSQL refuses root).
/// </summary>
public sealed class TestPostgres : IAsyncDisposable
{
    public const string User = "mta";

    private readonly string _bin;
    private readonly string _directory;

    private TestPostgres(string bin, string directory, int port)
    {
        _bin = bin;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    /// <summary>As the superuser <see cref="User"/>.</summary>
    public string ConnectionString => ConnectionStringFor(User);

    public string ConnectionStringFor(string user) => $"Host=127.0.0.1;Port={Port};Username={user};Database=postgres;Timeout=10";

    /// <summary>Runs SQL as the superuser.</summary>
    public async Task ExecuteAsync(string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The newest installed server's bin directory (/usr/lib/postgresql/N/bin), or null.</summary>
    public static string? FindBin() =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin"))
                .Where(b => File.Exists(Path.Combine(b, "initdb")) && File.Exists(Path.Combine(b, "pg_ctl")))
                .OrderByDescending(b => int.TryParse(Path.GetFileName(Path.GetDirectoryName(b)), out int v) ? v : 0)
                .FirstOrDefault()
            : null;

    /// <summary>Null when PostgreSQL is not installed (the caller skips, saying why; CI installs it).</summary>
    public static async Task<TestPostgres?> StartAsync()
    {
        if (FindBin() is not { } bin) return null;
        string directory = Directory.CreateTempSubdirectory("actormta-pg-").FullName;
        int port = FreePorts.Tcp();
        var server = new TestPostgres(bin, directory, port);
        try
        {
            if (Environment.UserName == "root") await RunAsync("chown", ["-R", "postgres:postgres", directory]);
            await server.PgAsync("initdb", ["-D", server.Data, "-U", User, "--auth=trust", "-E", "UTF8", "--no-sync"]);
            await server.StartAgainAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private string Data => Path.Combine(_directory, "data");

    /// <summary>Starts the server (again, after <see cref="StopAsync"/>), on the same port.</summary>
    public Task StartAgainAsync() =>
        PgAsync("pg_ctl", ["-D", Data, "-l", Path.Combine(_directory, "server.log"), "-w", "-t", "60",
            "-o", $"-p {Port} -k {_directory} -c listen_addresses=127.0.0.1 -c fsync=off", "start"]);

    /// <summary>Stops the server at once, as a crash or an unreachable database would look to a client.</summary>
    public Task StopAsync() => PgAsync("pg_ctl", ["-D", Data, "-m", "immediate", "-w", "stop"]);

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (File.Exists(Path.Combine(Data, "postmaster.pid")))
                await StopAsync();
        }
        finally
        {
            try { Directory.Delete(_directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>A PostgreSQL program, as the postgres user when we are root.</summary>
    private Task PgAsync(string program, string[] args)
    {
        string path = Path.Combine(_bin, program);
        return Environment.UserName == "root"
            ? RunAsync("runuser", ["-u", "postgres", "--", path, .. args])
            : RunAsync(path, args);
    }

    private static async Task RunAsync(string program, string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited {process.ExitCode}: {await error}{await output}");
    }

    /// <summary>A server of the test's own; null (the test returns, having said why) where PostgreSQL is not installed, never in CI.</summary>
    public static async Task<TestPostgres?> StartOrSkipAsync(Xunit.Abstractions.ITestOutputHelper output)
    {
        var postgres = await StartAsync();
        if (postgres is null)
        {
            Assert.True(Environment.GetEnvironmentVariable("ACTORMTA_REQUIRE_PEERS") != "1", "PostgreSQL must be installed in CI (.ci/run installs postgresql)");
            output.WriteLine("skipped: no PostgreSQL server under /usr/lib/postgresql (apt-get install postgresql)");
        }
        return postgres;
    }
}
