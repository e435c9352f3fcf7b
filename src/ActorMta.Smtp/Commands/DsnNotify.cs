namespace ActorMta.Smtp;

/// <summary>The RCPT NOTIFY= parameter (RFC 3461 4.1). <see cref="Never"/> never combines with the others.</summary>
[Flags]
public enum DsnNotify
{
    Unspecified = 0,
    Never = 1,
    Success = 2,
    Failure = 4,
    Delay = 8,
}
