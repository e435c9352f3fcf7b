using ActorMta.Destinations;
using ActorMta.Routing;

namespace ActorMta.Outbound;

/// <summary>Session → agent: give me the next job for my destination, if one waits.</summary>
internal sealed record NextJobRequest(DestinationKey Key, Akka.Actor.IActorRef Session);

/// <summary>
/// Agent → session: the next job (null: none, QUIT now), and whether more wait behind it (if not, and
/// idle connections are not kept, QUIT rides with it). With <c>idle-connection-timeout</c> the agent
/// may hold this reply while the connection is idle: it answers when a job for the destination
/// arrives, or with null when the idle time is over.
/// </summary>
internal sealed record NextJobReply(OutboundJob? Job, bool MoreWaiting);

/// <summary>Session → agent: a job is finished on this connection (every recipient has an outcome).</summary>
internal sealed record JobFinished(RemoteDeliveryResult Result);

/// <summary>
/// Session → agent: the host could not take this job (connect failed, banner refused, connection
/// lost before any reply to the transaction): try the job's next host.
/// </summary>
internal sealed record HostUnusable(OutboundJob Job, NextHop Hop, string Reason);

/// <summary>
/// Session → agent: the job it was just handed could not start because the connection died while
/// it was idle (the server closed it or sent something unasked). Nothing of the job was sent or
/// answered: start it again on a new connection to the same host.
/// </summary>
internal sealed record JobReturned(OutboundJob Job, string Reason);
