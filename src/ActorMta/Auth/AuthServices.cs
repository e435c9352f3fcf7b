namespace ActorMta.Auth;

/// <summary>What every inbound session of a node shares for SMTP AUTH: the users and the failure counter.</summary>
public sealed record AuthServices(UserStore Users, AuthFailureLimiter Failures);
