using System.CommandLine;
using System.Text.Json.Nodes;
using ActorMta.Configuration;
using ActorMta.Control;

namespace ActorMta.Host;

/// <summary>
/// What the operator verbs (queue, destinations, sendmail) share: the output writers, standard
/// input, the <c>--config</c>/<c>--set</c> options that find the data directory like <c>run</c>
/// does, and one way to talk to the running MTA that turns every failure into a line and an exit code.
/// </summary>
internal sealed class CommandContext(TextWriter stdout, TextWriter stderr, Stream stdin, Option<string?> config, Option<string[]> set)
{
    /// <summary>How long a verb waits for the MTA's answer (a bounce or a submission writes to the spool first).</summary>
    public static readonly TimeSpan ControlTimeout = TimeSpan.FromSeconds(120);

    public TextWriter Out { get; } = stdout;
    public TextWriter Error { get; } = stderr;
    public Stream In { get; } = stdin;
    public Option<string?> ConfigOption { get; } = config;
    public Option<string[]> SetOption { get; } = set;

    /// <summary>A command carrying --config and --set.</summary>
    public Command NewCommand(string name, string description)
    {
        var command = new Command(name, description) { ConfigOption, SetOption };
        return command;
    }

    /// <summary>The settings, or null after printing every configuration error.</summary>
    /// <param name="forSubmission">For <c>sendmail</c>, which any user may run: included files the user may not read are skipped.</param>
    public MtaSettings? Settings(ParseResult result, bool forSubmission = false) =>
        Cli.Load(result.GetValue(ConfigOption), result.GetValue(SetOption) ?? [], Error, forSubmission)?.Settings;

    /// <summary>The outcome of one request to the running MTA.</summary>
    public sealed record Answer(JsonObject? Body, int ExitCode, bool NotRunning);

    /// <summary>
    /// Sends one request. A refusal is printed (<c>actormta: why</c>) and mapped to an exit code:
    /// bad-request 2, everything else (not running, not found, busy, failed) 1. Nothing is printed
    /// for "not running" when <paramref name="quietIfNotRunning"/> (the caller falls back to the spool).
    /// </summary>
    public async Task<Answer> AskAsync(MtaSettings settings, JsonObject request, ReadOnlyMemory<byte> data = default, bool quietIfNotRunning = false)
    {
        var (answer, conversation) = await OpenAsync(settings, request, data, quietIfNotRunning).ConfigureAwait(false);
        if (conversation is not null) await conversation.DisposeAsync().ConfigureAwait(false);
        return answer;
    }

    /// <summary>
    /// Like <see cref="AskAsync"/>, and when the MTA said yes the connection stays open for the rows
    /// of the answer; the caller disposes it. No connection comes back with a refusal.
    /// </summary>
    public async Task<(Answer Answer, ControlConversation? Rows)> OpenAsync(
        MtaSettings settings, JsonObject request, ReadOnlyMemory<byte> data = default, bool quietIfNotRunning = false)
    {
        ControlConversation conversation;
        try
        {
            conversation = await ControlClient.OpenAsync(settings.Control.SocketPath, request, data, ControlTimeout).ConfigureAwait(false);
        }
        catch (ControlUnavailableException e)
        {
            if (!quietIfNotRunning) await Error.WriteLineAsync($"actormta: {e.Message}").ConfigureAwait(false);
            return (new Answer(null, ExitCodes.RuntimeFailure, NotRunning: true), null);
        }
        catch (IOException e)
        {
            await Error.WriteLineAsync($"actormta: {e.Message}").ConfigureAwait(false);
            return (new Answer(null, ExitCodes.RuntimeFailure, NotRunning: false), null);
        }
        var answer = conversation.Head;
        if (answer["ok"] is JsonValue ok && ok.TryGetValue(out bool isOk) && isOk) return (new Answer(answer, ExitCodes.Ok, false), conversation);
        await conversation.DisposeAsync().ConfigureAwait(false);
        string status = (string?)answer["status"] ?? ControlProtocol.Failed;
        await Error.WriteLineAsync($"actormta: {(string?)answer["error"] ?? "the MTA refused without a reason"}").ConfigureAwait(false);
        return (new Answer(null, status == ControlProtocol.BadRequest ? ExitCodes.BadUsage : ExitCodes.RuntimeFailure, false), null);
    }
}
