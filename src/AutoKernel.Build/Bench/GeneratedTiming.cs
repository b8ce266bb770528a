using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using AutoKernel.Build.Compare;
using AutoKernel.Build.Compile;
using AutoKernel.Build.Graph;
using AutoKernel.Generator.Plans;
using AutoKernel.Runtime.Models;

namespace AutoKernel.Build.Bench;

/// <summary>What the `generated-time` child measured: one JSON line on its stdout.</summary>
public sealed record GeneratedTimingResult
{
    /// <summary>Per repeat, seconds per run of the model class's Run (the mean of <see cref="Number"/> runs).</summary>
    public required double[] RepeatSeconds { get; init; }

    /// <summary>Runs per repeat, calibrated to min_repeat_ms.</summary>
    public int Number { get; init; }

    /// <summary>Threads of the model's worker pool (0: the tuned thread count).</summary>
    public int Threads { get; init; }

    /// <summary>Seconds of the model class's constructor (weights loaded from the embedded resource, kernels bound, pool started).</summary>
    public double ConstructionSeconds { get; init; }

    /// <summary>Seconds to generate the sources and compile them (what an app's build does; not part of its run time).</summary>
    public double BuildSeconds { get; init; }

    /// <summary>
    /// The child's peak resident set (Linux VmHWM; Windows peak working set) after the timed runs,
    /// bytes. On Linux the peak is reset after the sources are built and the compiler's garbage
    /// collected (<see cref="PeakResetAfterBuild"/>), so it is the model's peak, not Roslyn's.
    /// </summary>
    public long PeakWorkingSetBytes { get; init; }

    /// <summary>Whether <see cref="PeakWorkingSetBytes"/> was reset after the build (Linux /proc/self/clear_refs).</summary>
    public bool PeakResetAfterBuild { get; init; }

    /// <summary>The child's working set after the build, before the model class was constructed.</summary>
    public long BaselineWorkingSetBytes { get; init; }

    /// <summary>The child's private bytes after the build, before the model class was constructed.</summary>
    public long BaselinePrivateBytes { get; init; }

    /// <summary>The child's private bytes, the largest sample after construction, the first run and the timed runs.</summary>
    public long PeakPrivateBytes { get; init; }

    /// <summary>The id of the process that timed the model (the child, not the caller).</summary>
    public int ProcessId { get; init; }

    /// <summary>Runs of the step profiler (after one untimed run).</summary>
    public long ProfiledRuns { get; init; }

    /// <summary>Seconds per profiled run, measured around the whole profiled run (timestamps and all).</summary>
    public double ProfiledSeconds { get; init; }

    /// <summary>Seconds per profiled run spent in each step kind (tuned, fixed, transform, copy).</summary>
    public required Dictionary<string, double> KindSeconds { get; init; }

    /// <summary>Steps of each kind in the plan.</summary>
    public required Dictionary<string, int> KindSteps { get; init; }

    [JsonIgnore]
    public double MeanSeconds => RepeatSeconds.Average();

    /// <summary>Each kind's share of the profiled run (they add up to the steps' share of it, just under 1).</summary>
    [JsonIgnore]
    public Dictionary<string, double> KindShares => KindSeconds.ToDictionary(k => k.Key, k => ProfiledSeconds > 0 ? k.Value / ProfiledSeconds : 0, StringComparer.Ordinal);
}

/// <summary>
/// The generated model timed in a process of its own (`autokernel generated-time PLAN WEIGHTS`):
/// the plan and weights files that `autokernel compile` writes are generated and compiled in the
/// child exactly as an app's build would (<see cref="GeneratedModel"/>), and the model class is timed
/// with AutoTVM's protocol; then a step profiler compiled into the same assembly splits a run's time
/// by step kind.
/// </summary>
public static class GeneratedTiming
{
    /// <summary>The hidden subcommand that runs the child side.</summary>
    public const string CommandName = "generated-time";

