using System.Text;
using ActorMta.Delivery.Local;
using ActorMta.Tests.Queue;

namespace ActorMta.Tests.Delivery;

public sealed class MaildirDeliveryTests : IDisposable
{
    private readonly SpoolFixture _f = new();
    private readonly MaildirDelivery _maildir;

    public MaildirDeliveryTests() => _maildir = new MaildirDelivery(_f.Settings.LocalDelivery, "mx.test.example");

    public void Dispose() => _f.Dispose();

    [Fact]
    public async Task A_delivery_creates_the_maildir_and_puts_return_path_delivered_to_and_the_exact_data_in_new()
    {
        var envelope = await _f.StoreAsync("Bob@Test.Example");

        var result = await _maildir.DeliverAsync(envelope, 0, () => _f.Spool.OpenData(envelope.MessageId), maybeRepeated: false);

        var delivered = Assert.IsType<LocalDeliveryResult.Delivered>(result);
        Assert.False(delivered.AlreadyPresent);
        string name = $"{envelope.ReceivedAt.ToUnixTimeSeconds()}.{envelope.MessageId}_0.mx.test.example";
        Assert.Equal([$"new/{name}"], _f.MaildirFiles("bob"));
        Assert.True(Directory.Exists(Path.Combine(_f.MaildirRoot, "bob", "tmp")));
        Assert.True(Directory.Exists(Path.Combine(_f.MaildirRoot, "bob", "cur")));
        Assert.Equal(
            SpoolFixture.Expected("alice@remote.example", "Bob@Test.Example", SpoolFixture.SampleData),
            File.ReadAllBytes(Path.Combine(_f.MaildirRoot, "bob", "new", name)));
    }

    [Fact]
    public async Task Data_with_bare_LF_line_endings_gets_LF_headers_and_the_null_sender_is_an_empty_return_path()
    {
        var envelope = _f.NewEnvelope("bob@test.example") with { Sender = "" };
        byte[] data = Encoding.ASCII.GetBytes("Subject: unix\n\nbody\n");
        await _f.Spool.StoreAsync(envelope, [data]);

        await _maildir.DeliverAsync(envelope, 0, () => _f.Spool.OpenData(envelope.MessageId), maybeRepeated: false);

        string file = Directory.GetFiles(Path.Combine(_f.MaildirRoot, "bob", "new")).Single();
        Assert.Equal("Return-Path: <>\nDelivered-To: bob@test.example\nSubject: unix\n\nbody\n", File.ReadAllText(file));
    }

    [Fact]
    public async Task A_longer_file_a_crashed_attempt_left_in_tmp_under_the_same_name_is_replaced_not_appended_to()
    {
        var envelope = await _f.StoreAsync("bob@test.example");
        string name = _maildir.FileNameFor(envelope.MessageId, 0, envelope.ReceivedAt);
        string tmp = Path.Combine(_f.MaildirRoot, "bob", "tmp");
        Directory.CreateDirectory(tmp);
        Directory.CreateDirectory(Path.Combine(_f.MaildirRoot, "bob", "new"));
        Directory.CreateDirectory(Path.Combine(_f.MaildirRoot, "bob", "cur"));
        File.WriteAllText(Path.Combine(tmp, name), new string('x', 20_000));

        var result = await _maildir.DeliverAsync(envelope, 0, () => _f.Spool.OpenData(envelope.MessageId), maybeRepeated: true);

        Assert.False(Assert.IsType<LocalDeliveryResult.Delivered>(result).AlreadyPresent);
        Assert.Equal([$"new/{name}"], _f.MaildirFiles("bob"));
        Assert.Equal(
            SpoolFixture.Expected("alice@remote.example", "bob@test.example", SpoolFixture.SampleData),
            File.ReadAllBytes(Path.Combine(_f.MaildirRoot, "bob", "new", name)));
    }

