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
    private static readonly MeasureOptions Fast = new() { Repeat = 2, MinRepeatMs = 2, Timeout = TimeSpan.FromSeconds(2) };

    private static void AssertMeasured(MeasureResult r)
    {
        Assert.True(r.Error == MeasureError.None, $"{r.Candidate.ClassName}: {r.Error}: {r.Message}");
        Assert.Equal(2, r.Costs.Length);
        Assert.All(r.Costs, c => Assert.True(c > 0 && double.IsFinite(c), $"{r.Candidate.ClassName}: number {r.Number}, costs {string.Join(", ", r.Costs)}"));
        Assert.True(r.Gflops > 0);
        Assert.True(r.Number >= 1);
    }

    [Theory]
    [InlineData("INT")]
    [InlineData("TERM")]
    public void TheChildIgnoresTheSignalsThatStopATuningRun(string signal)
    {
        // A terminal's Ctrl+C reaches the whole process group; the tuner decides when to stop, so
        // the child measuring a candidate must not die of it.
        if (!OperatingSystem.IsLinux())
            Assert.Skip("sends the signal with kill(1)");
        using var runner = new Runner(Fast);
        Assert.Equal(MeasureError.None, runner.Measure([Correct("Before")])[0].Error);
        int pid = runner.ChildProcessId!.Value;
        using (var kill = System.Diagnostics.Process.Start("kill", ["-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            kill.WaitForExit();
        Thread.Sleep(500);
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
            Hangs("F"),
            Correct("G"),
            Wrong("H"),
            SyntaxError("I"),
            Correct("J"),
        ]);
        Assert.Equal(10, results.Count);
        foreach (int i in new[] { 0, 2, 4, 6, 9 })
            AssertMeasured(results[i]);

        Assert.Equal(MeasureError.RuntimeError, results[1].Error);
        Assert.Contains("planted failure 4711", results[1].Message);
        Assert.Contains("InvalidOperationException", results[1].Message);

        Assert.Equal(MeasureError.RuntimeError, results[3].Error);
        Assert.Contains("exit code", results[3].Message);
        Assert.Contains("planted fail-fast", results[3].Message);

        Assert.Equal(MeasureError.Timeout, results[5].Error);
        Assert.InRange(results[5].RunSeconds, 1.9, 10);

        Assert.Equal(MeasureError.WrongAnswer, results[7].Error);
        Assert.Contains("differ from the reference", results[7].Message);

        Assert.Equal(MeasureError.CompileError, results[8].Error);
        Assert.Contains("CS1525", results[8].Message);
        Assert.Empty(results[8].Costs);
        Assert.Equal(0, results[8].Gflops);
        Assert.Equal(double.PositiveInfinity, results[8].MeanCost);

        // One child, plus one replacement for the fail-fast and one for the timeout.
        Assert.Equal(3, runner.ChildStarts);
        // The batch's compile time is shared out.
        Assert.All(results, r => Assert.True(r.BuildSeconds > 0));
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
        using var runner = new Runner(new MeasureOptions { Number = 1, Repeat = 3, MinRepeatMs = 20, Timeout = TimeSpan.FromSeconds(5) });
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
        var (file, args) = Runner.DefaultCommand();
        Assert.True(File.Exists(file) || file is "dotnet" or "dotnet.exe", file);
        Assert.Equal(Runner.CommandName, args[^1]);
    }

    [Fact]
    public void ChildRunsThroughTheDotnetHostToo()
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "autokernel.dll");
        using var runner = new Runner(Fast, dll);
        Assert.Contains("autokernel.dll", runner.CommandLine);
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
