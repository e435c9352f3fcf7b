using System.Buffers.Binary;
using System.Net.Sockets;
using ActorMta.Tests.CrashSafety;
using Xunit;

namespace ActorMta.Tests.HostProgram;

/// <summary>
/// <c>actormta.scheduling-policy</c> on the real program: the policy of every thread, as
/// <c>ps -L -o cls</c> shows it, read from /proc. Linux only (the option does nothing elsewhere).
/// </summary>
public sealed class SchedulingPolicyTests : IDisposable
{
    private const int SchedOther = 0;
    private const int SchedBatch = 3;

    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("actormta-sched-").FullName;

    public void Dispose() => Directory.Delete(_dataDirectory, recursive: true);

    [Fact]
    public async Task ByDefaultEveryThreadRunsUnderSchedBatchAlsoThoseCreatedForTheFirstMessage()
    {
        using var mta = await ActorMtaProcess.StartAsync(_dataDirectory, []);
        await SendOneMessageAsync(mta);

        var threads = Threads(mta.ProcessId);
        // The spool's I/O threads are made for the first message, long after the start: they must
        // have inherited the policy too (setting it on the threads of the moment did not do that).
        Assert.Contains(threads, t => t.Name.StartsWith("spool-io-", StringComparison.Ordinal));
        Assert.All(threads, t => Assert.True(t.Policy == SchedBatch, $"thread {t.Id} ({t.Name}) has policy {t.Policy}"));
        // The restart under the policy keeps the process's name (not "exe").
        Assert.Equal("dotnet", threads.Single(t => t.Id == mta.ProcessId).Name);
    }

    /// <summary>
    /// The restart keeps the pid and the start time, from which the runtime names its diagnostics
    /// socket: the tools (dotnet-counters, dotnet-trace, dotnet-dump) must find the new image
    /// listening there, not the dead socket file of the first one.
    /// </summary>
    [Fact]
    public async Task AfterTheRestartUnderBatchDotnetDiagnosticToolsCanStillAttach()
    {
        using var mta = await ActorMtaProcess.StartAsync(_dataDirectory, []);
        Assert.Equal(SchedBatch, Threads(mta.ProcessId).Single(t => t.Id == mta.ProcessId).Policy);

        // By pid and start time, as the tools find it: a killed process may have left a socket file
        // under a pid that was then reused.
        string path = ActorMta.Host.ThreadScheduling.DiagnosticsSocketPath(mta.ProcessId)!;
        Assert.True(File.Exists(path), $"no diagnostics socket {path}");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
        // The diagnostics IPC protocol's ProcessInfo request: the header alone (magic, total size 20,
        // command set 4 = process, command 0 = process info, reserved).
        byte[] request = [.. "DOTNET_IPC_V1\0"u8, 20, 0, 0x04, 0x00, 0, 0];
        await socket.SendAsync(request);
        var reply = new byte[4096];
        int received = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (received < 28)
        {
            int n = await socket.ReceiveAsync(reply.AsMemory(received), timeout.Token);
            Assert.True(n > 0, $"the diagnostics server closed after {received} bytes");
            received += n;
        }
        Assert.Equal("DOTNET_IPC_V1\0"u8.ToArray(), reply[..14]);
        Assert.Equal(0xFF, reply[16]); // command set "server"
        Assert.Equal(0x00, reply[17]); // OK
        Assert.Equal((ulong)mta.ProcessId, BinaryPrimitives.ReadUInt64LittleEndian(reply.AsSpan(20, 8)));
    }

    [Fact]
    public async Task NormalTakesAProgramStartedUnderBatchBackToSchedOther()
    {
        using var mta = await ActorMtaProcess.StartAsync(_dataDirectory, ["actormta.scheduling-policy=normal"], ["chrt", "--batch", "0"]);
        await SendOneMessageAsync(mta);

        Assert.All(Threads(mta.ProcessId), t => Assert.True(t.Policy == SchedOther, $"thread {t.Id} ({t.Name}) has policy {t.Policy}"));
    }

    [Fact]
    public async Task InheritLeavesThePolicyTheProgramWasStartedWith()
    {
        using (var normal = await ActorMtaProcess.StartAsync(_dataDirectory, ["actormta.scheduling-policy=inherit"]))
        {
            await SendOneMessageAsync(normal);
            Assert.All(Threads(normal.ProcessId), t => Assert.True(t.Policy == SchedOther, $"thread {t.Id} ({t.Name}) has policy {t.Policy}"));
        }
        using var batch = await ActorMtaProcess.StartAsync(_dataDirectory, ["actormta.scheduling-policy=inherit"], ["chrt", "--batch", "0"]);
        await SendOneMessageAsync(batch);
        Assert.All(Threads(batch.ProcessId), t => Assert.True(t.Policy == SchedBatch, $"thread {t.Id} ({t.Name}) has policy {t.Policy}"));
    }

    private static async Task SendOneMessageAsync(ActorMtaProcess mta)
    {
        var client = new LoadClient(mta.EndPoint, "postmaster@localhost", "sched");
        using var stop = new CancellationTokenSource();
        var run = client.RunAsync(stop.Token);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (client.Acknowledged.Count == 0 && !run.IsCompleted && DateTime.UtcNow < deadline) await Task.Delay(20);
        await stop.CancelAsync();
        await run;
        Assert.True(client.Acknowledged.Count > 0, "the message got no 250:\n" + mta.Output);
    }

    private sealed record ThreadInfo(int Id, string Name, int Policy);

    /// <summary>Every thread of <paramref name="pid"/>: its name and its SCHED_* policy (field 41 of /proc/.../stat).</summary>
    private static List<ThreadInfo> Threads(int pid)
    {
        Assert.True(OperatingSystem.IsLinux(), "scheduling policies are a Linux feature; this suite runs on Linux");
        var threads = new List<ThreadInfo>();
        foreach (string task in Directory.GetDirectories($"/proc/{pid}/task"))
        {
            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(task, "stat"));
            }
            catch (IOException)
            {
                continue; // the thread ended meanwhile
            }
            // "tid (name) state ..." where the name may hold spaces and parentheses: split after the last ')'.
            int open = stat.IndexOf('(');
            int close = stat.LastIndexOf(')');
            string[] fields = stat[(close + 2)..].Split(' ');
            // fields[0] is field 3 (state); the policy is field 41.
            threads.Add(new ThreadInfo(int.Parse(Path.GetFileName(task)), stat[(open + 1)..close], int.Parse(fields[41 - 3])));
        }
        Assert.NotEmpty(threads);
        return threads;
    }
}
