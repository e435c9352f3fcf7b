namespace ActorMta.Smtp;

/// <summary>The MAIL BODY= parameter (RFC 6152 8BITMIME, RFC 3030 BINARYMIME).</summary>
public enum BodyType
{
    Unspecified,
    SevenBit,
    EightBitMime,
    BinaryMime,
}
