using System.Globalization;
using System.Text.RegularExpressions;

namespace AutoKernel.Build.Tests.Fuzz;

/// <summary>How a case broke the command line's promise.</summary>
public enum FaultKind
{
    /// <summary>Exit code 2: an exception the tool did not turn into a clear error.</summary>
    InternalError,

    /// <summary>A stack trace ("   at ...") on stderr.</summary>
    StackTrace,

    /// <summary>Exit 1 without exactly one stderr line starting "error: ".</summary>
    BadErrorFormat,

    /// <summary>An exit code other than 0, 1 or 2.</summary>
    BadExitCode,

    /// <summary>The command ran past the per-case time limit.</summary>
    Hang,

    /// <summary>The command allocated more than the budget.</summary>
    ExcessAllocation,

    /// <summary>An exception escaped the command line (OutOfMemoryException, for one).</summary>
    Crash,
}

/// <summary>
/// One fault: its kind, the command, and a class key (kind plus the normalized message or the top
/// stack frame) under which faults of the same cause are counted once.
/// </summary>
public sealed record Fault(FaultKind Kind, string Command, int ExitCode, string Class, string Detail);

/// <summary>What one case did: the faults (none when the promise held), time and allocation of its slowest command.</summary>
public sealed record CaseResult(FuzzCase Case, IReadOnlyList<Fault> Faults, double Seconds, long AllocatedBytes, IReadOnlyList<int> ExitCodes, IReadOnlyList<string> Errors)
{
    /// <summary>A command still runs on an abandoned thread: the campaign cannot measure anything more.</summary>
    public bool Hung => Faults.Any(f => f.Kind == FaultKind.Hang);
}

/// <summary>
/// Runs a fuzz case in process through the command line (<c>autokernel inspect</c> and
/// <c>autokernel run</c>), each command on its own thread with a time limit and its allocation
/// measured, and checks the promise: exit 0, or exit 1 with one stderr line "error: ..." and no
/// stack trace.
/// </summary>
public static partial class FuzzHarness
{
    /// <summary>Per-command wall-clock limit.</summary>
    public static readonly TimeSpan TimeLimit = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The most a command may allocate (GC.GetTotalAllocatedBytes, all threads): the tool's own
    /// budget (<see cref="MemoryLimitArgs"/>, 512 MiB) plus room for what it does not count (the
    /// model's bytes, protobuf objects, the pipeline's copies of small graphs). The check is that
    /// the tool kept to its budget.
    /// </summary>
    public const long AllocationBudgetBytes = 1L << 30;

    /// <summary>The memory budget every command runs under.</summary>
    public static readonly string[] MemoryLimitArgs = ["--memory-limit", "512MiB"];

    /// <summary>Writes the case's files into <paramref name="folder"/> (emptied first) and runs both commands.</summary>
    public static CaseResult Run(FuzzCase c, string folder)
    {
        if (Directory.Exists(folder))
            Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);
        string model = Path.Combine(folder, Mutator.ModelFileName);
        File.WriteAllBytes(model, c.Model);
        foreach (var (name, bytes) in c.Files)
            File.WriteAllBytes(Path.Combine(folder, name), bytes);

