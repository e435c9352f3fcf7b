namespace ActorMta.Smtp;

/// <summary>
/// A mailbox from a MAIL or RCPT path (RFC 5321 4.1.2, RFC 6531). <see cref="LocalPart"/> is the
/// semantic value: a quoted local part is stored without its quotes and escapes, so that
/// <c>"john"@example.com</c> and <c>john@example.com</c> compare equal. <see cref="Domain"/> is kept
/// as given (case included); an address literal keeps its brackets, e.g. "[192.0.2.1]".
/// <see cref="Domain"/> is "" only for the special recipient "Postmaster".
/// </summary>
public sealed record Mailbox(string LocalPart, string Domain)
{
    /// <summary>True when the local part or the domain has a non-ASCII character, i.e. the
    /// address needs SMTPUTF8 (RFC 6531 3.4). The session enforces that, not the parser.</summary>
    public bool IsInternational => !System.Text.Ascii.IsValid(LocalPart) || !System.Text.Ascii.IsValid(Domain);

    /// <summary>The address as it is written inside a path: local part quoted only when it is not a dot-string.</summary>
    public override string ToString()
    {
        if (Domain.Length == 0)
        {
            return LocalPart;
        }

        return LocalPartSyntax.IsDotString(LocalPart)
            ? string.Concat(LocalPart, "@", Domain)
            : string.Concat(LocalPartSyntax.Quote(LocalPart), "@", Domain);
    }
}
