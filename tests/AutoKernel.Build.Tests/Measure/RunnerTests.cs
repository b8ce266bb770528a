using System.Diagnostics;
using AutoKernel.Build.Measure;
using static AutoKernel.Build.Tests.Measure.PlantedKernels;

namespace AutoKernel.Build.Tests.Measure;

/// <summary>Child processes and timeouts: run the measurement tests one at a time.</summary>
[CollectionDefinition("Measure", DisableParallelization = true)]
public sealed class MeasureCollection;

[Collection("Measure")]
public sealed class RunnerTests
{
    /// <summary>
    /// Short timings; the timeout only bounds a hang (a correct candidate on a loaded machine must
    /// never reach it). The timeout test has its own, short one.
    /// </summary>
    private static readonly MeasureOptions Fast = new() { Repeat = 2, MinRepeatMs = 2, Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>Bounds a wait that ends as soon as what it waits for happens.</summary>
    private static readonly TimeSpan HangBound = TimeSpan.FromSeconds(60);

    private static void AssertMeasured(MeasureResult r)
    {
        Assert.True(r.Error == MeasureError.None, $"{r.Candidate.ClassName}: {r.Error}: {r.Message}");
        Assert.Equal(2, r.Costs.Length);
        Assert.All(r.Costs, c => Assert.True(c > 0 && double.IsFinite(c), $"{r.Candidate.ClassName}: number {r.Number}, costs {string.Join(", ", r.Costs)}"));
        Assert.True(r.Gflops > 0);
        Assert.True(r.Number >= 1);
    }

    /// <summary>
    /// A candidate that registers its own handler for the signal in the child and records when the
    /// runtime dispatched it. The runtime runs every registered handler of a signal and only then
    /// applies the default action (ending the process) unless one of them cancelled it.
    /// </summary>
    private static Candidate SignalListener(string name, string signal) => DenseCandidate(name, CorrectDenseBody, $$"""
            public Kernel()
            {
                if (AppContext.GetData("autokernel-test-signal") is null)
                {
                    var seen = new System.Threading.ManualResetEventSlim();
                    var registration = System.Runtime.InteropServices.PosixSignalRegistration.Create(
                        System.Runtime.InteropServices.PosixSignal.SIG{{signal}}, _ => seen.Set());
                    AppContext.SetData("autokernel-test-signal", new object[] { seen, registration });
                }
            }
        """);

    /// <summary>A correct candidate that first waits (bounded) until the listener's handler has run.</summary>
    private static Candidate SignalWaiter(string name) => DenseCandidate(name, CorrectDenseBody, """
            public Kernel()
            {
                var data = (object[])AppContext.GetData("autokernel-test-signal")!;
                if (!((System.Threading.ManualResetEventSlim)data[0]).Wait(TimeSpan.FromSeconds(60)))
                    throw new TimeoutException("the signal was never dispatched in the child");
            }
        """);

    [Theory]
    [InlineData("INT")]
    [InlineData("TERM")]
    public void TheChildIgnoresTheSignalsThatStopATuningRun(string signal)
    {
        // A terminal's Ctrl+C reaches the whole process group; the tuner decides when to stop, so
        // the child measuring a candidate must not die of it. No fixed sleep: the waiter returns
        // once the signal's handlers have run in the child, after which an uncancelled signal
        // would have ended it.
        if (!OperatingSystem.IsLinux())
            Assert.Skip("sends the signal with kill(1)");
        // Started with SIGINT ignored (a background job), the child inherits the ignore: the signal
        // is never delivered, so the listener could not see it and there is nothing to test.
        Assert.SkipWhen(signal == "INT" && AutoKernel.TestSupport.ProcessSignals.Ignored(AutoKernel.TestSupport.ProcessSignals.SigInt),
            "this test process ignores SIGINT (inherited, e.g. a background job), and so would the child");
        using var runner = new Runner(Fast with { Timeout = TimeSpan.FromSeconds(120) });
        Assert.Equal(MeasureError.None, runner.Measure([SignalListener("Before", signal)])[0].Error);
        int pid = runner.ChildProcessId!.Value;
        using (var kill = Process.Start("kill", ["-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            Assert.True(kill.WaitForExit(HangBound), "kill(1) did not return");
            Assert.Equal(0, kill.ExitCode);
        }
        var waited = runner.Measure([SignalWaiter("Waited")])[0];
        Assert.True(waited.Error == MeasureError.None, $"{waited.Error}: {waited.Message}");
        Assert.Equal(MeasureError.None, runner.Measure([Correct("After")])[0].Error);
        Assert.Equal(1, runner.ChildStarts);
        Assert.Equal(pid, runner.ChildProcessId);
    }

    [Fact]
    public void EveryFailureIsChargedToItsOwnCandidate()
    {
        using var runner = new Runner(Fast);
        var results = runner.Measure(
        [
            Correct("A"),
            Throws("B"),
            Correct("C"),
            FailFast("D"),
            Correct("E"),
            Wrong("H"),
            SyntaxError("I"),
            Correct("J"),
        ]);
        Assert.Equal(8, results.Count);
        foreach (int i in new[] { 0, 2, 4, 7 })
            AssertMeasured(results[i]);

        Assert.Equal(MeasureError.RuntimeError, results[1].Error);
        Assert.Contains("planted failure 4711", results[1].Message);
        Assert.Contains("InvalidOperationException", results[1].Message);

        Assert.Equal(MeasureError.RuntimeError, results[3].Error);
        Assert.Contains("exit code", results[3].Message);
        Assert.Contains("planted fail-fast", results[3].Message);

        Assert.Equal(MeasureError.WrongAnswer, results[5].Error);
        Assert.Contains("differ from the reference", results[5].Message);
        Assert.Contains("worst at 3: got ", results[5].Message);

        Assert.Equal(MeasureError.CompileError, results[6].Error);
        Assert.Contains("CS1525", results[6].Message);
        Assert.Empty(results[6].Costs);
        Assert.Equal(0, results[6].Gflops);
        Assert.Equal(double.PositiveInfinity, results[6].MeanCost);

        // One child, plus one replacement for the fail-fast.
        Assert.Equal(2, runner.ChildStarts);
        // The batch's compile time is shared out.
        Assert.All(results, r => Assert.True(r.BuildSeconds > 0));
    }

    [Fact]
    public void AHangIsKilledAtTheTimeoutAndAFreshChildTakesTheNextCandidate()
    {
        // The only test with a short timeout: the hang costs all of it. A correct dense kernel this
        // small loads and measures in well under a second; five seconds leave room for a loaded machine.
        var timeout = TimeSpan.FromSeconds(5);
        using var runner = new Runner(Fast with { Timeout = timeout });
        var results = runner.Measure([Correct("Before"), Hangs("F"), Correct("G")]);
        AssertMeasured(results[0]);
        Assert.Equal(MeasureError.Timeout, results[1].Error);
        Assert.Equal("timed out after 5 s; the runner was killed", results[1].Message);
        Assert.Empty(results[1].Costs);
        // It waited the whole timeout, give or take the wait's millisecond granularity (no upper
        // bound: a loaded machine may take longer to kill and reap the child).
        Assert.True(results[1].RunSeconds >= 0.99 * timeout.TotalSeconds, $"charged after {results[1].RunSeconds:F2} s");
        AssertMeasured(results[2]);
        Assert.Equal(2, runner.ChildStarts);
    }

    [Fact]
    public void StackOverflowIsARuntimeError()
    {
        using var runner = new Runner(Fast);
        var results = runner.Measure([StackOverflow("S"), Correct("T")]);
        Assert.Equal(MeasureError.RuntimeError, results[0].Error);
        Assert.Contains("exit code", results[0].Message);
        AssertMeasured(results[1]);
    }

    [Fact]
    public void ConvolutionIsCheckedAgainstTheReference()
    {
        using var runner = new Runner(Fast with { Threads = 2 });
        var results = runner.Measure([ConvCandidate("Conv"), DepthwiseCandidate("Depthwise"), ConvCandidate("Wrong", Depthwise, DepthwiseEpilogue with { Beta = 0.4f }, "Math.Clamp(acc, -0.2f, 0.3f)")]);
        AssertMeasured(results[0]);
        Assert.Equal(Conv.Flops / results[0].MeanCost / 1e9, results[0].Gflops, 6);
        AssertMeasured(results[1]);
        // The epilogue's parameters reach the reference: Clip at 0.4 is not Clip at 0.3.
        Assert.Equal(MeasureError.WrongAnswer, results[2].Error);
    }

    [Fact]
    public void MinRepeatMsRaisesNumber()
    {
        using var runner = new Runner(new MeasureOptions { Number = 1, Repeat = 3, MinRepeatMs = 20, Timeout = TimeSpan.FromSeconds(60) });
        var r = runner.Measure([Correct("N")])[0];
        AssertMeasuredAny(r);
        Assert.True(r.Number > 1, $"number {r.Number}");
        // A repeat far shorter than MinRepeatMs is redone with a larger Number; noise may leave it a little short.
        Assert.All(r.Costs, c => Assert.True(c * r.Number >= 0.010, $"repeat lasted {c * r.Number * 1e3:F2} ms with number {r.Number}"));
    }

    [Fact]
    public void ConsecutiveBatchesReuseTheChild()
    {
        using var runner = new Runner(Fast with { FlushCache = true });
        AssertMeasured(runner.Measure([Correct("P")])[0]);
        // Same class name again, in a new batch assembly.
        AssertMeasured(runner.Measure([Correct("P"), Correct("P")])[1]);
        Assert.Equal(1, runner.ChildStarts);
    }

    [Fact]
    public void DefaultChildIsTheAppBesideThisAssembly()
    {
        // The test host is not the autokernel app host, and the build copies autokernel's app host
        // beside autokernel.dll in the test's output folder: that is the child.
        string appHost = Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "autokernel.exe" : "autokernel");
        Assert.True(File.Exists(appHost), $"{appHost} is missing from the test's output");
        var (file, args) = Runner.DefaultCommand();
        Assert.Equal(appHost, file);
        Assert.Equal(["runner"], args);
        Assert.Equal(appHost + " runner", new Runner(Fast).CommandLine);
    }

    [Fact]
    public void ChildRunsThroughTheDotnetHostToo()
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "autokernel.dll");
        using var runner = new Runner(Fast, dll);
        Assert.EndsWith(" " + dll + " runner", runner.CommandLine, StringComparison.Ordinal);
        string host = runner.CommandLine[..^(dll.Length + " runner".Length + 1)];
        Assert.Equal(OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet", Path.GetFileName(host));
        AssertMeasured(runner.Measure([Correct("Q")])[0]);
    }

    private static void AssertMeasuredAny(MeasureResult r)
    {
        Assert.True(r.Error == MeasureError.None, $"{r.Error}: {r.Message}");
        Assert.Equal(3, r.Costs.Length);
    }
}

[Collection("Measure")]
public sealed class BatchBuilderTests(ITestOutputHelper output)
{
    [Fact]
    public void ACompileErrorCostsOneExtraCompilation()
    {
        var builder = new BatchBuilder();
        using var build = builder.Build([Correct("A"), SyntaxError("B"), Correct("C"), DenseCandidate("D", "undefinedName++;")]);
        Assert.Equal(2, build.Compilations);
        Assert.Null(build.Errors[0]);
        Assert.Null(build.Errors[2]);
        Assert.Contains("CS1525", build.Errors[1]);
        Assert.Contains("undefinedName", build.Errors[3]);
        Assert.NotNull(build.AssemblyPath);
        Assert.True(File.Exists(build.AssemblyPath));
        Assert.Equal(build.AssemblyPath, build.Assemblies[0]);
        Assert.Equal(build.AssemblyPath, build.Assemblies[2]);
        Assert.Null(build.Assemblies[1]);
    }

