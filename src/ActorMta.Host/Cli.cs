using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Runtime.InteropServices;
using ActorMta.Configuration;
using ActorMta.Logging;
using Serilog.Core;

namespace ActorMta.Host;

/// <summary>
/// The command line: <c>actormta run</c>, <c>actormta config check</c>, <c>actormta --version</c>.
/// Exit codes are in <see cref="ExitCodes"/>. Operators see one clear line per problem, never a stack trace.
/// </summary>
public static class Cli
{
    /// <summary>Parses <paramref name="args"/> and runs the verb; output goes to the given writers.</summary>
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr) => RunAsync(args, stdout, stderr, Stream.Null);

    /// <summary>Like <see cref="RunAsync(string[], TextWriter, TextWriter)"/>, with <paramref name="stdin"/> for <c>sendmail</c>.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, Stream stdin)
    {
        ArgumentNullException.ThrowIfNull(args);
        RootCommand root = Build(stdout, stderr, stdin);
        ParseResult parsed = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors) await stderr.WriteLineAsync($"actormta: {error.Message}").ConfigureAwait(false);
            await stderr.WriteLineAsync("Try 'actormta --help'.").ConfigureAwait(false);
            return ExitCodes.BadUsage;
        }

        var invocation = new InvocationConfiguration
        {
            Output = stdout,
            Error = stderr,
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = null, // `run` handles SIGINT/SIGTERM itself
        };
        try
        {
            return await parsed.InvokeAsync(invocation).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            await stderr.WriteLineAsync($"actormta: {e.GetType().Name}: {e.Message}").ConfigureAwait(false);
            return ExitCodes.RuntimeFailure;
        }
    }

    /// <summary>The version shown by <c>--version</c> and in the start-up log line.</summary>
    public static string Version =>
        typeof(Cli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(Cli).Assembly.GetName().Version?.ToString()
        ?? "unknown";

    private static RootCommand Build(TextWriter stdout, TextWriter stderr, Stream stdin)
    {
        var configOption = new Option<string?>("--config", "-c")
        {
            Description = $"HOCON configuration file; overrides the embedded defaults. Default: ${ConfigEnvironmentVariable}, else {SystemConfigFile} if it exists.",
            HelpName = "FILE",
            DefaultValueFactory = _ => DefaultConfigFile(Environment.GetEnvironmentVariable, File.Exists),
        };
        var setOption = new Option<string[]>("--set")
        {
            Description = "Override one key, e.g. --set actormta.smtp.max-recipients=500 (HOCON value; repeatable, later wins).",
            HelpName = "path=value",
            Arity = ArgumentArity.ZeroOrMore,
            AllowMultipleArgumentsPerToken = false,
        };

        var run = new Command("run", "Start the MTA and run until SIGINT or SIGTERM.") { configOption, setOption };
        run.SetAction((result, ct) => RunAsync(result.GetValue(configOption), result.GetValue(setOption) ?? [], stderr, ct));

        var check = new Command("check", "Validate the configuration and print the effective actormta { } tree.") { configOption, setOption };
        check.SetAction(result => Check(result.GetValue(configOption), result.GetValue(setOption) ?? [], stdout, stderr));

        var config = new Command("config", "Configuration tools.") { check };

        var root = new RootCommand("ActorMta: an SMTP mail transfer agent on Akka.NET.") { run, config, UserCommands.Build(configOption, setOption, stdout, stderr) };
        var operations = new CommandContext(stdout, stderr, stdin, configOption, setOption);
        root.Add(QueueCommands.Create(operations));
        root.Add(DestinationsCommand.Create(operations));
        root.Add(SendmailCommand.Create(operations));
        return root;
    }

    /// <summary>Names the configuration file when no <c>--config</c> is given (a systemd unit, a shell profile).</summary>
    public const string ConfigEnvironmentVariable = "ACTORMTA_CONFIG";

    /// <summary>
    /// The configuration file when neither <c>--config</c> nor the variable names one, if it exists:
    /// the daemon and the verbs run by cron through /usr/sbin/sendmail, which pass no option and
    /// little environment, then read the same file, as Exim's and Postfix's do.
    /// </summary>
    public const string SystemConfigFile = "/etc/actormta/actormta.conf";

    /// <summary><c>$ACTORMTA_CONFIG</c> when set (a missing file is then an error), else the system file when it exists, else none.</summary>
    internal static string? DefaultConfigFile(Func<string, string?> environment, Func<string, bool> exists) =>
        environment(ConfigEnvironmentVariable) is { Length: > 0 } named ? named
        : exists(SystemConfigFile) ? SystemConfigFile
        : null;

    /// <summary>Loads the configuration; on failure prints every error and returns null.</summary>
    /// <param name="forSubmission">For <c>sendmail</c>: see <see cref="SettingsLoader.Load(string?, IReadOnlyList{string}, bool)"/>.</param>
    internal static LoadedConfiguration? Load(string? configFile, string[] sets, TextWriter stderr, bool forSubmission = false)
    {
        try
        {
            return SettingsLoader.Load(configFile, sets, forSubmission);
        }
        catch (ConfigurationException e)
        {
            foreach (var error in e.Errors) stderr.WriteLine(error.ToString());
            stderr.WriteLine($"actormta: configuration has {e.Errors.Count} error{(e.Errors.Count == 1 ? "" : "s")}; nothing started.");
            stderr.Flush();
            return null;
        }
    }

    private static int Check(string? configFile, string[] sets, TextWriter stdout, TextWriter stderr)
    {
        LoadedConfiguration? loaded = Load(configFile, sets, stderr);
        if (loaded is null) return ExitCodes.BadUsage;
        stdout.WriteLine("# Effective ActorMta configuration: embedded defaults"
            + (configFile is null ? "" : $" < {configFile}") + (sets.Length == 0 ? "" : " < --set"));
        stdout.Write(loaded.EffectiveHocon);
        stdout.Flush();
        return ExitCodes.Ok;
    }

    private static async Task<int> RunAsync(string? configFile, string[] sets, TextWriter stderr, CancellationToken ct)
    {
        LoadedConfiguration? loaded = Load(configFile, sets, stderr);
        if (loaded is null) return ExitCodes.BadUsage;
        MtaSettings settings = loaded.Settings;
        // May re-exec this program under the configured policy; nothing has been started or written yet.
        string? schedulingProblem = ThreadScheduling.Ensure(settings.SchedulingPolicy);

        Logger logger;
        try
        {
            logger = LoggingSetup.CreateLogger(settings.Log);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await stderr.WriteLineAsync($"actormta: cannot open the log files: {e.Message}").ConfigureAwait(false);
            return ExitCodes.RuntimeFailure;
        }

        LoggingSetup.UseForAkka(logger);
        var mainLog = new MainLog(logger);
        if (schedulingProblem is not null)
        {
            mainLog.Write($"actormta.scheduling-policy = {settings.SchedulingPolicy.ToString().ToLowerInvariant()} not applied, the threads keep the policy they were started with: {schedulingProblem}");
        }
        int pid = Environment.ProcessId;
        var stop = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var registrations = new List<PosixSignalRegistration>();
        foreach (var (signal, name) in new[] { (PosixSignal.SIGINT, "SIGINT"), (PosixSignal.SIGTERM, "SIGTERM") })
        {
            registrations.Add(PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true; // we stop ourselves, cleanly
                stop.TrySetResult(name);
            }));
        }

        // SIGHUP re-reads the TLS certificate files (a renewed certificate) and the users file; during
        // start-up there is nothing to re-read yet, so it is consumed and the files are read by the start itself.
        MtaNode? started = null;
        registrations.Add(HangupSignal.Register(context =>
        {
            context.Cancel = true;
            Volatile.Read(ref started)?.Reload(mainLog);
        }, out bool hangupWasIgnored));

        using CancellationTokenRegistration onCancel = ct.Register(() => stop.TrySetResult("cancellation"));
        try
        {
            MtaNode node;
            try
            {
                node = await MtaNode.StartAsync(settings, loaded.AkkaConfig, logger, ct).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                string reason = StartFailure(e, settings);
                logger.Fatal("start failed: {Reason}", reason);
                await stderr.WriteLineAsync($"actormta: {reason}").ConfigureAwait(false);
                return ExitCodes.RuntimeFailure;
            }

            Volatile.Write(ref started, node);
            string listening = string.Join(" ", node.BoundEndPoints.Select(EximAddress));
            mainLog.Write($"actormta {Version} daemon started: pid={pid}, listening for SMTP on {listening}");
            foreach (string note in node.Tls?.StartupNotes ?? []) mainLog.Write(note);
            if (hangupWasIgnored) mainLog.Write("SIGHUP was inherited as ignored (nohup?): handling it anyway, to re-read the TLS certificate files and the users file");
            logger.Information("ActorMta {Version} listening on {EndPoints}, data in {DataDirectory}",
                Version, node.BoundEndPoints.Select(e => e.ToString()).ToArray(), settings.DataDirectory);
            if (node.MetricsEndPoint is { } metricsEndPoint)
            {
                string url = MetricsUrl(metricsEndPoint);
                mainLog.Write($"metrics on {url}");
                logger.Information("Metrics on {MetricsUrl:l}", url);
            }
            if (SystemdNotify.Send($"READY=1\nMAINPID={pid}\nSTATUS=listening for SMTP on {listening}") is { } notReady) mainLog.Write(notReady);

            string why = await stop.Task.ConfigureAwait(false);
            mainLog.Write($"pid {pid}: {why} received: daemon exiting");
            if (SystemdNotify.Send($"STOPPING=1\nSTATUS={why} received: stopping") is { } notStopping) mainLog.Write(notStopping);
            try
            {
                await node.StopAsync().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                logger.Error("stopping: {Reason}", e.Message);
                await stderr.WriteLineAsync($"actormta: error while stopping: {e.Message}").ConfigureAwait(false);
                return ExitCodes.RuntimeFailure;
            }

            logger.Information("ActorMta stopped");
            return ExitCodes.Ok;
        }
        finally
        {
            foreach (var registration in registrations) registration.Dispose();
            Serilog.Log.Logger = Logger.None;
            await logger.DisposeAsync().ConfigureAwait(false); // flushes the log files
        }
    }

    /// <summary>"http://127.0.0.1:9464/metrics", "http://[::1]:9464/metrics"; any address is "*" to HttpListener.</summary>
    private static string MetricsUrl(IPEndPoint endPoint)
    {
        string host = endPoint.Address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{endPoint.Address}]" : endPoint.Address.ToString();
        return $"http://{host}:{endPoint.Port}/metrics";
    }

    /// <summary>Exim writes listening addresses as "[127.0.0.1]:25".</summary>
    private static string EximAddress(IPEndPoint endPoint) => $"[{endPoint.Address}]:{endPoint.Port}";

    private static string StartFailure(Exception e, MtaSettings settings)
    {
        Exception inner = e;
        while (inner is AggregateException or TargetInvocationException or TypeInitializationException && inner.InnerException is { } next)
        {
            inner = next;
        }

        string addresses = string.Join(", ", settings.Listeners.Select(l => l.EndPoint.ToString()));
        return inner switch
        {
            // The engine's own start-up errors already say what and where.
            InvalidOperationException { InnerException: SocketException } => inner.Message,
            SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } =>
                $"cannot listen on {addresses}: address already in use",
            SocketException { SocketErrorCode: SocketError.AddressNotAvailable } =>
                $"cannot listen on {addresses}: address not available on this machine",
            SocketException { SocketErrorCode: SocketError.AccessDenied } =>
                $"cannot listen on {addresses}: permission denied (ports below 1024 need privileges)",
            SocketException s => $"cannot listen on {addresses}: {s.Message}",
            // MtaNode says "cannot serve metrics on ADDRESS: why"; name the key to change.
            InvalidOperationException { InnerException: HttpListenerException } => inner.Message + " (actormta.metrics.address)",
            ActorMta.Auth.UsersFileException => inner.Message, // FILE:LINE: why
            ActorMta.Transport.Tls.TlsCertificateException => $"TLS certificate: {inner.Message} (actormta.tls)",
            Control.ControlEndpointException => inner.Message,
            UnauthorizedAccessException or IOException => $"cannot use the data folders: {inner.Message}",
            _ => $"{inner.GetType().Name}: {inner.Message}",
        };
    }
}