    /// <summary>
    /// Times the model of <paramref name="planPath"/> and <paramref name="weightsPath"/> in a child
    /// process with a pool of <paramref name="threads"/> threads (<see cref="OrtTimingOptions"/>'
    /// warm-up, repeat, min_repeat_ms, seed and timeout; its input shapes are the plan's). Throws a
    /// one-line <see cref="ModelException"/> when the child fails.
    /// </summary>
    public static GeneratedTimingResult Measure(string planPath, string weightsPath, int threads, OrtTimingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(planPath);
        ArgumentNullException.ThrowIfNull(weightsPath);
        options ??= new OrtTimingOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(threads);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Repeat, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Warmup, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.MinRepeatMs, nameof(options));
        var ci = CultureInfo.InvariantCulture;
        var args = new List<string> { CommandName, Path.GetFullPath(planPath), Path.GetFullPath(weightsPath) };
        foreach (var (flag, value) in new[]
        {
            ("--threads", threads), ("--warmup", options.Warmup), ("--repeat", options.Repeat),
            ("--min-repeat-ms", options.MinRepeatMs), ("--seed", options.Seed),
        })
        {
            args.Add(flag);
            args.Add(value.ToString(ci));
        }
        return Parse(ChildProcess.RunForJsonLine(args, options.Timeout, "AutoKernel timing", planPath));
    }

    /// <summary>The result of one `generated-time` JSON line.</summary>
    public static GeneratedTimingResult Parse(string line)
    {
        try
        {
            return JsonSerializer.Deserialize<GeneratedTimingResult>(line, OrtTiming.Json) ?? throw new InvalidDataException("null result");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"not a generated-time result line: {e.Message}", e);
        }
    }

    /// <summary>Reads a plan file; a missing or malformed one is a <see cref="ModelException"/> naming it.</summary>
    public static ModelPlan ReadPlan(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelException(e is FileNotFoundException or DirectoryNotFoundException ? "plan file not found" : "cannot read the plan: " + e.Message) { File = path };
        }
        try
        {
            return PlanFormat.Parse(text);
        }
        catch (Exception e) when (e is PlanFormatException or PlanVersionException)
        {
            throw new ModelException("not an AutoKernel plan: " + e.Message) { File = path };
        }
    }

    /// <summary>The payload of a weights file, checked against the plan's size and SHA-256.</summary>
    public static byte[] ReadPayload(string path, ModelPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        byte[] file;
        try
        {
            file = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelException(e is FileNotFoundException or DirectoryNotFoundException ? "weights file not found" : "cannot read the weights: " + e.Message) { File = path };
        }
        long bytes;
        string sha;
        try
        {
            (bytes, sha) = WeightsFile.ReadHeader(file, path);
        }
        catch (InvalidDataException e)
        {
            throw new ModelException(e.Message);
        }
        if (file.Length - WeightsFile.HeaderSize != bytes)
            throw new ModelException($"the weights file is truncated or too long (its header says {bytes} bytes of payload)") { File = path };
        byte[] payload = file[WeightsFile.HeaderSize..];
        if (bytes != plan.Weights.Bytes || sha != plan.Weights.Sha256 || WeightsFile.Sha256(payload) != sha)
            throw new ModelException($"these weights do not belong to the plan (the plan expects {plan.Weights.Bytes} bytes with SHA-256 {plan.Weights.Sha256[..Math.Min(12, plan.Weights.Sha256.Length)]}...)") { File = path };
        return payload;
    }

    // ---- The child side ----

    /// <summary>The profiler runs at least this often (and as often as the timed runs).</summary>
    private const long MinProfiledRuns = 10;

    /// <summary>Linux: writing 5 to /proc/self/clear_refs resets VmHWM (the peak resident set) to the current RSS.</summary>
    private static bool ResetPeakWorkingSet()
    {
        if (!OperatingSystem.IsLinux())
            return false;
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>`autokernel generated-time`: builds the model class, times it, profiles its steps, prints one JSON line.</summary>
    internal static GeneratedTimingResult RunChild(string planPath, string weightsPath, int threads, OrtTimingOptions options, TextWriter stdout)
    {
        var plan = ReadPlan(planPath);
        byte[] payload = ReadPayload(weightsPath, plan);
        using var model = GeneratedModel.Build(plan, payload, "Model", profiler: true);

        // The same seeded values as ort-time's (InputGenerator over the inputs in order).
        var graph = new ModelGraph();
        foreach (var v in plan.Inputs)
            graph.Inputs.Add(new GraphValue(v.Name, new TensorType(DataType.Float, [.. v.Shape])));
        var seeded = InputGenerator.Create(graph, options.Seed);
        float[][] inputs = [.. plan.Inputs.Select(v => seeded[v.Name].Floats)];
        float[][] outputs = [.. plan.Outputs.Select(v => new float[v.Shape.Aggregate(1L, (p, d) => p * d)])];

        // What the compiler left behind is collected, and the peak is measured from here on.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        bool reset = ResetPeakWorkingSet();
        long baselineWorkingSet, baselinePrivate;
        using (var before = Process.GetCurrentProcess())
            (baselineWorkingSet, baselinePrivate) = (before.WorkingSet64, before.PrivateMemorySize64);

        var clock = Stopwatch.StartNew();
        var instance = model.CreateInstance(threads);
        double construction = clock.Elapsed.TotalSeconds;
        long privateBytes = ChildProcess.PrivateBytes();
        double[] costs;
        int number;
        long peakWorkingSet;
        try
        {
            model.Run(instance, inputs, outputs);
            privateBytes = Math.Max(privateBytes, ChildProcess.PrivateBytes());
            (costs, number) = Timing.Calibrated(() => model.Run(instance, inputs, outputs), options.Warmup - 1, options.Repeat, options.MinRepeatMs);
            privateBytes = Math.Max(privateBytes, ChildProcess.PrivateBytes());
            using var self = Process.GetCurrentProcess();
            peakWorkingSet = self.PeakWorkingSet64;
        }
        finally
        {
            // Its pool stops before the profiler's starts: never two pools spinning at once.
            instance.Dispose();
        }

        using var profiler = model.CreateProfiler(new ModelOptions { Threads = threads });
        profiler.Run(inputs, outputs);
        profiler.Reset();
        long runs = Math.Max(MinProfiledRuns, (long)number * options.Repeat);
        long start = Stopwatch.GetTimestamp();
        for (long r = 0; r < runs; r++)
            profiler.Run(inputs, outputs);
        double profiled = Stopwatch.GetElapsedTime(start).TotalSeconds / runs;
        var kinds = profiler.KindSeconds().ToDictionary(k => k.Key, k => k.Value / runs, StringComparer.Ordinal);

        var result = new GeneratedTimingResult
        {
            RepeatSeconds = costs,
            Number = number,
            Threads = threads,
            ConstructionSeconds = construction,
            BuildSeconds = model.CompileSeconds,
            PeakWorkingSetBytes = peakWorkingSet,
            PeakResetAfterBuild = reset,
            BaselineWorkingSetBytes = baselineWorkingSet,
            BaselinePrivateBytes = baselinePrivate,
            PeakPrivateBytes = privateBytes,
            ProcessId = Environment.ProcessId,
            ProfiledRuns = runs,
            ProfiledSeconds = profiled,
            KindSeconds = kinds,
            KindSteps = StepProfiler.Kinds.ToDictionary(k => k, k => plan.Steps.Count(s => s.Kind == k), StringComparer.Ordinal),
        };
        stdout.WriteLine(JsonSerializer.Serialize(result, OrtTiming.Json));
        return result;
    }
}
