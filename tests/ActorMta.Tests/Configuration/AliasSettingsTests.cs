using ActorMta.Configuration;
using Xunit;

namespace ActorMta.Tests.ConfigurationLoading;

/// <summary><c>actormta.local-delivery.aliases</c>: what is read, and each mistake named by file, line and key.</summary>
public sealed class AliasSettingsTests : IDisposable
{
    private const string Key = "actormta.local-delivery.aliases";
    private readonly ConfigFolder _files = new();

    public void Dispose() => _files.Dispose();

    private string WriteFile(string text) => _files.Write(text);

    [Fact]
    public void Entries_are_read_in_any_case_and_a_dotted_name_stays_one_name()
    {
        string file = WriteFile("actormta.local-delivery.aliases = [\"Postmaster: Alice\", \" first.last :bob \", \"staff: alice, Bob,alice\"]\n");

        var local = SettingsLoader.Load(file, []).Settings.LocalDelivery;

        Assert.Equal(3, local.Aliases.Count);
        Assert.Equal(("alice", true), Users(local.UsersOf("POSTMASTER")));
        Assert.Equal(("bob", true), Users(local.UsersOf("first.last")));
        Assert.Equal(("alice,bob", true), Users(local.UsersOf("staff")));
        Assert.Equal(("alice", false), Users(local.UsersOf("Alice")));
    }

    /// <summary>The users joined with commas, for comparing (a tuple compares arrays by reference).</summary>
    private static (string Users, bool Aliased) Users((IReadOnlyList<string> Users, bool Aliased) found) => (string.Join(',', found.Users), found.Aliased);

    [Fact]
    public void The_default_has_no_aliases()
        => Assert.Empty(SettingsLoader.Load(null, []).Settings.LocalDelivery.Aliases);

    [Theory]
    [InlineData("[\"postmaster alice\"]", "\"postmaster alice\" is not of the form \"name: user\"")]
    [InlineData("[\"post master: alice\"]", "\"post master: alice\": \"post master\" is not a local part")]
    [InlineData("[\": alice\"]", "\": alice\": \"\" is not a local part")]
    [InlineData("[\"abuse: ../etc\"]", "\"abuse: ../etc\": \"../etc\" is not a user name (it names a folder under maildir-root)")]
    [InlineData("[\"abuse: alice@example.com\"]", "\"abuse: alice@example.com\": \"alice@example.com\" is not a user name")]
    [InlineData("[\"abuse:\"]", "\"abuse:\": \"\" is not a user name")]
    [InlineData("[\"abuse: alice\", \"Abuse: bob\"]", "\"abuse\" is given twice")]
    [InlineData("[\"abuse: postmaster\", \"postmaster: alice\"]", "\"abuse: postmaster\": \"postmaster\" is an alias itself; name the users it stands for")]
    [InlineData("[\"staff: alice, ../bob\"]", "\"staff: alice, ../bob\": \"../bob\" is not a user name")]
    [InlineData("[\"staff: alice,\"]", "\"staff: alice,\": \"\" is not a user name")]
    [InlineData("[\"loop: loop\"]", "\"loop: loop\": \"loop\" is an alias itself")]
    [InlineData("[\"postmaster: bob\"]\n  policy.local-users = [alice]", "\"postmaster: bob\": \"bob\" is not in actormta.policy.local-users")]
    [InlineData("{ postmaster = alice }", "expected a list of strings")]
    public void A_mistake_names_the_file_line_and_key(string value, string why)
    {
        string file = WriteFile($"# aliases\nactormta {{\n  local-delivery.aliases = {value}\n}}\n");

        var e = Assert.Throws<ConfigurationException>(() => SettingsLoader.Load(file, []));

        ConfigurationError error = Assert.Single(e.Errors);
        Assert.Equal($"{file}:3", error.Location);
        Assert.Equal(Key, error.Path);
        Assert.Contains(why, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"++\"")]
    [InlineData("a")]
    [InlineData("\"7\"")]
    [InlineData("\"@\"")]
    [InlineData("\"/\"")]
    public void A_recipient_delimiter_is_one_character_that_is_no_letter_or_digit(string value)
    {
        string file = WriteFile($"# delimiter\nactormta {{\n  local-delivery.recipient-delimiter = {value}\n}}\n");

        var error = Assert.Single(Assert.Throws<ConfigurationException>(() => SettingsLoader.Load(file, [])).Errors);

        Assert.Equal($"{file}:3", error.Location);
        Assert.Equal("actormta.local-delivery.recipient-delimiter", error.Path);
        Assert.StartsWith("expected one character that is not a letter or digit, such as \"+\" (\"\" for none), got ", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("alice+lists", "alice", false)]
    [InlineData("Alice+Lists+More", "alice", false)]
    [InlineData("+alice", "+alice", false)]
    [InlineData("abuse+x", "alice", true)]
    [InlineData("whole+alias", "bob", true)]
    [InlineData("whole", "whole", false)]
    public void The_recipient_delimiter_cuts_the_local_part_after_a_whole_alias_is_looked_up(string localPart, string user, bool aliased)
    {
        string file = WriteFile("actormta.local-delivery { recipient-delimiter = \"+\", aliases = [\"abuse: alice\", \"whole+alias: bob\"] }\n");
        Assert.Equal((user, aliased), Users(SettingsLoader.Load(file, []).Settings.LocalDelivery.UsersOf(localPart)));
    }

    [Fact]
    public void A_target_in_the_user_list_is_accepted()
    {
        string file = WriteFile("actormta { policy.local-users = [Alice], local-delivery.aliases = [\"postmaster: alice\"] }\n");
        Assert.Equal(("alice", true), Users(SettingsLoader.Load(file, []).Settings.LocalDelivery.UsersOf("postmaster")));
    }
}
