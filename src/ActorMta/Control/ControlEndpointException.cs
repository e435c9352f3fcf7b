namespace ActorMta.Control;

/// <summary>The control socket cannot be served; the message names the path and the key to change.</summary>
public sealed class ControlEndpointException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>No MTA answers on the control socket (not running, or the endpoint is off).</summary>
public sealed class ControlUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
