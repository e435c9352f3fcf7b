namespace ActorMta.Routing;

/// <summary>
/// Credentials a smarthost route logs in with (SMTP AUTH, PLAIN or LOGIN, whichever the server
/// offers, PLAIN first). Sent only over TLS unless <paramref name="AllowCleartext"/>.
/// </summary>
public sealed record SmarthostAuth(string User, string Password, bool AllowCleartext)
{
    /// <summary>Never prints the password (records print every member by default, and settings get logged).</summary>
    public override string ToString() => $"SmarthostAuth {{ User = {User}, AllowCleartext = {AllowCleartext} }}";
}
