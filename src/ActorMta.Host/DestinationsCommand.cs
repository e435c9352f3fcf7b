using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace ActorMta.Host;

/// <summary>
/// <c>actormta destinations</c>: every remote IP:port the running MTA knows, with its
/// early-pipelining record, its host retry state and the connections in use. Exit codes as for
/// the queue verbs (1 when the MTA is not running).
/// </summary>
internal static class DestinationsCommand
{
    public static Command Create(CommandContext c)
    {
        var json = new Option<bool>("--json") { Description = "One JSON object per destination and line." };
        var command = c.NewCommand("destinations", "List remote destinations: early-pipelining record, retry state, connections in use.");
        command.Add(json);
        command.SetAction((r, _) => RunAsync(c, r, r.GetValue(json)));
        return command;
    }

    private static async Task<int> RunAsync(CommandContext c, ParseResult r, bool json)
    {
        if (c.Settings(r) is not { } settings) return ExitCodes.BadUsage;
        var answer = await c.AskAsync(settings, new JsonObject { ["command"] = "destinations" }).ConfigureAwait(false);
        if (answer.Body is not { } body) return answer.ExitCode;
        var output = new StringBuilder();
        foreach (var node in body["destinations"]!.AsArray())
        {
            var d = node!.AsObject();
            if (json)
            {
                output.Append(d.ToJsonString(Control.ControlProtocol.Json)).Append('\n');
                continue;
            }
            output.Append((string?)d["destination"]).Append("  connections in use: ").Append((int)d["connections"]!);
            if ((bool?)d["in-memory"] == true) output.Append("  (in memory only: the store was unavailable)");
            output.Append('\n');
            output.Append("  early pipelining: ");
            if (d["early-pipelining"] is JsonObject e)
            {
                output.Append("learned ").Append(Time(e["learned"])).Append("; ").Append(Words(e["cleartext"]));
                var tls = Words(e["tls"]);
                if (tls != "-") output.Append("; after STARTTLS ").Append(tls);
                output.Append('\n');
            }
            else output.Append("no record\n");
            output.Append("  retry: ");
            if (d["retry"] is JsonObject retry)
            {
                output.Append((int)retry["failures"]!).Append(" failure(s) since ").Append(Time(retry["first-failure"]))
                      .Append(", next try ").Append(Time(retry["next-try"])).Append(": ").Append((string?)retry["last-error"]).Append('\n');
            }
            else output.Append("none\n");
        }
        await c.Out.WriteAsync(output.ToString()).ConfigureAwait(false);
        await c.Out.FlushAsync().ConfigureAwait(false);
        return ExitCodes.Ok;
    }

    private static string Words(JsonNode? list) =>
        list is JsonArray a && a.Count > 0 ? string.Join(' ', a.Select(n => (string?)n)) : "-";

    private static string Time(JsonNode? iso) =>
        DateTimeOffset.TryParse((string?)iso, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var t)
            ? t.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture)
            : (string?)iso ?? "?";
}