        var faults = new List<Fault>();
        var codes = new List<int>();
        var errors = new List<string>();
        double seconds = 0;
        long allocated = 0;
        foreach (string command in new[] { "inspect", "run" })
        {
            string[] args = [command, model, .. c.ExtraArgs, .. MemoryLimitArgs];
            var outcome = RunCommand(args);
            seconds = Math.Max(seconds, outcome.Seconds);
            allocated = Math.Max(allocated, outcome.Allocated);
            codes.Add(outcome.Result?.ExitCode ?? -1);
            errors.Add(outcome.Result?.Error ?? "");
            faults.AddRange(Check(command, args, outcome));
            if (faults.Any(f => f.Kind == FaultKind.Hang))
                break;
        }
        return new CaseResult(c, faults, seconds, allocated, codes, errors);
    }

    private sealed record Outcome(Support.CliResult? Result, Exception? Escaped, bool TimedOut, double Seconds, long Allocated);

    private static Outcome RunCommand(string[] args)
    {
        Support.CliResult? result = null;
        Exception? escaped = null;
        long before = GC.GetTotalAllocatedBytes(precise: false);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var thread = new Thread(() =>
        {
            try
            {
                result = Support.Cli.Run(args);
            }
            catch (Exception e)
            {
                escaped = e;
            }
        }, maxStackSize: 16 << 20)
        {
            IsBackground = true,
            Name = "fuzz case",
        };
        thread.Start();
        bool finished = thread.Join(TimeLimit);
        double seconds = clock.Elapsed.TotalSeconds;
        long allocated = GC.GetTotalAllocatedBytes(precise: false) - before;
        return new Outcome(result, escaped, !finished, seconds, allocated);
    }

    private static IEnumerable<Fault> Check(string command, string[] args, Outcome o)
    {
        if (o.TimedOut)
        {
            yield return new Fault(FaultKind.Hang, command, -1, $"hang in {command}",
                string.Create(CultureInfo.InvariantCulture, $"still running after {TimeLimit.TotalSeconds:F0} s"));
            yield break;
        }
        if (o.Allocated > AllocationBudgetBytes)
        {
            string why = o.Result is { } r ? FirstLine(r.Error) : o.Escaped?.GetType().Name ?? "";
            yield return new Fault(FaultKind.ExcessAllocation, command, o.Result?.ExitCode ?? -1,
                $"excess allocation in {command}: {Normalize(why)}",
                string.Create(CultureInfo.InvariantCulture, $"allocated {o.Allocated / (1 << 20)} MiB (budget {AllocationBudgetBytes / (1 << 20)} MiB); {why}"));
        }
        if (o.Escaped is { } e)
        {
            yield return new Fault(FaultKind.Crash, command, -1, $"crash: {e.GetType().Name} at {TopFrame(e.StackTrace)}",
                $"{e.GetType().Name}: {e.Message} at {TopFrame(e.StackTrace)}");
            yield break;
        }
        var result = o.Result!;
        string[] lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        switch (result.ExitCode)
        {
            case 0:
                break;
            case 1:
                if (lines.Length != 1 || !lines[0].StartsWith("error: ", StringComparison.Ordinal))
                {
                    yield return new Fault(FaultKind.BadErrorFormat, command, 1, $"bad error format: {Normalize(FirstLine(result.Error))}",
                        string.Join(" | ", lines.Take(4)));
                }
                break;
            case 2:
            {
                // Rerun with --verbose for the exception's top frame: the class of the fault.
                var verbose = Support.Cli.Run([.. args, "--verbose"]);
                string frame = TopFrame(verbose.Error);
                string message = FirstLine(result.Error);
                yield return new Fault(FaultKind.InternalError, command, 2, $"internal error: {ExceptionType(message)} at {frame}",
                    $"{message} at {frame}");
                break;
            }
            default:
                yield return new Fault(FaultKind.BadExitCode, command, result.ExitCode,
                    string.Create(CultureInfo.InvariantCulture, $"exit code {result.ExitCode}"), FirstLine(result.Error));
                break;
        }
        if (result.Error.Contains("   at ", StringComparison.Ordinal) && result.ExitCode != 2)
            yield return new Fault(FaultKind.StackTrace, command, result.ExitCode, $"stack trace: {TopFrame(result.Error)}", FirstLine(result.Error));
    }

    private static string FirstLine(string text)
    {
        int end = text.IndexOf('\n', StringComparison.Ordinal);
        return (end < 0 ? text : text[..end]).Trim();
    }

    private static string ExceptionType(string internalError)
    {
        var m = InternalErrorType().Match(internalError);
        return m.Success ? m.Groups[1].Value : "?";
    }

    /// <summary>
    /// The first two "at Method(...)" lines of a stack trace, without argument lists and file
    /// positions, as "Callee < Caller": the throwing helper and who called it.
    /// </summary>
    public static string TopFrame(string? trace)
    {
        if (trace is null)
            return "?";
        var frames = new List<string>();
        foreach (string line in trace.Split('\n'))
        {
            string t = line.Trim();
            if (!t.StartsWith("at ", StringComparison.Ordinal))
                continue;
            int paren = t.IndexOf('(', StringComparison.Ordinal);
            frames.Add(paren > 0 ? t[3..paren] : t[3..]);
            if (frames.Count == 2)
                break;
        }
        return frames.Count == 0 ? "?" : string.Join(" < ", frames);
    }

    /// <summary>A message with paths, quoted names and numbers blanked, so faults of one cause share a class.</summary>
    public static string Normalize(string message)
    {
        string s = PathLike().Replace(message, "FILE");
        s = Quoted().Replace(s, "'…'");
        s = Number().Replace(s, "#");
        return s.Length > 160 ? s[..160] : s;
    }

    [GeneratedRegex(@"internal error: (\w+)")]
    private static partial Regex InternalErrorType();

    [GeneratedRegex(@"/[^\s:']+")]
    private static partial Regex PathLike();

    [GeneratedRegex(@"'[^']*'")]
    private static partial Regex Quoted();

    [GeneratedRegex(@"-?\d+(\.\d+)?(E[+-]?\d+)?")]
    private static partial Regex Number();
}
