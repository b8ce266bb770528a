using System.Globalization;
using System.Text.RegularExpressions;
using AutoKernel.Build.Bench;
using AutoKernel.Build.Compile;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Records;
using AutoKernel.Build.Tests.Support;
using AutoKernel.Build.Zoo;
using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Plans;
using AutoKernel.Runtime.Models;
using Google.Protobuf;

namespace AutoKernel.Build.Tests.Bench;

/// <summary>`autokernel bench-model`, its `generated-time` child and the step profiler, on tiny models only.</summary>
public sealed partial class ModelBenchTests : IDisposable
{
    private static readonly CpuTarget Target = new(Targets.CpuTargets.Host().VectorBits, 2, Targets.CpuTargets.Host().Description);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [GeneratedRegex(@"^  (AutoKernel  |ONNX Runtime) Mean inference time \(std dev\): (\d+\.\d+) ms \((\d+\.\d+) ms\)$", RegexOptions.Multiline)]
    private static partial Regex MeanLine();

    [GeneratedRegex(@"^  AutoKernel time by step kind: tuned ([\d.]+)% \((\d+) steps\), fixed ([\d.]+)% \((\d+) steps\), transform ([\d.]+)% \((\d+) steps\), copy ([\d.]+)% \((\d+) steps\)$", RegexOptions.Multiline)]
    private static partial Regex SharesLine();

    [GeneratedRegex(@"; steps ([\d.]+)% of it\)$", RegexOptions.Multiline)]
    private static partial Regex StepsShareLine();

    [GeneratedRegex(@"\(process (\d+)\)")]
    private static partial Regex ProcessId();

