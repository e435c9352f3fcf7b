namespace ActorMta.Interop.Tests.Targets;

/// <summary>The server the interop tests point their peers at: ActorMta.</summary>
public static class TestTargets
{
    public const string Domain = "test.example";
    public const string Mailbox = "u";
    public const string Recipient = Mailbox + "@" + Domain;

    /// <summary>Starts ActorMta accepting for <see cref="Domain"/>.</summary>
    public static async Task<ISmtpTarget> StartAsync() => await ActorMtaTarget.StartAsync([Domain]);
}
