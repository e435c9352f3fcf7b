namespace ActorMta.Configuration;

public sealed partial record QueueSettings
{
    /// <summary><c>queue.delay-warning</c> (Exim's <c>delay_warning</c>): a message still undelivered
    /// after this long on the queue, and again after each further period, earns its sender a delay
    /// report (RFC 3464 <c>Action: delayed</c>). Zero: never.</summary>
    public TimeSpan DelayWarning { get; init; } = TimeSpan.FromHours(24);
}
