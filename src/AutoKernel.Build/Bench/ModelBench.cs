using System.Globalization;
using System.Text;
using AutoKernel.Build.Compile;
using AutoKernel.Build.Records;
using AutoKernel.Build.Targets;

namespace AutoKernel.Build.Bench;

/// <summary>How <see cref="ModelBench.Run"/> benchmarks a model.</summary>
public sealed record ModelBenchOptions
{
    /// <summary>Thread counts to compare at, in order (each: compile, then the AutoKernel child, then the ONNX Runtime child).</summary>
    public IReadOnlyList<int> Threads { get; init; } = [1];

    /// <summary>The tuning log (null: none, every task uses its fallback schedule).</summary>
    public string? LogPath { get; init; }

    /// <summary>Warm-up, repeat, min_repeat_ms, seed, input shapes and the timeout of each child.</summary>
    public OrtTimingOptions Timing { get; init; } = new();
}

/// <summary>One thread count's result: both sides and the compile report the AutoKernel side was built from.</summary>
public sealed record ModelBenchResult(int Threads, CompileReport Report, GeneratedTimingResult AutoKernel, OrtTimingResult OnnxRuntime)
{
    /// <summary>ONNX Runtime's mean over AutoKernel's: above 1, AutoKernel is faster.</summary>
    public double Ratio => Mean(OnnxRuntime.RepeatSeconds) / Mean(AutoKernel.RepeatSeconds);

    internal static double Mean(IReadOnlyList<double> values) => values.Average();

    /// <summary>Population standard deviation, as AutoTVM's np.std.</summary>
    internal static double StdDev(IReadOnlyList<double> values)
    {
        double mean = Mean(values);
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / values.Count);
    }
}

/// <summary>
/// `autokernel bench-model`: the whole model, AutoKernel's generated class against ONNX Runtime on
/// this machine. For each thread count the model is compiled with the log, written to a temporary
/// folder as `autokernel compile` writes it, and timed by two children one after the other
/// (`generated-time`, then `ort-time`), so that neither side's idle spinning threads slow the other.
/// </summary>
public static class ModelBench
{
    public const string AutoKernelName = "AutoKernel";
    public const string OnnxRuntimeName = "ONNX Runtime";

    public static IReadOnlyList<ModelBenchResult> Run(string modelPath, ModelBenchOptions options, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(modelPath);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Threads.Count == 0 || options.Threads.Any(t => t < 1))
            throw new ModelException("give each --threads as a count of at least 1");
        var c = CultureInfo.InvariantCulture;
        var loaded = ModelPipeline.Load(modelPath, options.Timing.InputShapes);
        var log = options.LogPath is { } logPath ? RecordLog.Load(logPath) : RecordLog.Empty;
        foreach (string warning in log.Warnings)
            stderr.WriteLine("warning: " + warning);
        stdout.WriteLine($"model: {modelPath}");
        stdout.WriteLine($"inputs: {string.Join(", ", loaded.Optimized.Inputs.Where(i => !loaded.Optimized.Initializers.ContainsKey(i.Name)).Select(i => $"{i.Name} {i.Type}"))}");
        stdout.WriteLine($"log: {options.LogPath ?? "(none: fallback schedules)"}");
        stdout.WriteLine(string.Create(c, $"timing: warm-up {options.Timing.Warmup}, {options.Timing.Repeat} repeats of at least {options.Timing.MinRepeatMs} ms, each side in its own process"));

