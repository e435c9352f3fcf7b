using System.Text.Encodings.Web;
using System.Text.Json;

namespace ActorMta.Control;

/// <summary>
/// The control endpoint's wire protocol, one request per connection over the Unix socket:
/// <code>
/// client: {"command":"list"}\n                       one JSON object on one line (at most 64 KiB)
///         [N bytes of message data]                  only for "submit": exactly its "size" bytes
/// server: {"ok":true,...}\n                          or {"ok":false,"status":"not-found","error":"..."}\n
///         [rows]                                     only for "list": {"ok":true,"messages":N}\n, then
///                                                    N lines, one message each, as queue list --json prints it
/// </code>
/// Commands: <c>list</c>, <c>count</c>, <c>show</c> (id), <c>deliver</c> (id, or "all":true),
/// <c>remove</c>, <c>bounce</c>, <c>freeze</c>, <c>thaw</c> (id), <c>destinations</c>, and
/// <c>submit</c> (sender, recipients, extract, full-name, size; then the data). Who asks is not
/// part of a request: the server reads the peer's uid from the socket (SO_PEERCRED). Root and the
/// MTA's user may ask anything; other users may only submit, and their sender is themselves. A listing that
/// ends before its N rows was cut short (the MTA stopped, or failed while writing it): the client
/// says so rather than print part of the queue as if it were all of it.
/// </summary>
public static class ControlProtocol
{
    /// <summary>JSON as people read it ("+" and non-ASCII as they are); quotes and control characters stay escaped, so a document stays one line.</summary>
    public static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Longest request line accepted.</summary>
    public const int MaxRequestLine = 64 * 1024;

    // Error statuses in a failed answer; the CLI maps them to exit codes.

    /// <summary>The message id names no message in the queue.</summary>
    public const string NotFound = "not-found";

    /// <summary>A delivery attempt on the message is running.</summary>
    public const string Busy = "busy";

    /// <summary>The request is malformed or names a bad value (the operator's mistake).</summary>
    public const string BadRequest = "bad-request";

    /// <summary>The peer may not ask this: only root and the MTA's user may do more than submit mail.</summary>
    public const string Forbidden = "forbidden";

    /// <summary>The MTA could not do it (spool, disk, timeout).</summary>
    public const string Failed = "failed";
}
