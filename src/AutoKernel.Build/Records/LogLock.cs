using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace AutoKernel.Build.Records;

/// <summary>
/// The writers' lock of one log file: a monitor per full path within this process, then a lock
/// file across processes (<see cref="LockFileFor"/>, in the temporary folder). .NET opens a file with <see cref="FileShare.None"/>
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
    public static LogLock Acquire(string fullPath, TimeSpan timeout) => AcquireFile(fullPath, LockFileFor(fullPath, "append"), timeout, null);

    /// <summary>
    /// The lock file of a log for one <paramref name="purpose"/> ("append", "tuning"): in the
    /// temporary folder's autokernel-locks/, named by a hash of the log's full path, so that the
    /// project folder where the log is committed holds nothing else. Every process of one user on
    /// one machine computes the same name.
    /// </summary>
    public static string LockFileFor(string fullPath, string purpose)
    {
        string key = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? fullPath.ToUpperInvariant() : fullPath;
        string hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(purpose + "\n" + key)))[..20];
        string folder = Path.Combine(Path.GetTempPath(), "autokernel-locks");
        Directory.CreateDirectory(folder);
        return Path.Combine(folder, hash + "." + purpose + ".lock");
    }

    /// <summary>
    /// Waits for the lock file <paramref name="lockPath"/> (the gate of <paramref name="key"/> within
    /// this process); <paramref name="waiting"/> is called once if it is held by another process.
    /// </summary>
    public static LogLock AcquireFile(string key, string lockPath, TimeSpan timeout, Action? waiting)
    {
        var clock = Stopwatch.StartNew();
        object gate = Gates.GetOrAdd(key, _ => new object());
        if (!Monitor.TryEnter(gate, timeout))
            throw TimedOut(key, timeout, "another thread of this process", null);
        try
        {
            while (true)
            {
                try
                {
                    return new LogLock(gate, Open(lockPath));
                }
                catch (IOException e) when (e is not (FileNotFoundException or DirectoryNotFoundException or PathTooLongException))
                {
                    if (timeout != Timeout.InfiniteTimeSpan && clock.Elapsed >= timeout)
                        throw TimedOut(key, timeout, "another process (" + lockPath + ")", e);
                    waiting?.Invoke();
                    waiting = null;
                    // Appends hold the lock for milliseconds; a tuning build holds it for minutes.
                    Thread.Sleep(clock.Elapsed < TimeSpan.FromSeconds(1) ? Random.Shared.Next(1, 16) : 250);
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