    [Fact]
    public void SyntaxErrorsAreCaughtBeforeCompiling()
    {
        using var build = new BatchBuilder().Build([SyntaxError("A"), Correct("B")]);
        Assert.Equal(1, build.Compilations);
        Assert.Contains("CS1525", build.Errors[0]);
        Assert.Null(build.Errors[1]);
        Assert.NotNull(build.Assemblies[1]);
    }

    [Fact]
    public void AllFailingBatchEmitsNothing()
    {
        using var build = new BatchBuilder().Build([SyntaxError("A"), DenseCandidate("B", "undefinedName++;")]);
        Assert.Null(build.AssemblyPath);
        Assert.All(build.Errors, Assert.NotNull);
    }

    [Fact]
    public void RepeatedClassNamesGoToSeparateAssemblies()
    {
        using var build = new BatchBuilder().Build([Correct("A"), Correct("A"), Correct("B")]);
        Assert.All(build.Errors, Assert.Null);
        Assert.Equal(2, build.Compilations);
        Assert.NotEqual(build.Assemblies[0], build.Assemblies[1]);
        Assert.Equal(build.Assemblies[0], build.Assemblies[2]);
    }

    [Fact]
    public void DisposeDeletesTheAssembly()
    {
        var build = new BatchBuilder().Build([Correct("A")]);
        string path = build.AssemblyPath!;
        Assert.True(File.Exists(path));
        build.Dispose();
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void BatchOfSixteenCostsAboutOneCompile()
    {
        var builder = new BatchBuilder();
        builder.Build([Correct("Warm")]).Dispose();
        var one = Stopwatch.StartNew();
        builder.Build([Correct("One")]).Dispose();
        double oneSeconds = one.Elapsed.TotalSeconds;
        var sixteen = Stopwatch.StartNew();
        using var build = builder.Build([.. Enumerable.Range(0, 16).Select(i => Correct("S" + i))]);
        double sixteenSeconds = sixteen.Elapsed.TotalSeconds;
        Assert.All(build.Errors, Assert.Null);
        Assert.Equal(1, build.Compilations);
        output.WriteLine($"compile 1 candidate: {oneSeconds * 1e3:F0} ms, 16 candidates: {sixteenSeconds * 1e3:F0} ms");
    }
}
