using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ActorMta.Configuration;
using ActorMta.Control;
using ActorMta.Queue;
using ActorMta.Spool;

namespace ActorMta.Host;

/// <summary>
/// <c>actormta queue list|count|show|deliver|remove|bounce|freeze|thaw</c>: the queue verbs, which
/// talk to the running MTA over its control socket. <c>list</c>, <c>count</c> and <c>show</c> read
/// the spool files themselves when the MTA is not running (and say so on stderr). Exit codes: 0 done;
/// 1 the MTA is not running, the message is not in the queue, a delivery attempt holds it, or the
/// spool refused; 2 a bad command line, configuration or message id.
/// </summary>
internal static class QueueCommands
{
    public static Command Create(CommandContext c)
    {
        var queue = new Command("queue", "Look at and manage the queue of the running MTA.");

        var json = new Option<bool>("--json") { Description = "One JSON object per message and line instead of exim -bp's layout." };
        var list = c.NewCommand("list", "List the queue like exim -bp: age, size, id, sender, then the recipients (delivered ones marked D).");
        list.Add(json);
        list.SetAction((r, _) => ListAsync(c, r, r.GetValue(json)));
        queue.Add(list);

        var count = c.NewCommand("count", "Print the number of messages in the queue (like exim -bpc).");
        count.SetAction((r, _) => CountAsync(c, r));
        queue.Add(count);

        var showId = IdArgument();
        var show = c.NewCommand("show", "Show one message: its envelope, its headers and its lines in the main log.");
        show.Add(showId);
        show.SetAction((r, _) => ShowAsync(c, r, r.GetValue(showId)!));
        queue.Add(show);

        var deliverId = new Argument<string?>("ID") { Description = "Message id, as queue list shows it.", Arity = ArgumentArity.ZeroOrOne };
        var all = new Option<bool>("--all") { Description = "Every message that is not frozen (like exim -qf)." };
        var deliver = c.NewCommand("deliver", "Attempt delivery now, ignoring retry times: one message (even if frozen, like exim -M) or --all.");
        deliver.Add(deliverId);
        deliver.Add(all);
        deliver.SetAction((r, _) => DeliverAsync(c, r, r.GetValue(deliverId), r.GetValue(all)));
        queue.Add(deliver);

        queue.Add(IdCommand(c, "remove", "remove", "Remove a message without sending a bounce (like exim -Mrm); logged as \"removed by USER\"."));
        queue.Add(IdCommand(c, "bounce", "bounce", "Fail every undelivered recipient with \"cancelled by administrator\" and bounce them to the sender (like exim -Mg)."));
        queue.Add(IdCommand(c, "freeze", "freeze", "Freeze a message: retries skip it until it is thawed (survives a restart)."));
        queue.Add(IdCommand(c, "thaw", "thaw", "Thaw a frozen message; it is attempted again."));
        return queue;
    }

    private static Argument<string> IdArgument() => new("ID") { Description = "Message id, as queue list shows it." };

    private static Command IdCommand(CommandContext c, string name, string command, string description)
    {
        var id = IdArgument();
        var verb = c.NewCommand(name, description);
        verb.Add(id);
        verb.SetAction((r, _) => SimpleAsync(c, r, new JsonObject { ["command"] = command, ["id"] = r.GetValue(id) }));
        return verb;
    }

    /// <summary>Checks the id's shape before anything is asked; prints why and returns false when it is not an id.</summary>
    private static bool CheckId(CommandContext c, string? id)
    {
        if (MessageSpool.IsValidMessageId(id)) return true;
        c.Error.WriteLine($"actormta: \"{id}\" is not a message id (they look like 1xXdwa-Un3fSo-uC)");
        return false;
    }

    private static async Task<int> SimpleAsync(CommandContext c, ParseResult r, JsonObject request)
    {
        if (!CheckId(c, (string?)request["id"])) return ExitCodes.BadUsage;
        if (c.Settings(r) is not { } settings) return ExitCodes.BadUsage;
        var answer = await c.AskAsync(settings, request).ConfigureAwait(false);
        if (answer.Body is { } body) await c.Out.WriteLineAsync((string?)body["text"]).ConfigureAwait(false);
        return answer.ExitCode;
    }