    [Fact]
    public async Task A_message_over_a_megabyte_is_streamed_into_the_maildir_byte_for_byte()
    {
        // Over the size written from one buffer: the streamed path, in 64 KiB pieces.
        var line = Encoding.ASCII.GetBytes(new string('y', 998) + "\r\n");
        var data = new List<byte>(Encoding.ASCII.GetBytes("Subject: large\r\n\r\n"));
        while (data.Count < 1_500_000) data.AddRange(line);
        var envelope = _f.NewEnvelope("bob@test.example");
        await _f.Spool.StoreAsync(envelope, [data.ToArray()]);

        var result = await _maildir.DeliverAsync(envelope, 0, () => _f.Spool.OpenData(envelope.MessageId), maybeRepeated: false);

        string file = Assert.IsType<LocalDeliveryResult.Delivered>(result).Path;
        Assert.Equal(
            SpoolFixture.Expected(envelope.Sender, "bob@test.example", data.ToArray()),
            File.ReadAllBytes(file));
    }

    [Fact]
    public async Task A_repeated_delivery_finds_the_file_in_new_and_does_not_write_another()
    {
        var envelope = await _f.StoreAsync("bob@test.example");
        await _maildir.DeliverAsync(envelope, 0, () => _f.Spool.OpenData(envelope.MessageId), maybeRepeated: false);

        var again = await _maildir.DeliverAsync(envelope, 0, () => _f.Spool.OpenData(envelope.MessageId), maybeRepeated: true);

        Assert.True(Assert.IsType<LocalDeliveryResult.Delivered>(again).AlreadyPresent);
        Assert.Single(_f.MaildirFiles("bob"));
    }

    [Fact]
    public async Task A_repeated_delivery_finds_the_file_a_mail_reader_moved_to_cur_with_flags()
    {
        var envelope = await _f.StoreAsync("bob@test.example");
        var first = (LocalDeliveryResult.Delivered)await _maildir.DeliverAsync(envelope, 0, () => _f.Spool.OpenData(envelope.MessageId), false);
        string seen = Path.Combine(_f.MaildirRoot, "bob", "cur", Path.GetFileName(first.Path) + ":2,S");
        File.Move(first.Path, seen);

        var again = await _maildir.DeliverAsync(envelope, 0, () => _f.Spool.OpenData(envelope.MessageId), maybeRepeated: true);

        Assert.True(Assert.IsType<LocalDeliveryResult.Delivered>(again).AlreadyPresent);
        Assert.Equal(["cur/" + Path.GetFileName(seen)], _f.MaildirFiles("bob"));
    }

    [Fact]
    public async Task Two_recipients_of_one_message_in_the_same_mailbox_get_two_files()
    {
        var envelope = await _f.StoreAsync("bob@test.example", "BOB@mx.test.example");

        await _maildir.DeliverAsync(envelope, 0, () => _f.Spool.OpenData(envelope.MessageId), false);
        await _maildir.DeliverAsync(envelope, 1, () => _f.Spool.OpenData(envelope.MessageId), false);

        Assert.Equal(2, _f.MaildirFiles("bob").Length);
    }

    [Theory]
    [InlineData("../etc@test.example")]
    [InlineData("..@test.example")]
    [InlineData("a/b@test.example")]
    [InlineData("\".hidden\"@test.example")]
    [InlineData("@test.example")]
    public async Task A_local_part_that_is_no_safe_folder_name_fails_for_good_and_writes_nothing(string address)
    {
        var envelope = await _f.StoreAsync(address);

        var result = await _maildir.DeliverAsync(envelope, 0, () => _f.Spool.OpenData(envelope.MessageId), false);

        Assert.Contains("not a safe mailbox name", Assert.IsType<LocalDeliveryResult.Failed>(result).Reason);
        Assert.False(Directory.Exists(_f.MaildirRoot) && Directory.EnumerateFileSystemEntries(_f.MaildirRoot).Any());
    }

    [Fact]
    public async Task A_maildir_that_cannot_be_written_is_a_deferral_not_a_failure()
    {
        Directory.CreateDirectory(_f.MaildirRoot);
        File.WriteAllText(Path.Combine(_f.MaildirRoot, "bob"), "a file where the maildir should be");
        var envelope = await _f.StoreAsync("bob@test.example");

        var result = await _maildir.DeliverAsync(envelope, 0, () => _f.Spool.OpenData(envelope.MessageId), false);

        Assert.Contains(Path.Combine(_f.MaildirRoot, "bob"), Assert.IsType<LocalDeliveryResult.Deferred>(result).Reason);
    }
}
