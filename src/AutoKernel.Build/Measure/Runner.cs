using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace AutoKernel.Build.Measure;

/// <summary>
/// AutoTVM's runner: compiles a batch (<see cref="BatchBuilder"/>) and measures each candidate in a
/// long-lived child process (`autokernel runner`), one at a time, in order. A candidate that hangs
/// is killed at <see cref="MeasureOptions.Timeout"/>; one that crashes the child (fail-fast, stack
/// overflow, access violation) is charged a runtime error; either way a fresh child takes the next
/// candidate. Candidate code never runs in this process.
/// </summary>
public sealed class Runner : IDisposable
{
    /// <summary>The hidden subcommand that runs the child side.</summary>
    public const string CommandName = "runner";

    /// <summary>How long the child may take to start and build the reference output before the candidate's clock starts.</summary>
    private static readonly TimeSpan s_prepareTimeout = TimeSpan.FromMinutes(5);

    private const int MaxStderrChars = 16 * 1024;
    private const int MessageStderrChars = 2000;

    private readonly object _gate = new();
    private readonly string _fileName;
    private readonly string[] _arguments;
    private ChildProcess? _child;
    private long _nextId;
    private bool _disposed;

    /// <param name="options">Timing options.</param>
    /// <param name="executable">
    /// The autokernel app host or autokernel.dll (run with the dotnet host) that serves the hidden
    /// `runner` command; default: the one beside this assembly.
    /// </param>
    public Runner(MeasureOptions options, string? executable = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Repeat, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.Timeout, TimeSpan.Zero, nameof(options));
        Options = options;
        (_fileName, _arguments) = executable is null ? DefaultCommand() : CommandFor(executable);
    }

    public MeasureOptions Options { get; }

    /// <summary>The compiler used for each batch.</summary>
    public BatchBuilder Builder { get; init; } = new();

    /// <summary>Seed of the random inputs and weights.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Child processes started so far (one, plus one per timeout or crash).</summary>
    public int ChildStarts { get; private set; }

    /// <summary>The running child's process id, or null before the first measurement (for tests).</summary>
    internal int? ChildProcessId => _child?.Id;

    /// <summary>The child's command line, for diagnostics.</summary>
    public string CommandLine => string.Join(" ", [_fileName, .. _arguments]);

    /// <summary>Builds the batch, then measures each candidate in order. Results are in batch order.</summary>
    public IReadOnlyList<MeasureResult> Measure(IReadOnlyList<Candidate> batch) => Measure(batch, CancellationToken.None);

    /// <summary>
    /// As <see cref="Measure(IReadOnlyList{Candidate})"/>; when <paramref name="cancellation"/>
    /// fires, the candidate being measured finishes and the results so far (a prefix of the
    /// batch) are returned.
    /// </summary>
    public IReadOnlyList<MeasureResult> Measure(IReadOnlyList<Candidate> batch, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(batch);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (batch.Count == 0)
                return [];
            using var build = Builder.Build(batch);
            double buildShare = build.Seconds / batch.Count;
            var results = new MeasureResult[batch.Count];
            for (int i = 0; i < batch.Count; i++)
            {
                if (cancellation.IsCancellationRequested)
                    return results[..i];
                var candidate = batch[i];
                if (build.Errors[i] is { } error)
                {
                    results[i] = new MeasureResult(candidate, MeasureError.CompileError, [], error, buildShare, 0);
                    continue;
                }
                var clock = Stopwatch.StartNew();
                var (kind, costs, message, number) = MeasureOne(candidate, build.Assemblies[i]!);
                results[i] = new MeasureResult(candidate, kind, costs, message, buildShare, clock.Elapsed.TotalSeconds) { Number = number };
            }
            return results;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
            _child?.Close();
            _child = null;
        }
    }

    private (MeasureError, double[], string?, int) MeasureOne(Candidate candidate, string assembly)
    {
        var request = new RunnerRequest
        {
            Id = ++_nextId,
            Assembly = assembly,
            ClassName = candidate.ClassName,
            Workload = WorkloadSpec.From(candidate.Workload),
            Epilogue = EpilogueSpec.From(candidate.Epilogue),
            Number = Options.Number,
            Repeat = Options.Repeat,
            MinRepeatMs = Options.MinRepeatMs,
            Warmup = Options.Warmup,
            FlushCache = Options.FlushCache,
            Threads = Options.Threads,
            BudgetSeconds = Options.Timeout.TotalSeconds * 0.5,
            Seed = Seed,
        };
        // Phase 1: the child (re)starts and builds the reference output: not the candidate's time.
        // A child that dies here was taken down by something left over from an earlier candidate
        // (a thread it started, say): a fresh child gets one more try.
        ChildProcess child;
        string? line;
        for (int attempt = 0; ; attempt++)
        {
            child = _child ??= Start();
            child.ClearStderr();
            bool timedOut = false;
            line = child.TrySend(RunnerProtocol.Serialize(request)) ? ReadLine(child, s_prepareTimeout, out timedOut) : null;
            if (timedOut)
            {
                Restart();
                return (MeasureError.Timeout, [], $"the runner did not get ready within {s_prepareTimeout.TotalSeconds:F0} s (reference computation)", 0);
            }
            if (line is not null)
                break;
            string why = ExitDescription(child);
            Restart();
            if (attempt > 0)
                throw new InvalidOperationException($"the measurement child ({CommandLine}) exited before measuring: {why}");
        }

        // Phase 2: the candidate loads, is checked, warmed up and timed.
        bool late = false;
        if (ParseReply(line) is { Ready: true })
            line = ReadLine(child, Options.Timeout, out late);
        if (late)
        {
            Restart();
            return (MeasureError.Timeout, [], string.Create(CultureInfo.InvariantCulture, $"timed out after {Options.Timeout.TotalSeconds:0.###} s; the runner was killed"), 0);
        }
        if (line is null)
        {
            string why = ExitDescription(child);
            Restart();
            return (MeasureError.RuntimeError, [], "the runner crashed: " + why, 0);
        }
        var reply = ParseReply(line);
        if (reply is null || reply.Id != request.Id)
        {
            string stderr = child.Stderr();
            Restart();
            return (MeasureError.RuntimeError, [], "the runner answered garbage: " + Truncate(line, 200) + (stderr.Length > 0 ? "\n" + stderr : ""), 0);
        }
        string? message = reply.Message;
        if (reply.Error == MeasureError.RuntimeError && child.Stderr() is { Length: > 0 } err)
            message += "\nstderr: " + Truncate(err, MessageStderrChars);
        return (reply.Error, reply.Error == MeasureError.None ? reply.Costs ?? [] : [], message, reply.Number);
    }

    private static string? ReadLine(ChildProcess child, TimeSpan timeout, out bool timedOut)
    {
        (string? line, timedOut) = child.ReadLine(timeout);
        return line;
    }

    private static RunnerReply? ParseReply(string line)
    {
        try
        {
            return RunnerProtocol.Deserialize<RunnerReply>(line);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    private static string ExitDescription(ChildProcess child)
    {
        int? code = child.WaitForExit(TimeSpan.FromSeconds(5));
        string text = code is int c ? "exit code " + c.ToString(CultureInfo.InvariantCulture) + SignalName(c) : "closed its output but did not exit";
        string stderr = child.Stderr();
        return stderr.Length > 0 ? text + "\n" + Truncate(stderr, MessageStderrChars) : text;
    }

    private static string SignalName(int code) => OperatingSystem.IsWindows() ? "" : (code - 128) switch
    {
        6 => " (SIGABRT)",
        9 => " (SIGKILL)",
        11 => " (SIGSEGV)",
        7 => " (SIGBUS)",
        4 => " (SIGILL)",
        8 => " (SIGFPE)",
        _ => "",
    };

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max] + " ...";

    private void Restart()
    {
        _child?.Kill();
        _child = null;
    }

    private ChildProcess Start()
    {
        var info = new ProcessStartInfo(_fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            CreateNoWindow = true,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in _arguments)
            info.ArgumentList.Add(a);
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOTNET_ROOT")) && DotnetRoot() is { } root)
            info.Environment["DOTNET_ROOT"] = root;
        // No crash dumps or error-reporting dialogs for candidates that take the child down.
        info.Environment["DOTNET_DbgEnableMiniDump"] = "0";
        info.Environment[RunnerHost.ParentVariable] = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        info.Environment["DOTNET_EnableCrashReport"] = "0";
        ChildStarts++;
        return new ChildProcess(Process.Start(info) ?? throw new InvalidOperationException($"cannot start {CommandLine}"), MaxStderrChars);
    }

    // ---- Locating the child ----

    private static (string, string[]) CommandFor(string executable)
    {
        string full = Path.GetFullPath(executable);
        return full.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)
            ? (DotnetHost(), [full, CommandName])
            : (full, [CommandName]);
    }

    /// <summary>This process when it is the autokernel app host; else the app host beside this assembly; else `dotnet autokernel.dll`.</summary>
    internal static (string, string[]) DefaultCommand()
    {
        string appHostName = OperatingSystem.IsWindows() ? "autokernel.exe" : "autokernel";
        if (Environment.ProcessPath is { } self && string.Equals(Path.GetFileName(self), appHostName, StringComparison.OrdinalIgnoreCase))
            return (self, [CommandName]);
        string dll = typeof(Runner).Assembly.Location;
        if (dll.Length == 0)
            dll = Path.Combine(AppContext.BaseDirectory, "autokernel.dll");
        string appHost = Path.Combine(Path.GetDirectoryName(dll)!, appHostName);
        if (File.Exists(appHost))
            return (appHost, [CommandName]);
        return (DotnetHost(), [dll, CommandName]);
    }

    private static string DotnetHost()
    {
        string muxer = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
        if (Environment.ProcessPath is { } self && string.Equals(Path.GetFileName(self), muxer, StringComparison.OrdinalIgnoreCase))
            return self;
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath))
            return hostPath;
        if (DotnetRoot() is { } root && File.Exists(Path.Combine(root, muxer)))
            return Path.Combine(root, muxer);
        return muxer;
    }

    /// <summary>The dotnet installation this process runs on (runtime folder: ROOT/shared/Microsoft.NETCore.App/VERSION).</summary>
    private static string? DotnetRoot()
    {
        string runtime = RuntimeEnvironment.GetRuntimeDirectory().TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        var root = Directory.GetParent(runtime)?.Parent?.Parent;
        return root is not null && Directory.Exists(Path.Combine(root.FullName, "shared")) ? root.FullName : null;
    }

    /// <summary>A started child with its pipes; stderr is pumped into a bounded buffer.</summary>
    private sealed class ChildProcess
    {
        private readonly Process _process;
        private readonly StringBuilder _stderr = new();
        private readonly int _maxStderr;
        private readonly Task _stderrPump;

        public int Id => _process.Id;

        public ChildProcess(Process process, int maxStderr)
        {
            _process = process;
            _maxStderr = maxStderr;
            _stderrPump = Task.Run(PumpStderr);
        }

        public bool TrySend(string line)
        {
            try
            {
                _process.StandardInput.WriteLine(line);
                _process.StandardInput.Flush();
                return true;
            }
            catch (IOException)
            {
                return false;
            }
            catch (InvalidOperationException)
            {
                return false;
            }
        }

        /// <summary>The next stdout line; null at end of stream; timedOut when none came in time.</summary>
        public (string? Line, bool TimedOut) ReadLine(TimeSpan timeout)
        {
            var read = _process.StandardOutput.ReadLineAsync();
            try
            {
                if (!read.Wait(timeout))
                    return (null, true);
                return (read.Result, false);
            }
            catch (AggregateException)
            {
                return (null, false);
            }
        }

        public void ClearStderr()
        {
            lock (_stderr)
                _stderr.Clear();
        }

        public string Stderr()
        {
            lock (_stderr)
                return _stderr.ToString().Trim();
        }

        public int? WaitForExit(TimeSpan timeout)
        {
            if (!_process.WaitForExit(timeout))
                return null;
            _stderrPump.Wait(TimeSpan.FromSeconds(2));
            return _process.ExitCode;
        }

        /// <summary>Ends a child that is still serving: EOF on stdin, then a kill if it lingers.</summary>
        public void Close()
        {
            try
            {
                _process.StandardInput.Close();
            }
            catch (IOException)
            {
            }
            if (!_process.WaitForExit(TimeSpan.FromSeconds(2)))
                Kill();
            else
                _process.Dispose();
        }

        public void Kill()
        {
            try
            {
                if (!_process.HasExited)
                    _process.Kill(entireProcessTree: true);
                _process.WaitForExit(TimeSpan.FromSeconds(5));
            }
            catch (InvalidOperationException)
            {
            }
            catch (System.ComponentModel.Win32Exception)
            {
            }
            _process.Dispose();
        }

        private async Task PumpStderr()
        {
            var buffer = new char[4096];
            try
            {
                var reader = _process.StandardError;
                int n;
                while ((n = await reader.ReadAsync(buffer).ConfigureAwait(false)) > 0)
                {
                    lock (_stderr)
                    {
                        int room = _maxStderr - _stderr.Length;
                        if (room > 0)
                            _stderr.Append(buffer, 0, Math.Min(room, n));
                    }
                }
            }
            catch (IOException)
            {
            }
            catch (ObjectDisposedException)
            {
            }
            catch (InvalidOperationException)
            {
            }
        }
    }
}
