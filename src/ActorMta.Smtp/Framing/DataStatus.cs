namespace ActorMta.Smtp;

public enum DataStatus
{
    NeedMoreInput,
    Complete,
}
