namespace ActorMta.Smtp;

/// <summary>Item syntax shared by host and domain lists, as in Exim: surrounding space is ignored, a leading "!" negates.</summary>
internal static class ListItem
{
    public static string Strip(string text, out bool negated)
    {
        ArgumentNullException.ThrowIfNull(text, nameof(text));
        string item = text.Trim();
        negated = item.StartsWith('!');
        return negated ? item[1..].TrimStart() : item;
    }
}
