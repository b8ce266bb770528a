namespace AutoKernel.TestSupport;

/// <summary>What this process inherited about POSIX signals (Linux).</summary>
public static class ProcessSignals
{
    /// <summary>SIGINT's number.</summary>
    public const int SigInt = 2;

    /// <summary>
    /// Whether this process ignores <paramref name="signal"/> (its bit, signal - 1, in the SigIgn mask of
    /// /proc/self/status). A background job of a non-interactive shell starts with SIGINT ignored and
    /// passes that on to its children; .NET keeps an inherited ignore, so a handler registered for it
    /// never runs, and a test that sends it must know.
    /// </summary>
    public static bool Ignored(int signal)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(signal, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(signal, 64);
        string line = File.ReadLines("/proc/self/status").Single(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        ulong mask = Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16);
        return (mask & (1UL << (signal - 1))) != 0;
    }
}
