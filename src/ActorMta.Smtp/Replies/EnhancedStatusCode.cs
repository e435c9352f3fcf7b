namespace ActorMta.Smtp;

/// <summary>RFC 3463 syntax: class "." subject "." detail, class 2, 4 or 5 matching the reply code.</summary>
internal static class EnhancedStatusCode
{
    public static bool IsValid(string value, int replyCode)
    {
        string[] parts = value.Split('.');
        if (parts.Length != 3 || parts[0].Length != 1 || parts[0][0] - '0' != replyCode / 100)
        {
            return false;
        }

        // subject = 1*3digit, detail = 1*3digit
        return IsDigits(parts[1]) && IsDigits(parts[2]);
    }

    private static bool IsDigits(string s) => s.Length is >= 1 and <= 3 && s.All(char.IsAsciiDigit);
}