    private static async Task<int> DeliverAsync(CommandContext c, ParseResult r, string? id, bool all)
    {
        if (all == (id is not null))
        {
            await c.Error.WriteLineAsync("actormta: queue deliver needs either a message id or --all").ConfigureAwait(false);
            return ExitCodes.BadUsage;
        }
        var request = all ? new JsonObject { ["command"] = "deliver", ["all"] = true } : new JsonObject { ["command"] = "deliver", ["id"] = id };
        if (all)
        {
            if (c.Settings(r) is not { } settings) return ExitCodes.BadUsage;
            var answer = await c.AskAsync(settings, request).ConfigureAwait(false);
            if (answer.Body is { } body) await c.Out.WriteLineAsync((string?)body["text"]).ConfigureAwait(false);
            return answer.ExitCode;
        }
        return await SimpleAsync(c, r, request).ConfigureAwait(false);
    }

    private static Task NotRunningAsync(CommandContext c, MtaSettings settings) =>
        c.Error.WriteLineAsync($"actormta: the MTA is not running (no answer on {settings.Control.SocketPath}); reading the spool files in {settings.Spool.Directory}");

    /// <summary>
    /// The running MTA's queue as it streams it, one message at a time, or a stopped MTA's from its
    /// spool files (said on stderr), oldest first either way.
    /// </summary>
    internal static async Task<int> ListAsync(CommandContext c, ParseResult r, bool json)
    {
        if (c.Settings(r) is not { } settings) return ExitCodes.BadUsage;
        var output = new ListingOutput(c.Out, json);
        var (answer, rows) = await c.OpenAsync(settings, new JsonObject { ["command"] = "list" }, quietIfNotRunning: true).ConfigureAwait(false);
        if (rows is not null)
        {
            await using (rows.ConfigureAwait(false))
                return await PrintRowsAsync(c, answer.Body!, rows, output).ConfigureAwait(false);
        }
        if (!answer.NotRunning) return answer.ExitCode;

        await NotRunningAsync(c, settings).ConfigureAwait(false);
        var now = DateTimeOffset.UtcNow;
        // Each message is shrunk to its listing as it is read: the spool's full envelopes are not all held.
        var messages = MessageSpool.ReadEach(settings.Spool.Directory, problem => c.Error.WriteLine($"actormta: {problem}"))
            .Select(m => QueueListing.FromSpool(m, now))
            .ToList();
        messages.Sort(static (a, b) => string.CompareOrdinal(a.Id, b.Id));
        foreach (var m in messages) await output.AddAsync(m).ConfigureAwait(false);
        await output.FlushAsync().ConfigureAwait(false);
        return ExitCodes.Ok;
    }

    /// <summary>
    /// Prints the rows as they arrive. The head said how many there are: a listing that ends short
    /// (the MTA stopped meanwhile) is printed as far as it came and reported, exit code 1.
    /// </summary>
    private static async Task<int> PrintRowsAsync(CommandContext c, JsonObject head, ControlConversation rows, ListingOutput output)
    {
        if (head["messages"] is not JsonValue count || !count.TryGetValue(out int expected))
        {
            await c.Error.WriteLineAsync("actormta: the MTA's answer to list does not say how many messages follow").ConfigureAwait(false);
            return ExitCodes.RuntimeFailure;
        }
        int received = 0;
        string? problem = null;
        try
        {
            while (await rows.ReadRowAsync().ConfigureAwait(false) is { } row)
            {
                if (output.Json) await output.AddRowAsync(row).ConfigureAwait(false);
                else await output.AddAsync(QueueListing.FromJson(JsonNode.Parse(row))).ConfigureAwait(false);
                received++;
            }
        }
        catch (IOException e)
        {
            problem = e.Message;
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            problem = $"the MTA sent a listing line that is not a queue entry ({e.Message})";
        }
        await output.FlushAsync().ConfigureAwait(false);
        if (problem is null && received == expected) return ExitCodes.Ok;
        await c.Error.WriteLineAsync(
            $"actormta: the listing ended after {received} of {expected} messages{(problem is null ? " (the MTA closed the connection)" : $": {problem}")}").ConfigureAwait(false);
        return ExitCodes.RuntimeFailure;
    }

