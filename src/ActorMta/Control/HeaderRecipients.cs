using System.Text;

namespace ActorMta.Control;

/// <summary>
/// The addresses in an RFC 5322 address-list header value (To, Cc, Bcc), for <c>sendmail -t</c>:
/// display names, comments and group names dropped; <c>Name &lt;a@b&gt;</c> gives <c>a@b</c>.
/// </summary>
public static class HeaderRecipients
{
    public static IReadOnlyList<string> Parse(string value)
    {
        var found = new List<string>();
        var item = new StringBuilder();
        string? angle = null;
        bool inQuotes = false, inAngle = false;
        int comment = 0;
        var angleText = new StringBuilder();

        void EndItem()
        {
            string address = angle ?? item.ToString().Trim();
            // A route (@a,@b:user@c) is obsolete syntax; the mailbox is after the colon.
            int colon = address.StartsWith('@') ? address.IndexOf(':') : -1;
            if (colon >= 0) address = address[(colon + 1)..];
            address = address.Trim();
            if (address.Length > 0) found.Add(address);
            item.Clear();
            angle = null;
        }

        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (inQuotes)
            {
                if (c == '\\' && i + 1 < value.Length) { (inAngle ? angleText : item).Append(c).Append(value[++i]); continue; }
                if (c == '"') inQuotes = false;
                (inAngle ? angleText : item).Append(c);
                continue;
            }
            if (comment > 0)
            {
                if (c == '\\') i++;
                else if (c == '(') comment++;
                else if (c == ')') comment--;
                continue;
            }
            switch (c)
            {
                case '(':
                    comment++;
                    break;
                case '"':
                    inQuotes = true;
                    (inAngle ? angleText : item).Append(c);
                    break;
                case '<' when !inAngle:
                    inAngle = true;
                    angleText.Clear();
                    break;
                case '>' when inAngle:
                    inAngle = false;
                    angle = angleText.ToString().Trim();
                    break;
                case ':' when !inAngle:
                    // "group name:" starts a group: what came before is its name, not an address.
                    item.Clear();
                    break;
                case ',' or ';' when !inAngle:
                    EndItem();
                    break;
                default:
                    if (inAngle) angleText.Append(c);
                    else if (angle is null) item.Append(c);
                    break;
            }
        }
        EndItem();
        return found;
    }
}
