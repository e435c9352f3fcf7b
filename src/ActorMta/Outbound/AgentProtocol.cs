using ActorMta.Destinations;
using ActorMta.Routing;

namespace ActorMta.Outbound;

/// <summary>Session → agent: give me the next job for my destination, if one waits.</summary>
internal sealed record NextJobRequest(DestinationKey Key, Akka.Actor.IActorRef Session);

/// <summary>Agent → session: the next job (null: none), and whether more wait behind it (if not, QUIT rides with it).</summary>
internal sealed record NextJobReply(OutboundJob? Job, bool MoreWaiting);

/// <summary>Session → agent: a job is finished on this connection (every recipient has an outcome).</summary>
internal sealed record JobFinished(RemoteDeliveryResult Result);

/// <summary>
/// Session → agent: the host could not take this job (connect failed, banner refused, connection
/// lost before any reply to the transaction): try the job's next host.
/// </summary>
internal sealed record HostUnusable(OutboundJob Job, NextHop Hop, string Reason);