        // The process id in the name tells whose folder it is (tests check that theirs is removed).
        string temp = Path.Combine(Path.GetTempPath(), $"autokernel-bench-{Environment.ProcessId}-{Guid.NewGuid():N}");
        var results = new List<ModelBenchResult>();
        try
        {
            foreach (int threads in options.Threads)
            {
                var target = CpuTargets.Host(threads);
                var compiled = ModelCompiler.Compile(loaded, log, target);
                foreach (var warning in compiled.Warnings)
                    stderr.WriteLine(string.Create(c, $"warning: (threads {threads}) {warning}"));
                var (plan, weights) = CompileOutput.Write(compiled, Path.Combine(temp, threads.ToString(c)), "model");

                stdout.WriteLine();
                stdout.WriteLine(string.Create(c, $"threads: {threads}"));
                var report = new StringWriter();
                compiled.Report.Write(report);
                foreach (string line in report.ToString().Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.StartsWith("steps:", StringComparison.Ordinal) || l.StartsWith("tasks:", StringComparison.Ordinal)))
                    stdout.WriteLine("  compile: " + line);

                var autoKernel = GeneratedTiming.Measure(plan, weights, threads, options.Timing);
                var ort = OrtTiming.Measure(modelPath, threads, options.Timing);
                var result = new ModelBenchResult(threads, compiled.Report, autoKernel, ort);
                results.Add(result);
                Write(result, stdout);
            }
        }
        finally
        {
            try
            {
                Directory.Delete(temp, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
            }
        }
        return results;
    }

    /// <summary>AutoTVM's "Mean inference time (std dev)" line, with the engine's name first.</summary>
    public static string MeanLine(string engine, IReadOnlyList<double> repeatSeconds) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{engine,-12} Mean inference time (std dev): {ModelBenchResult.Mean(repeatSeconds) * 1e3:F3} ms ({ModelBenchResult.StdDev(repeatSeconds) * 1e3:F3} ms)");

    private static void Write(ModelBenchResult r, TextWriter w)
    {
        var c = CultureInfo.InvariantCulture;
        var ak = r.AutoKernel;
        var ort = r.OnnxRuntime;
        w.WriteLine("  " + MeanLine(AutoKernelName, ak.RepeatSeconds));
        w.WriteLine("  " + MeanLine(OnnxRuntimeName, ort.RepeatSeconds));
        w.WriteLine(string.Create(c, $"  ratio (ONNX Runtime / AutoKernel): {r.Ratio:F2}x ({(r.Ratio >= 1 ? "AutoKernel faster" : "ONNX Runtime faster")})"));
        var shares = ak.KindShares;
        string kinds = string.Join(", ", StepProfiler.Kinds.Select(k => string.Create(c, $"{k} {shares.GetValueOrDefault(k) * 100:F1}% ({ak.KindSteps.GetValueOrDefault(k)} steps)")));
        double profiledMs = ak.ProfiledSeconds * 1e3, meanMs = ak.MeanSeconds * 1e3;
        w.WriteLine($"  AutoKernel time by step kind: {kinds}");
        w.WriteLine(string.Create(c, $"    (of a profiled run: {profiledMs:F3} ms over {ak.ProfiledRuns} runs, vs {meanMs:F3} ms unprofiled, {(profiledMs / meanMs - 1) * 100:+0.0;-0.0}%; steps {shares.Values.Sum() * 100:F1}% of it)"));
        w.WriteLine(string.Create(c, $"  construction: AutoKernel {ak.ConstructionSeconds * 1e3:F1} ms (model constructor: weights, kernels, pool; sources built in {ak.BuildSeconds:F1} s), ONNX Runtime {ort.SessionSeconds * 1e3:F1} ms (session creation)"));
        string since = ak.PeakResetAfterBuild ? "" : ", the peak includes the in-process build";
        w.WriteLine($"  peak memory: AutoKernel {CompileReport.Bytes(ak.PeakWorkingSetBytes)} working set (+{CompileReport.Bytes(Math.Max(0, ak.PeakWorkingSetBytes - ak.BaselineWorkingSetBytes))} over {CompileReport.Bytes(ak.BaselineWorkingSetBytes)} after building the sources{since}), {CompileReport.Bytes(ak.PeakPrivateBytes)} private (process {ak.ProcessId.ToString(c)})");
        w.WriteLine($"               ONNX Runtime {CompileReport.Bytes(ort.PeakWorkingSetBytes)} working set (+{CompileReport.Bytes(Math.Max(0, ort.PeakWorkingSetBytes - ort.BaselineWorkingSetBytes))} over {CompileReport.Bytes(ort.BaselineWorkingSetBytes)} before the session), {CompileReport.Bytes(ort.PeakPrivateBytes)} private (process {ort.ProcessId.ToString(c)})");
    }

    /// <summary>One row per (threads, engine, repeat).</summary>
    public static string Csv(IEnumerable<ModelBenchResult> results)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder("threads,engine,repeat,seconds,number,construction_seconds,peak_working_set_bytes,peak_private_bytes\n");
        foreach (var r in results)
        {
            for (int i = 0; i < r.AutoKernel.RepeatSeconds.Length; i++)
                sb.Append(string.Create(c, $"{r.Threads},{AutoKernelName},{i},{r.AutoKernel.RepeatSeconds[i]:R},{r.AutoKernel.Number},{r.AutoKernel.ConstructionSeconds:R},{r.AutoKernel.PeakWorkingSetBytes},{r.AutoKernel.PeakPrivateBytes}\n"));
            for (int i = 0; i < r.OnnxRuntime.RepeatSeconds.Length; i++)
                sb.Append(string.Create(c, $"{r.Threads},{OnnxRuntimeName},{i},{r.OnnxRuntime.RepeatSeconds[i]:R},{r.OnnxRuntime.Number},{r.OnnxRuntime.SessionSeconds:R},{r.OnnxRuntime.PeakWorkingSetBytes},{r.OnnxRuntime.PeakPrivateBytes}\n"));
        }
        return sb.ToString();
    }
}