    private static double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);

    [Fact]
    public void Bench_model_times_both_engines_in_their_own_processes()
    {
        string path = _dir.File("squeezenet.onnx");
        File.WriteAllBytes(path, ModelZoo.Create("squeezenet1_1", imageSize: 64, seed: 3).ToByteArray());
        string csv = _dir.File("bench.csv");
        // Only this process's folders: another process (a parallel test run) may be benchmarking too.
        string ours = $"autokernel-bench-{Environment.ProcessId}-*";
        var tempBefore = Directory.GetDirectories(Path.GetTempPath(), ours);
        var run = Support.Cli.Run("bench-model", path, "--threads", "1", "--threads", "2", "--repeat", "2", "--min-repeat-ms", "5", "--csv", csv);
        Assert.True(run.ExitCode == 0, run.Out + run.Error);

        var means = MeanLine().Matches(run.Out);
        Assert.Equal(["AutoKernel  ", "ONNX Runtime", "AutoKernel  ", "ONNX Runtime"], means.Select(m => m.Groups[1].Value));
        Assert.All(means, m => Assert.True(D(m.Groups[2].Value) > 0, m.Value));
        Assert.Contains("threads: 1\n", run.Out.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains("threads: 2\n", run.Out.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Equal(2, Regex.Matches(run.Out, @"ratio \(ONNX Runtime / AutoKernel\): \d+\.\d\dx").Count);
        // The compile report's summary: no log, so every task is a fallback, and the warnings say so.
        Assert.Equal(2, Regex.Matches(run.Out, @"compile: tasks: (\d+) \(0 from this target's records, 0 from a similar target's, \1 fallback\)").Count);
        Assert.Contains("fallback configuration", run.Error, StringComparison.Ordinal);

        var shares = SharesLine().Matches(run.Out);
        var stepsShares = StepsShareLine().Matches(run.Out);
        Assert.Equal(2, shares.Count);
        Assert.Equal(2, stepsShares.Count);
        for (int i = 0; i < shares.Count; i++)
        {
            var m = shares[i];
            // The kinds split the steps' share of the profiled run (the rest is time between steps,
            // which a loaded machine makes large): their sum is that share, to the printed rounding.
            double sum = D(m.Groups[1].Value) + D(m.Groups[3].Value) + D(m.Groups[5].Value) + D(m.Groups[7].Value);
            double steps = D(stepsShares[i].Groups[1].Value);
            Assert.InRange(steps, 0.1, 100.05);
            Assert.InRange(sum, steps - 0.25, steps + 0.25);
            Assert.True(int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) > 0, m.Value);
            Assert.True(D(m.Groups[1].Value) > 0, m.Value);
        }
        Assert.Equal(2, Regex.Matches(run.Out, @"construction: AutoKernel \d+\.\d ms .*, ONNX Runtime \d+\.\d ms \(session creation\)").Count);

        // Every child is a process of its own: not this one, and not each other.
        var pids = ProcessId().Matches(run.Out).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(4, pids.Count);
        Assert.Equal(4, pids.Distinct().Count());
        Assert.DoesNotContain(Environment.ProcessId, pids);

        var rows = File.ReadAllLines(csv);
        Assert.Equal("threads,engine,repeat,seconds,number,construction_seconds,peak_working_set_bytes,peak_private_bytes", rows[0]);
        Assert.Equal(
            ["1,AutoKernel,0", "1,AutoKernel,1", "1,ONNX Runtime,0", "1,ONNX Runtime,1", "2,AutoKernel,0", "2,AutoKernel,1", "2,ONNX Runtime,0", "2,ONNX Runtime,1"],
            rows.Skip(1).Select(r => string.Join(",", r.Split(',').Take(3))));
        Assert.All(rows.Skip(1), r => Assert.True(D(r.Split(',')[3]) > 0, r));
        // The temporary plan and weights are gone.
        Assert.Empty(Directory.GetDirectories(Path.GetTempPath(), ours).Except(tempBefore));
    }

    [Fact]
    public void A_bad_model_is_a_one_line_error()
    {
        string bad = _dir.File("bad.onnx");
        File.WriteAllText(bad, "this is not an ONNX model");
        var run = Support.Cli.Run("bench-model", bad, "--threads", "1", "--repeat", "2", "--min-repeat-ms", "5");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("", run.Out);
        var line = Assert.Single(run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"error: {bad}: ", line, StringComparison.Ordinal);

        var missing = Support.Cli.Run("bench-model", _dir.File("missing.onnx"));
        Assert.Equal(1, missing.ExitCode);
        Assert.Single(missing.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        var (path, _) = SaveSmallNet();
        var zero = Support.Cli.Run("bench-model", path, "--threads", "0");
        Assert.Equal(1, zero.ExitCode);
        Assert.Equal("error: give each --threads as a count of at least 1", zero.Error.Trim());
    }

    [Fact]
    public void The_profiler_runs_the_same_kernels_as_the_model_class()
    {
        var (_, loaded) = SaveSmallNet();
        var compiled = ModelCompiler.Compile(loaded, SyntheticLogs.For(loaded, Target, _dir.File("tune.log"), seed: 2), Target);
        using var model = GeneratedModel.Build(compiled.Plan, compiled.Payload, "Small", profiler: true);
        Assert.True(model.HasProfiler);
        // The model class is the generator's alone: the profiler is not among the generated sources.
        Assert.DoesNotContain(model.Sources, s => s.Source.Contains("Stopwatch", StringComparison.Ordinal));

        var seeded = Compare.InputGenerator.Create(loaded.Optimized, seed: 3);
        float[][] inputs = [.. compiled.Plan.Inputs.Select(v => seeded[v.Name].Floats)];
        float[] expected = new float[7], actual = new float[7];
        using (var instance = model.CreateInstance(2))
            model.Run(instance, inputs, [expected]);
        using var profiler = model.CreateProfiler(new ModelOptions { Threads = 2 });
        profiler.Run(inputs, [actual]);
        Assert.Equal(expected, actual);
        Assert.Equal(1, profiler.Runs);

        profiler.Reset();
        Assert.All(profiler.StepSeconds(), s => Assert.Equal(0, s));
        for (int i = 0; i < 5; i++)
            profiler.Run(inputs, [actual]);
        Assert.Equal(5, profiler.Runs);
        var steps = profiler.StepSeconds();
        Assert.Equal(compiled.Plan.Steps.Count, steps.Length);
        Assert.All(steps, s => Assert.True(s > 0));
        var kinds = profiler.KindSeconds();
        Assert.Equal(StepProfiler.Kinds, kinds.Keys);
        Assert.Equal(steps.Sum(), kinds.Values.Sum(), 9);
        Assert.True(kinds[PlanStep.TunedKind] > 0);
        if (!compiled.Plan.Steps.Any(s => s.Kind == PlanStep.CopyKind))
            Assert.Equal(0, kinds[PlanStep.CopyKind]);

        Assert.Throws<ArgumentException>(() => profiler.Run(inputs, [new float[6]]));
        using var plain = GeneratedModel.Build(compiled);
        Assert.False(plain.HasProfiler);
        Assert.Throws<InvalidOperationException>(() => plain.CreateProfiler(ModelOptions.Default));
    }

    [Fact]
    public void The_hidden_command_times_compiled_files_and_refuses_mismatched_ones()
    {
        var (_, loaded) = SaveSmallNet();
        var compiled = ModelCompiler.Compile(loaded, RecordLog.Empty, Target);
        var (plan, weights) = CompileOutput.Write(compiled, _dir.File("out"), "small");

        var run = Support.Cli.Run(GeneratedTiming.CommandName, plan, weights, "--threads", "2", "--repeat", "3", "--min-repeat-ms", "2");
        Assert.True(run.ExitCode == 0, run.Error);
        var line = Assert.Single(run.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("{\"repeat_seconds\":[", line, StringComparison.Ordinal);
        var result = GeneratedTiming.Parse(line);
        Assert.Equal(3, result.RepeatSeconds.Length);
        Assert.All(result.RepeatSeconds, s => Assert.InRange(s, 1e-9, 1.0));
        // How many runs a repeat takes depends on the machine's load (one run may already fill 2 ms):
        // CalibrationTests holds the calibration to exact values on a scripted clock.
        Assert.True(result.Number >= 1, result.Number.ToString(CultureInfo.InvariantCulture));
        Assert.Equal(2, result.Threads);
        Assert.Equal(Environment.ProcessId, result.ProcessId);
        Assert.InRange(result.ConstructionSeconds, 1e-7, 60);
        Assert.True(result.BuildSeconds > 0);
        Assert.True(result.ProfiledRuns >= 10);
        Assert.Equal(StepProfiler.Kinds.ToDictionary(k => k, k => compiled.Plan.Steps.Count(s => s.Kind == k)), result.KindSteps);
        // The kinds share the steps' part of a profiled run; the rest (time between steps) grows with load.
        Assert.InRange(result.KindShares.Values.Sum(), 1e-6, 1.0 + 1e-9);
        Assert.True(result.PeakWorkingSetBytes > 1 << 20 && result.BaselineWorkingSetBytes > 1 << 20);
        Assert.True(result.PeakPrivateBytes > 1 << 20);

        // Weights of another compile (a different log changes the packed layouts or not; a different model surely does).
        var other = ModelCompiler.Compile(Graphs.Prepare(SmallNet(seed: 8)), RecordLog.Empty, Target);
        var (_, otherWeights) = CompileOutput.Write(other, _dir.File("other"), "small");
        var mismatched = Support.Cli.Run(GeneratedTiming.CommandName, plan, otherWeights);
        Assert.Equal(1, mismatched.ExitCode);
        Assert.Equal("", mismatched.Out);
        Assert.StartsWith($"error: {otherWeights}: these weights do not belong to the plan", mismatched.Error, StringComparison.Ordinal);

        var missing = Support.Cli.Run(GeneratedTiming.CommandName, _dir.File("none.akplan.json"), weights);
        Assert.Equal($"error: {_dir.File("none.akplan.json")}: plan file not found", missing.Error.Trim());
        File.WriteAllText(_dir.File("bad.akplan.json"), "{ not a plan");
        var malformed = Support.Cli.Run(GeneratedTiming.CommandName, _dir.File("bad.akplan.json"), weights);
        Assert.Equal(1, malformed.ExitCode);
        Assert.StartsWith($"error: {_dir.File("bad.akplan.json")}: not an AutoKernel plan", malformed.Error, StringComparison.Ordinal);

        Assert.DoesNotContain(GeneratedTiming.CommandName, Support.Cli.Run("--help").Out, StringComparison.Ordinal);
    }

    private static AutoKernel.Build.Onnx.Proto.ModelProto SmallNet(int seed) => TestNets.SmallConvNet(seed);

    private (string Path, LoadedModel Loaded) SaveSmallNet()
    {
        var model = SmallNet(seed: 3);
        string path = _dir.File("small.onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        return (path, Graphs.Prepare(model));
    }
}
