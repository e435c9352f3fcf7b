using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ActorMta.Transport.Tls;

/// <summary>
/// A server certificate read from PEM files as operators keep them (certbot's fullchain.pem and
/// privkey.pem): the leaf first, then any intermediates, and the key in its own file or after the
/// certificates. Every failure is a <see cref="TlsCertificateException"/> naming the file.
/// </summary>
public sealed class PemCertificate : IDisposable
{
    private PemCertificate(X509Certificate2 leaf, X509Certificate2Collection chain)
    {
        Leaf = leaf;
        Chain = chain;
    }

    /// <summary>The server certificate, with its private key.</summary>
    public X509Certificate2 Leaf { get; }

    /// <summary>The certificates after the leaf in the file, sent to clients so they can build the chain.</summary>
    public X509Certificate2Collection Chain { get; }

    /// <param name="keyPath">null: the key is in <paramref name="certificatePath"/> too.</param>
    public static PemCertificate Load(string certificatePath, string? keyPath)
    {
        string certificateText = ReadText(certificatePath, keyFile: false);
        string keyText = keyPath is null ? certificateText : ReadText(keyPath, keyFile: true);
        string keyFile = keyPath ?? certificatePath;

        var all = new X509Certificate2Collection();
        try
        {
            all.ImportFromPem(certificateText);
        }
        catch (CryptographicException e)
        {
            throw new TlsCertificateException($"\"{certificatePath}\" holds a damaged PEM certificate: {e.Message}", false, e);
        }

        if (all.Count == 0)
            throw new TlsCertificateException($"\"{certificatePath}\" holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)", false);

        X509Certificate2 leaf;
        try
        {
            leaf = X509Certificate2.CreateFromPem(certificateText, keyText);
        }
        catch (CryptographicException e)
        {
            foreach (var c in all) c.Dispose();
            var why = keyText.Contains("PRIVATE KEY-----", StringComparison.Ordinal)
                ? $"the private key in \"{keyFile}\" cannot be used with the certificate in \"{certificatePath}\": {e.Message}"
                : $"\"{keyFile}\" holds no PEM private key (expected -----BEGIN PRIVATE KEY-----)";
            throw new TlsCertificateException(why, keyPath is not null, e);
        }
        catch (ArgumentException e)
        {
            foreach (var c in all) c.Dispose();
            throw new TlsCertificateException($"\"{keyFile}\" holds no usable PEM private key: {e.Message}", keyPath is not null, e);
        }

        var chain = new X509Certificate2Collection();
        for (int i = 1; i < all.Count; i++) chain.Add(all[i]);
        all[0].Dispose();
        return new PemCertificate(leaf, chain);
    }

    private static string ReadText(string path, bool keyFile)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new TlsCertificateException($"cannot read \"{path}\": {e.Message}", keyFile, e);
        }
    }

    public void Dispose()
    {
        Leaf.Dispose();
        foreach (var c in Chain) c.Dispose();
    }
}
