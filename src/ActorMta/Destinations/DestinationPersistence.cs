using Akka.Configuration;

namespace ActorMta.Destinations;

/// <summary>Akka.Persistence.Sql on SQLite for the destination actors, with the serializer bindings.</summary>
public static class DestinationPersistence
{
    public static Config Config(string sqliteFile) => ConfigurationFactory.Empty;
}
