namespace ActorMta.Smtp;

public static class CommandParser
{
    public static ParseResult Parse(ReadOnlySpan<byte> line) => throw new NotImplementedException();
}
