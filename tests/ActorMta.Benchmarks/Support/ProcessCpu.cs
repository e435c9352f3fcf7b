namespace ActorMta.Benchmarks.Support;

/// <summary>
/// CPU time (user + system) and context switches a process has used so far, from /proc. Per
/// message, these are steadier figures than messages/s on a shared machine: other load slows a
/// run down but hardly changes the work the server does per message. On a virtual machine whose
/// context switches are expensive (paravirtualised interrupts), switches per message explain
/// much of the CPU. Switches count the live threads of the process only (not its children).
/// </summary>
public readonly record struct ProcessCpu(TimeSpan Cpu, long Switches)
{
    public static ProcessCpu Of(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // Fields after the command name (which is in parentheses and may hold spaces).
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // utime, stime (fields 14, 15) and cutime, cstime (16, 17): the CPU of children it has
            // reaped, which for Exim is every finished SMTP session (one process each).
            long ticks = long.Parse(fields[11]) + long.Parse(fields[12]) + long.Parse(fields[13]) + long.Parse(fields[14]);
            long switches = 0;
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                try
                {
                    foreach (var line in File.ReadLines(Path.Combine(task, "status")))
                    {
                        if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal)
                            || line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                        {
                            switches += long.Parse(line[(line.IndexOf(':') + 1)..].Trim());
                        }
                    }
                }
                catch (IOException)
                {
                    // the thread ended meanwhile
                }
            }
            return new ProcessCpu(TimeSpan.FromSeconds(ticks / 100.0), switches); // USER_HZ is 100 on Linux
        }
        catch (IOException)
        {
            return default;
        }
    }

    /// <summary>CPU time per message in microseconds, for a difference of two readings taken around <paramref name="messages"/> messages.</summary>
    public double MicrosecondsPer(int messages) => Cpu.TotalMilliseconds * 1000 / messages;

    public static ProcessCpu operator -(ProcessCpu a, ProcessCpu b) => new(a.Cpu - b.Cpu, a.Switches - b.Switches);
}
