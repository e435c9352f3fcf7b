using System.Text.Json.Nodes;
using Akka.Actor;
using ActorMta.Destinations;
using ActorMta.Queue;
using ActorMta.Spool;

namespace ActorMta.Control;

/// <summary>
/// Answers the control endpoint's requests (<see cref="ControlProtocol"/>) by asking the queue
/// manager and the destinations actor, and by local submission.
/// </summary>
public sealed class ControlCommands(IActorRef queue, IActorRef destinations, LocalSubmission submission)
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(30);

    public async Task<ControlAnswer> HandleAsync(ControlRequest request)
    {
        // As Exim's queue_list_requires_admin and admin-only -M options: other users send mail and nothing else.
        if (!request.Admin && request.Command != "submit")
        {
            return ControlServer.Error(ControlProtocol.Forbidden,
                $"{request.Command} is for root and the MTA's user; {request.User} may only submit mail");
        }

        try
        {
            return request.Command switch
            {
                "list" => await ListAsync().ConfigureAwait(false),
                "count" => Ok("count", await queue.Ask<int>(QueueManager.CountQueue.Instance, AskTimeout).ConfigureAwait(false)),
                "show" => await ShowAsync(Id(request)).ConfigureAwait(false),
                "deliver" => request.Body["all"] is JsonValue all && all.TryGetValue(out bool isAll) && isAll
                    ? await AskAsync(new DeliverNow(null, request.User)).ConfigureAwait(false)
                    : await AskAsync(new DeliverNow(Id(request), request.User)).ConfigureAwait(false),
                "remove" => await AskAsync(new RemoveMessage(Id(request), request.User)).ConfigureAwait(false),
                "bounce" => await AskAsync(new BounceMessage(Id(request), request.User)).ConfigureAwait(false),
                "freeze" => await AskAsync(new FreezeMessage(Id(request), true, request.User)).ConfigureAwait(false),
                "thaw" => await AskAsync(new FreezeMessage(Id(request), false, request.User)).ConfigureAwait(false),
                "destinations" => await DestinationsAsync().ConfigureAwait(false),
                "submit" => await SubmitAsync(request).ConfigureAwait(false),
                var other => ControlServer.Error(ControlProtocol.BadRequest, $"unknown command \"{other}\""),
            };
        }
        catch (BadIdException e)
        {
            return ControlServer.Error(ControlProtocol.BadRequest, e.Message);
        }
        catch (SubmissionException e)
        {
            return ControlServer.Error(e.Status, e.Message);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            return ControlServer.Error(ControlProtocol.Failed, $"the MTA did not answer within {AskTimeout.TotalSeconds:0} s");
        }
    }

    private sealed class BadIdException(string message) : Exception(message);

    private static string Id(ControlRequest request)
    {
        string? id = (string?)request.Body["id"];
        if (id is null) throw new BadIdException($"{request.Command} needs a message id");
        if (!MessageSpool.IsValidMessageId(id)) throw new BadIdException($"\"{id}\" is not a message id (they look like 1xXdwa-Un3fSo-uC)");
        return id;
    }

    private static JsonObject Ok(string name, JsonNode? value) => new() { ["ok"] = true, [name] = value };

    private Task<QueueSnapshot> SnapshotAsync(string? id) => queue.Ask<QueueSnapshot>(new QueueManager.GetQueue(id), AskTimeout);

    /// <summary>The head says how many rows follow; the rows are streamed from the snapshot.</summary>
    private async Task<ControlAnswer> ListAsync()
    {
        var messages = (await SnapshotAsync(null).ConfigureAwait(false)).Messages;
        return new ControlAnswer(Ok("messages", messages.Count), (stream, ct) => QueueListing.WriteRowsAsync(stream, messages, ct));
    }

    private async Task<JsonObject> ShowAsync(string id)
    {
        var snapshot = await SnapshotAsync(id).ConfigureAwait(false);
        var message = snapshot.Messages.FirstOrDefault(m => m.Id == id);
        return message is null
            ? ControlServer.Error(ControlProtocol.NotFound, $"message {id} is not in the queue")
            : Ok("message", QueueListing.ToJson(message));
    }

    private async Task<JsonObject> AskAsync(object command)
    {
        var result = await queue.Ask<QueueCommandResult>(command, AskTimeout).ConfigureAwait(false);
        return result.Status switch
        {
            QueueCommandStatus.Done => Ok("text", result.Text),
            QueueCommandStatus.NotFound => ControlServer.Error(ControlProtocol.NotFound, result.Text),
            QueueCommandStatus.Busy => ControlServer.Error(ControlProtocol.Busy, result.Text),
            _ => ControlServer.Error(ControlProtocol.Failed, result.Text),
        };
    }

    private async Task<JsonObject> DestinationsAsync()
    {
        // Each destination answers within ListTimeout; the list as a whole gets a little longer.
        var states = await destinations.Ask<IReadOnlyList<DestinationState>>(
            ListDestinations.Instance, ActorMta.Destinations.Destinations.ListTimeout + TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        return Ok("destinations", new JsonArray([.. states.Select(s => (JsonNode)DestinationListing.ToJson(s))]));
    }

    private async Task<JsonObject> SubmitAsync(ControlRequest request)
    {
        var body = request.Body;
        var recipients = body["recipients"] is JsonArray list ? list.Select(r => (string?)r ?? "").ToList() : [];
        bool extract = body["extract"] is JsonValue e && e.TryGetValue(out bool x) && x;
        // Only an admin chooses the envelope sender (-f); anyone else's mail is from themselves, as
        // Exim treats untrusted users, so a local account cannot send bounces or mail "from" others.
        string? sender = request.Admin ? (string?)body["sender"] : null;
        // Checked again here: the socket takes requests from any local program, not only our sendmail.
        string? notify = (string?)body["notify"] is { } n ? Smtp.DsnValues.Notify(n) ?? throw new SubmissionException(ControlProtocol.BadRequest, $"bad notify \"{n}\"") : null;
        string? ret = (string?)body["ret"] is { } r ? Smtp.DsnValues.Ret(r) ?? throw new SubmissionException(ControlProtocol.BadRequest, $"bad ret \"{r}\"") : null;
        string id = await submission.SubmitAsync(new Submission(
            sender, recipients, extract, (string?)body["full-name"], request.User, request.Data) { Notify = notify, Ret = ret }).ConfigureAwait(false);
        return Ok("id", id);
    }
}
