using ActorMta.Host;
using ActorMta.Tests.HostProgram;
using ActorMta.Tests.Support;

namespace ActorMta.Tests.Host;

/// <summary>
/// The program started as <c>sendmail</c> or <c>mailq</c> (a link at /usr/sbin/sendmail), and the
/// configuration file it reads without <c>--config</c>: what cron needs to mail a job's output.
/// </summary>
public sealed class InvocationNameTests
{
    [Theory]
    [InlineData("/usr/sbin/sendmail", new[] { "-i", "root" }, new[] { "sendmail", "-i", "root" })]
    [InlineData("sendmail", new string[0], new[] { "sendmail" })]
    [InlineData("/usr/bin/mailq", new string[0], new[] { "sendmail", "-bp" })]
    [InlineData("/opt/actormta/actormta", new[] { "run" }, new[] { "run" })]
    [InlineData("dotnet", new[] { "queue", "list" }, new[] { "queue", "list" })]
    [InlineData(null, new[] { "--version" }, new[] { "--version" })]
    public void The_name_picks_the_verb(string? name, string[] args, string[] expected)
        => Assert.Equal(expected, InvocationName.Expand(name, args));

    [Theory]
    [InlineData("/srv/mta.conf", true, "/srv/mta.conf")]
    [InlineData("/srv/mta.conf", false, "/srv/mta.conf")]
    [InlineData("", true, Cli.SystemConfigFile)]
    [InlineData(null, true, Cli.SystemConfigFile)]
    [InlineData(null, false, null)]
    public void Without_config_the_variable_then_the_system_file_is_read(string? variable, bool systemFileExists, string? expected)
    {
        string? found = Cli.DefaultConfigFile(
            name => name == Cli.ConfigEnvironmentVariable ? variable : null,
            path => path == Cli.SystemConfigFile && systemFileExists);
        Assert.Equal(expected, found);
    }

    [Fact]
    public async Task Started_as_sendmail_with_crons_options_it_submits_the_message_to_the_running_mta()
    {
        await using var mta = await TestMta.StartAsync();
        string config = Path.Combine(mta.Directory, "actormta.conf");
        await File.WriteAllTextAsync(config, $"actormta.data-directory = \"{mta.Directory}\"\n");

        // Debian's cron runs "/usr/sbin/sendmail -FCronDaemon -i -B8BITMIME -oem USER", with no
        // --config: the program is told its name by argv[0] (exec -a) and its file by the variable.
        var inner = ProgramTests.StartInfo(mta.Directory, "-FCronDaemon", "-i", "-B8BITMIME", "-oem", "ann");
        var run = await ChildProcess.RunAsync("bash", ["-c", "exec -a /usr/sbin/sendmail \"$@\"", "sendmail", inner.FileName, .. inner.ArgumentList],
            "Subject: nightly backup\n\n.\nall done\n", new Dictionary<string, string> { [Cli.ConfigEnvironmentVariable] = config });

        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.Stderr}");
        string delivered = Assert.Single(await mta.WaitForMaildirAsync("ann"));
        Assert.Contains("\r\nSubject: nightly backup\r\n", delivered, StringComparison.Ordinal);
        Assert.Contains("\r\nFrom: CronDaemon <", delivered, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\n.\r\nall done\r\n", delivered, StringComparison.Ordinal);
    }
}
