using System.Security.Cryptography.X509Certificates;
using ActorMta.Configuration;
using ActorMta.Smtp;
using ActorMta.Tests.Support;
using ActorMta.Transport.Tls;

namespace ActorMta.Tests.Tls;

/// <summary>
/// Where the server certificate comes from: configuration errors that name the file, line and key;
/// the self-signed certificate of a fresh install; and the SIGHUP reload that swaps the
/// certificate for new clients while encrypted connections carry on.
/// </summary>
public sealed class TlsCertificateTests(TlsFixture tls) : IClassFixture<TlsFixture>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("actormta-tlscfg-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }

    private ConfigurationError OnlyError(string tlsSection)
    {
        var file = Path.Combine(_folder, "actormta.conf");
        File.WriteAllText(file, "actormta {\n  tls {\n" + tlsSection + "\n  }\n}\n");
        var e = Assert.Throws<ConfigurationException>(() => SettingsLoader.Load(file, []));
        var error = Assert.Single(e.Errors);
        Assert.StartsWith(file + ":", error.Location);
        return error;
    }

    [Fact]
    public void AMissingCertificateFileNamesTheFileTheLineAndTheKey()
    {
        var missing = Path.Combine(_folder, "nowhere", "cert.pem");
        var error = OnlyError($"    certificate = \"{missing}\"");
        Assert.Equal($"{_folder}/actormta.conf:3: actormta.tls.certificate: cannot read \"{missing}\": Could not find a part of the path '{missing}'.", error.ToString());
    }

    [Fact]
    public void AnUnreadableKeyFileNamesThePrivateKeySetting()
    {
        // A folder where a file should be: unreadable for root too.
        var notAFile = Directory.CreateDirectory(Path.Combine(_folder, "key.pem")).FullName;
        var error = OnlyError($"    certificate = \"{tls.CertificatePath}\"\n    private-key = \"{notAFile}\"");
        Assert.Equal("actormta.tls.private-key", error.Path);
        Assert.Equal($"{_folder}/actormta.conf:4", error.Location);
        Assert.StartsWith($"cannot read \"{notAFile}\":", error.Message);
    }

    [Fact]
    public void AFileWithoutACertificateOrWithTheWrongKeyIsRefused()
    {
        var notPem = Path.Combine(_folder, "cert.txt");
        File.WriteAllText(notPem, "hello\n");
        Assert.Equal($"\"{notPem}\" holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)",
            OnlyError($"    certificate = \"{notPem}\"\n    private-key = \"{tls.KeyPath}\"").Message);

        using var other = tls.Authority.IssueServer(["other.test.example"]);
        var (_, otherKey) = tls.Authority.WritePem(other, _folder, "other");
        var mismatch = OnlyError($"    certificate = \"{tls.CertificatePath}\"\n    private-key = \"{otherKey}\"");
        Assert.Equal("actormta.tls.private-key", mismatch.Path);
        Assert.StartsWith($"the private key in \"{otherKey}\" cannot be used with the certificate in \"{tls.CertificatePath}\"", mismatch.Message);
    }

    [Fact]
    public void OldTlsVersionsAreRefused()
    {
        var error = OnlyError("    protocols = [\"TLS1.0\", \"TLS1.3\"]");
        Assert.Equal("actormta.tls.protocols", error.Path);
        Assert.Contains("unsupported TLS version \"TLS1.0\"", error.Message);
    }

    [Fact]
    public async Task AFreshDataDirectoryGetsASelfSignedCertificateThatIsReusedOnTheNextStart()
    {
        static MtaSettings SelfSigned(MtaSettings s) => s with { Tls = TlsSettings.Disabled with { AdvertiseHosts = HostList.Parse(["*"]) } };
        string directory;
        string firstThumbprint;
        await using (var mta = await TestMta.StartAsync(SelfSigned))
        {
            mta.KeepDirectory = true;
            directory = mta.Directory;
            var certificatePath = Path.Combine(directory, "tls", "selfsigned.crt");
            Assert.Equal($"TLS: no certificate configured (actormta.tls.certificate): generated a self-signed certificate for mx.test.example in {certificatePath}",
                mta.Node.Tls!.StartupNotes[0]);
            if (!OperatingSystem.IsWindows()) // the key is private from its first byte
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(directory, "tls", "selfsigned.key")));

            await using var client = await TlsSmtpClient.ConnectAsync(mta.EndPoint);
            await client.ReadRepliesAsync(1);
            await client.SendAsync("STARTTLS\r\n");
            await client.ReadRepliesAsync(1);
            await client.StartTlsAsync();
            firstThumbprint = client.ServerCertificate!.Thumbprint;
            Assert.Equal("CN=mx.test.example", client.ServerCertificate.Subject);
            Assert.Equal(X509CertificateLoader.LoadCertificateFromFile(certificatePath).Thumbprint, firstThumbprint);
        }

        await using (var again = await TestMta.StartAsync(SelfSigned, directory))
        {
            Assert.StartsWith("TLS: no certificate configured (actormta.tls.certificate): using the self-signed certificate ", again.Node.Tls!.StartupNotes[0]);
            await using var client = await TlsSmtpClient.ConnectAsync(again.EndPoint);
            await client.ReadRepliesAsync(1);
            await client.SendAsync("STARTTLS\r\n");
            await client.ReadRepliesAsync(1);
            await client.StartTlsAsync();
            Assert.Equal(firstThumbprint, client.ServerCertificate!.Thumbprint);
        }
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task ReloadSwapsTheCertificateForNewClientsWhileEncryptedConnectionsCarryOn()
    {
        // The node's own copies of the files, which the test then replaces as certbot would.
        var certificate = Path.Combine(_folder, "live.crt");
        var key = Path.Combine(_folder, "live.key");
        File.Copy(tls.CertificatePath, certificate);
        File.Copy(tls.KeyPath, key);
        await using var mta = await TestMta.StartAsync(tls.Settings(more: s => s with { Tls = s.Tls with { CertificatePath = certificate, PrivateKeyPath = key } }));
        var original = X509CertificateLoader.LoadCertificateFromFile(certificate).Thumbprint;

        await using var early = await TlsSmtpClient.ConnectTlsAsync(mta.EndPoint, viaStartTls: true);
        Assert.Equal(original, early.ServerCertificate!.Thumbprint);

        using var renewed = tls.Authority.IssueServer([TestMta.Hostname]);
        var (renewedCertificate, renewedKey) = tls.Authority.WritePem(renewed, Path.Combine(_folder, "renewed"));
        File.Copy(renewedCertificate, certificate, overwrite: true);
        File.Copy(renewedKey, key, overwrite: true);
        Assert.True(mta.Node.ReloadTls(new Logging.MainLog(Serilog.Log.Logger)));

        await using (var late = await TlsSmtpClient.ConnectTlsAsync(mta.EndPoint, viaStartTls: true))
            Assert.Equal(renewed.Thumbprint, late.ServerCertificate!.Thumbprint);

        // The connection made before the reload still works, and can still deliver.
        await early.SendAsync("EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\nDATA\r\n");
        Assert.EndsWith("354 Enter message, ending with \".\" on a line by itself\r\n", await early.ReadRepliesAsync(4));
        await early.SendAsync("Subject: across a reload\r\n\r\nhello\r\n.\r\n");
        Assert.StartsWith("250 2.0.0 OK id=", await early.ReadRepliesAsync(1));

        // A broken new file is refused; the renewed certificate stays in use.
        File.WriteAllText(certificate, "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n");
        Assert.False(mta.Node.Tls!.Reload(out var message));
        Assert.StartsWith($"TLS: certificate reload failed, keeping the current one (\"CN={TestMta.Hostname}\"", message);
        Assert.Matches($"\"{System.Text.RegularExpressions.Regex.Escape(certificate)}\" holds (no|a damaged) PEM certificate", message);
        await using (var after = await TlsSmtpClient.ConnectTlsAsync(mta.EndPoint, viaStartTls: true))
            Assert.Equal(renewed.Thumbprint, after.ServerCertificate!.Thumbprint);
    }
}
