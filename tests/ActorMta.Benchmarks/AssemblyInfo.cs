// The load generators and peers (smtp-source, Exim, /proc) are Linux-only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
