using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace AutoKernel.Build.Records;

/// <summary>
/// The writers' lock of one log file: a monitor per full path within this process, then the sidecar
/// file <c>&lt;log&gt;.lock</c> across processes. .NET opens a file with <see cref="FileShare.None"/>
/// by taking <c>flock(LOCK_EX | LOCK_NB)</c> on Unix and a deny-all sharing mode on Windows, so a
/// second opener fails at once with an <see cref="IOException"/>; we retry with short sleeps up to
/// the timeout. On Linux and Windows a byte-range lock (<see cref="FileStream.Lock"/>, fcntl
/// <c>F_SETLK</c> on Linux) is taken as well, because the <c>flock</c> is skipped when the
/// <c>System.IO.DisableFileLocking</c> switch (DOTNET_SYSTEM_IO_DISABLEFILELOCKING) is on.
/// Closing the sidecar releases both; the file itself stays.
/// </summary>
internal sealed class LogLock : IDisposable
{
    private static readonly ConcurrentDictionary<string, object> Gates =
        new(OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);

    private readonly object _gate;
    private readonly FileStream _file;

    private LogLock(object gate, FileStream file)
    {
        _gate = gate;
        _file = file;
    }

    /// <summary>Waits for the lock of the log at <paramref name="fullPath"/>.</summary>
    /// <exception cref="IOException">Not acquired within <paramref name="timeout"/>.</exception>
    public static LogLock Acquire(string fullPath, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        object gate = Gates.GetOrAdd(fullPath, _ => new object());
        if (!Monitor.TryEnter(gate, timeout))
            throw TimedOut(fullPath, timeout, "another thread of this process", null);
        try
        {
            string lockPath = fullPath + ".lock";
            while (true)
            {
                try
                {
                    return new LogLock(gate, Open(lockPath));
                }
                catch (IOException e) when (e is not (FileNotFoundException or DirectoryNotFoundException or PathTooLongException))
                {
                    if (clock.Elapsed >= timeout)
                        throw TimedOut(fullPath, timeout, "another process (" + lockPath + ")", e);
                    Thread.Sleep(Random.Shared.Next(1, 16));
                }
            }
        }
        catch
        {
            Monitor.Exit(gate);
            throw;
        }
    }

    private static FileStream Open(string lockPath)
    {
        var file = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 0);
        try
        {
            if (OperatingSystem.IsLinux() || OperatingSystem.IsWindows())
                file.Lock(0, 1);
            return file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static IOException TimedOut(string log, TimeSpan timeout, string holder, Exception? inner) =>
        new($"{log}: gave up waiting for {holder} to finish appending after {timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s", inner);

    public void Dispose()
    {
        _file.Dispose();
        Monitor.Exit(_gate);
    }
}
