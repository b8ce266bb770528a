using System.Diagnostics;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Measure;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Records;
using AutoKernel.Build.Tests.Support;

namespace AutoKernel.Build.Tests.Tuning;

/// <summary>`autokernel tune` end to end, with real compilation and measurement of a small convolution.</summary>
[Collection("Measure")]
public sealed class TuneCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Conv 8->16, 3x3 on 12x12 (or another size), with bias and Relu: one conv2d task with direct and Winograd schedules.</summary>
    private string SmallModel(int size = 12)
    {
        var b = new ModelBuilder("small", 17);
        string x = b.Input("x", DataType.Float, 1, 8, size, size);
        string w = b.Initializer("w", Graphs.RandomFloats(1, 16, 8, 3, 3));
        string bias = b.Initializer("b", Graphs.RandomFloats(2, 16));
        string conv = b.Node("Conv", [x, w, bias], a => a.Ints("pads", 1, 1, 1, 1), name: "conv");
        b.Output(b.Node("Relu", [conv], name: "relu"));
        string path = _dir.File($"small{size}.onnx");
        b.Save(path);
        return path;
    }

    private static readonly string[] Fast = ["--repeat", "1", "--min-repeat-ms", "1", "--threads", "1", "--batch-size", "4"];

    private static CliResult Tune(string model, string log, int trials, params string[] extra) =>
        Support.Cli.Run(["tune", model, "--target", "cpu", "--log", log, "--trials", trials.ToString(System.Globalization.CultureInfo.InvariantCulture), .. Fast, .. extra]);

    /// <summary>
    /// The log's records, after checking that every kernel measured was right: every template
    /// offers only configurations it can emit, so a compile error, a wrong answer or a runtime
    /// error is a fault of the emitter or its constraints. A timeout is tolerated: with a limit of
    /// 10 s for a kernel of microseconds it says how loaded the machine was, not what the kernel did.
    /// <paramref name="warnings"/>: the log may hold lines that are not records (a truncated one).
    /// </summary>
    private static IReadOnlyList<TuningRecord> AllKernelsRight(string log, int count, bool warnings = false)
    {
        var loaded = RecordLog.Load(log);
        if (!warnings)
            Assert.Empty(loaded.Warnings);
        Assert.Equal(count, loaded.Records.Count);
        Assert.All(loaded.Records, r => Assert.True(
            (r.Error is MeasureError.None or MeasureError.Timeout) && (r.Error != MeasureError.None || r.Costs.All(c => c > 0)),
            $"{r.Template} #{r.ConfigIndex}: {r.Error} {r.Message}"));
        return loaded.Records;
    }

    [Fact]
    public void TunesLogsResumesAndThenHasNothingToDo()
    {
        string model = SmallModel(), log = _dir.File("tune.log");
        var first = Tune(model, log, 8, "--tuner", "random");
        Assert.True(first.ExitCode == 0, first.Error);
        Assert.Contains("[Task  1/ 1]  Current/Best:", first.Out);
        Assert.Contains("| Progress: (4/8) |", first.Out);
        Assert.Contains("| Progress: (8/8) |", first.Out);
        Assert.Contains(" Done.", first.Out);
        AllKernelsRight(log, 8);

        // A larger budget measures only the difference, never a logged configuration again.
        var second = Tune(model, log, 12, "--tuner", "xgb");
        Assert.True(second.ExitCode == 0, second.Error);
        Assert.Contains("| Progress: (12/12) |", second.Out);
        var records = AllKernelsRight(log, 12);
        Assert.Equal(12, records.Select(r => (r.Template, r.ConfigIndex)).Distinct().Count());

        // The budget is spent: nothing is measured and the log is untouched.
        byte[] before = File.ReadAllBytes(log);
        var third = Tune(model, log, 12);
        Assert.Equal(0, third.ExitCode);
        Assert.Contains("nothing to tune", third.Out);
        Assert.Equal(before, File.ReadAllBytes(log));
    }

    [Fact]
    public void HistoryOfAnotherWorkloadWarmStartsTheModelBasedTuner()
    {
        string other = _dir.File("other.log"), log = _dir.File("tune.log");
        Assert.Equal(0, Tune(SmallModel(10), other, 12, "--tuner", "random").ExitCode);
        AllKernelsRight(other, 12);
        var warm = Tune(SmallModel(12), log, 8, "--tuner", "xgb", "--history", other);
        Assert.True(warm.ExitCode == 0, warm.Error);
        Assert.Contains("history: 12 of 12 records (other workloads, this target and thread count) warm-start the cost model", warm.Out);
        AllKernelsRight(log, 8);
        // The history log is read, never written.
        Assert.Equal(12, RecordLog.Load(other).Records.Count);
    }

    [Fact]
    public void OnATerminalTheProgressLineIsRedrawnInPlace()
    {
        string model = SmallModel(), log = _dir.File("tune.log");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = AutoKernel.Build.Cli.CommandLine.Run(["tune", model, "--log", log, "--trials", "8", "--tuner", "grid", .. Fast], stdout, stderr, interactive: true);
        Assert.True(code == 0, stderr.ToString());
        AllKernelsRight(log, 8);
        string text = stdout.ToString();
        // Two batches redraw one line; "Done." ends it.
        Assert.Contains("\r[Task  1/ 1]  Current/Best:", text);
        Assert.Contains("| Progress: (4/8) |", text);
        Assert.Contains("| Progress: (8/8) |", text);
        string taskLine = text.Split('\n').Single(l => l.Contains("[Task", StringComparison.Ordinal));
        Assert.Equal(2, taskLine.Split('\r', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.EndsWith(" Done.", taskLine.TrimEnd());
    }

    [Fact]
    public void ATruncatedLastLineIsReportedAndTuningContinues()
    {
        string model = SmallModel(), log = _dir.File("tune.log");
        Assert.Equal(0, Tune(model, log, 4, "--tuner", "random").ExitCode);
        AllKernelsRight(log, 4);
        File.AppendAllText(log, "{\"version\":1,\"target\":\"x");
        var resumed = Tune(model, log, 8, "--tuner", "ga");
        Assert.True(resumed.ExitCode == 0, resumed.Error);
        Assert.Contains("truncated", resumed.Error);
        var records = AllKernelsRight(log, 8, warnings: true);
        Assert.Equal(8, records.Select(r => (r.Template, r.ConfigIndex)).Distinct().Count());
    }

    [Fact]
    public void BadArgumentsAndBrokenLogsFailWithOneLine()
    {
        string model = SmallModel(), log = _dir.File("tune.log");
        var zero = Tune(model, log, 0);
        Assert.Equal(1, zero.ExitCode);
        Assert.Contains("--trials must be at least 1", zero.Error);

        var badTask = Tune(model, log, 4, "--task", "2");
        Assert.Equal(1, badTask.ExitCode);
        Assert.Contains("--task 2: the model has 1 tasks (numbered from 1)", badTask.Error);

        var missingHistory = Tune(model, log, 4, "--history", _dir.File("nope.log"));
        Assert.Equal(1, missingHistory.ExitCode);
        Assert.Contains("nope.log: history log not found", missingHistory.Error);

        string folder = _dir.File("a-folder.log");
        Directory.CreateDirectory(folder);
        var unwritable = Tune(model, folder, 4);
        Assert.Equal(1, unwritable.ExitCode);
        Assert.Contains("a-folder.log: cannot read the tuning log", unwritable.Error);
        Assert.Single(unwritable.Error.Trim().Split('\n'));

        File.WriteAllText(log, "not json\n{}\n");
        var broken = Tune(model, log, 4);
        Assert.Equal(1, broken.ExitCode);
        Assert.Contains("tune.log:1:", broken.Error);
        Assert.Single(broken.Error.Trim().Split('\n'));
        Assert.False(File.Exists(log + ".tmp"));
    }

    [Theory]
    [InlineData("INT")]
    [InlineData("TERM")]
    public async Task ASignalStopsAfterTheCurrentCandidateWithTheLogIntact(string signal)
    {
        if (!OperatingSystem.IsLinux())
            Assert.Skip("sends the signal with kill(1) and reads /proc");
        // A process started in the background by a non-interactive shell ignores SIGINT, and so do
        // its children: the tuner cannot see Ctrl+C there, as a shell's background job would not.
        if (signal == "INT" && AutoKernel.TestSupport.ProcessSignals.Ignored(AutoKernel.TestSupport.ProcessSignals.SigInt))
            Assert.Skip("this test process inherited an ignored SIGINT (a background job), so the child cannot receive it");
        if (!File.Exists("/usr/bin/setsid") && !File.Exists("/bin/setsid"))
            Assert.Skip("needs setsid(1) to give the tuner its own process group");
        string model = SmallModel(), log = _dir.File("tune.log");
        string tool = Path.Combine(AppContext.BaseDirectory, "autokernel.dll");
        // setsid makes the tuner lead its own process group, so the signal can go to the whole
        // group as a terminal's Ctrl+C does: the runner child must survive it.
        var start = new ProcessStartInfo("setsid") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in (string[])["dotnet", "exec", tool, "tune", model, "--log", log, "--trials", "2000", "--tuner", "random", .. Fast])
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var ct = TestContext.Current.CancellationToken;
        try
        {
            var stderr = process.StandardError.ReadToEndAsync(ct);
            // Wait for the first logged batch, then interrupt. The limits only bound a hang: the
            // first batch compiles 4 kernels, which takes seconds even on a loaded machine.
            var hang = TimeSpan.FromMinutes(5);
            var clock = Stopwatch.StartNew();
            string? line;
            do
                line = await Within(process.StandardOutput.ReadLineAsync(ct).AsTask(), Left(hang, clock), "progress line of the first batch");
            while (line is not null && !line.Contains("Progress: (4/2000)", StringComparison.Ordinal));
            if (line is null)
                Assert.Fail($"the tuner ended before its first batch: {await Within(stderr, hang, "error output from the tuner")}");
            using (var kill = Process.Start("kill", ["-" + signal, "--", "-" + process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
                await Within(kill.WaitForExitAsync(ct), hang, "exit of kill(1)");
            string rest = await Within(process.StandardOutput.ReadToEndAsync(ct), TimeSpan.FromMinutes(1), $"end of the tuner's output after SIG{signal}");
            await Within(process.WaitForExitAsync(ct), TimeSpan.FromMinutes(1), $"exit of the tuner after SIG{signal}");
            Assert.Equal(signal == "INT" ? 130 : 143, process.ExitCode);
            Assert.Contains("interrupted", await Within(stderr, hang, "end of the tuner's error output"));
            var records = RecordLog.Load(log);
            Assert.Empty(records.Warnings);
            Assert.InRange(records.Records.Count, 4, 2000);
            Assert.Equal(records.Records.Count, records.Records.Select(r => (r.Template, r.ConfigIndex)).Distinct().Count());
            // The candidate being measured when the signal came finished normally: no crash is
            // logged, and no kernel failed.
            Assert.DoesNotContain(records.Records, r => r.Message?.Contains("crashed", StringComparison.Ordinal) == true);
            AllKernelsRight(log, records.Records.Count);
            Assert.Contains("Interrupted.", rest);
        }
        finally
        {
            // A failed assertion must not leave a tuner (and its runner child) measuring 2000 trials.
            KillGroup(process);
        }
    }

    /// <summary>What is left of <paramref name="limit"/> after the time on <paramref name="clock"/>; zero once it is spent.</summary>
    private static TimeSpan Left(TimeSpan limit, Stopwatch clock) => limit > clock.Elapsed ? limit - clock.Elapsed : TimeSpan.Zero;

    /// <summary>The task's result, or a failed assertion naming <paramref name="what"/> when it takes longer than <paramref name="limit"/>.</summary>
    private static async Task<T> Within<T>(Task<T> task, TimeSpan limit, string what)
    {
        await Within((Task)task, limit, what);
        return await task;
    }

    private static async Task Within(Task task, TimeSpan limit, string what)
    {
        try
        {
            await task.WaitAsync(limit);
        }
        catch (TimeoutException)
        {
            Assert.Fail(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"no {what} in time (gave up after waiting {limit.TotalSeconds:F0} s more)"));
        }
    }

    /// <summary>
    /// Kills the tuner's process tree and its process group (setsid made the tuner its leader),
    /// which also reaches a runner child left behind by a tuner that already exited.
    /// </summary>
    private static void KillGroup(Process process)
    {
        try
        {
            if (!process.HasExited)
                process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It exited in between.
        }
        var kill = new ProcessStartInfo("kill") { RedirectStandardError = true };
        foreach (string arg in (string[])["-KILL", "--", "-" + process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])
            kill.ArgumentList.Add(arg);
        using var killer = Process.Start(kill)!;
        // An empty group is the usual case: kill(1) then fails with "no such process", which is fine.
        killer.StandardError.ReadToEnd();
        killer.WaitForExit(10_000);
        process.WaitForExit(10_000);
    }
}