    /// <summary>The listing on its way to stdout, in exim -bp's layout or as JSON lines, written in pieces of about 32 KiB.</summary>
    private sealed class ListingOutput(TextWriter writer, bool json)
    {
        private const int Piece = 32 * 1024;
        private readonly StringBuilder _text = new(Piece + 1024);

        public bool Json => json;

        public Task AddAsync(QueuedMessage m)
        {
            if (json) _text.Append(QueueListing.ToJsonLine(m)).Append('\n');
            else EximQueueFormat.Append(_text, m);
            return _text.Length >= Piece ? FlushAsync() : Task.CompletedTask;
        }

        /// <summary>A row as the MTA sent it, already in <c>--json</c>'s form.</summary>
        public Task AddRowAsync(string row)
        {
            _text.Append(row).Append('\n');
            return _text.Length >= Piece ? FlushAsync() : Task.CompletedTask;
        }

        public async Task FlushAsync()
        {
            await writer.WriteAsync(_text).ConfigureAwait(false);
            await writer.FlushAsync().ConfigureAwait(false);
            _text.Clear();
        }
    }

    /// <summary>Asks the running MTA for the number alone, or counts a stopped MTA's spool one
    /// message at a time: a large queue's listing is never built just to be counted.</summary>
    private static async Task<int> CountAsync(CommandContext c, ParseResult r)
    {
        if (c.Settings(r) is not { } settings) return ExitCodes.BadUsage;
        int count;
        var answer = await c.AskAsync(settings, new JsonObject { ["command"] = "count" }, quietIfNotRunning: true).ConfigureAwait(false);
        if (answer.Body is { } body) count = (int)body["count"]!;
        else if (!answer.NotRunning) return answer.ExitCode;
        else
        {
            await NotRunningAsync(c, settings).ConfigureAwait(false);
            count = MessageSpool.ReadEach(settings.Spool.Directory, problem => c.Error.WriteLine($"actormta: {problem}")).Count();
        }
        await c.Out.WriteLineAsync(count.ToString(CultureInfo.InvariantCulture)).ConfigureAwait(false);
        return ExitCodes.Ok;
    }

    private static async Task<int> ShowAsync(CommandContext c, ParseResult r, string id)
    {
        if (!CheckId(c, id)) return ExitCodes.BadUsage;
        if (c.Settings(r) is not { } settings) return ExitCodes.BadUsage;

        QueuedMessage? state = null;
        var answer = await c.AskAsync(settings, new JsonObject { ["command"] = "show", ["id"] = id }, quietIfNotRunning: true).ConfigureAwait(false);
        if (answer.Body is { } body) state = QueueListing.FromJson(body["message"]);
        else if (!answer.NotRunning) return answer.ExitCode;
        else await c.Error.WriteLineAsync($"actormta: the MTA is not running (no answer on {settings.Control.SocketPath}); reading the spool files in {settings.Spool.Directory}").ConfigureAwait(false);

        ReadOnlyMessage? found;
        try
        {
            found = MessageSpool.TryOpenReadOnly(settings.Spool.Directory, id);
        }
        catch (SpoolException e)
        {
            await c.Error.WriteLineAsync($"actormta: {e.Message}").ConfigureAwait(false);
            return ExitCodes.RuntimeFailure;
        }
        if (found is null)
        {
            await c.Error.WriteLineAsync($"actormta: message {id} is not in the queue").ConfigureAwait(false);
            return ExitCodes.RuntimeFailure;
        }
        var spooled = found.Message;
        state ??= QueueListing.FromSpool(spooled, DateTimeOffset.UtcNow);

        var output = new StringBuilder();
        MessageReport.AppendEnvelope(output, spooled.Envelope, state);
        output.Append("\nHeaders:\n");
        try
        {
            using var data = found.OpenData();
            output.Append(MessageReport.HeaderSection(data));
        }
        catch (SpoolException e)
        {
            output.Append("  (").Append(e.Message).Append(")\n");
        }
        output.Append("\nMain log:\n");
        MessageReport.AppendLogLines(output, settings.Log.MainLogPath, id, spooled.Envelope.ReceivedAt);
        await c.Out.WriteAsync(output.ToString()).ConfigureAwait(false);
        await c.Out.FlushAsync().ConfigureAwait(false);
        return ExitCodes.Ok;
    }
}
