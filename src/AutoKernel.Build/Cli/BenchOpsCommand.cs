using System.CommandLine;
using System.Globalization;
using AutoKernel.Build.Bench;
using AutoKernel.Build.Compare;
using AutoKernel.Build.Measure;
using AutoKernel.Build.Records;
using AutoKernel.Build.Targets;
using AutoKernel.Build.Tasks;
using AutoKernel.Build.Tuning;
using AutoKernel.Generator.Kernels;

namespace AutoKernel.Build.Cli;

/// <summary>
/// `autokernel bench-ops MODEL --target cpu`: for every tunable task, the best of N sampled
/// configurations against ONNX Runtime on a one-node model of the same workload and epilogue,
/// in the same run, with the machine's measured FMA peak for the thread count. Each side is timed
/// in a child process of its own (the runner child, then `autokernel ort-time`), one at a time.
/// </summary>
public static class BenchOpsCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = CommandLine.ModelArgument();
        var shapes = CommandLine.InputShapeOption();
        var target = new Option<string>("--target") { Description = "Target device.", DefaultValueFactory = _ => "cpu" };
        target.AcceptOnlyFromAmong("cpu");
        var configs = new Option<int>("--configs") { Description = "Configurations sampled per task.", DefaultValueFactory = _ => 32 };
        var threads = new Option<int[]>("--threads") { Description = "Thread counts to measure (repeatable).", DefaultValueFactory = _ => [1] };
        var seed = new Option<int>("--seed") { Description = "Seed of the configuration sampling.", DefaultValueFactory = _ => 0 };
        var repeat = new Option<int>("--repeat") { Description = "Timed repeats per measurement.", DefaultValueFactory = _ => 5 };
        var minRepeatMs = new Option<int>("--min-repeat-ms") { Description = "Shortest duration of one repeat.", DefaultValueFactory = _ => 50 };
        var taskFilter = new Option<int[]>("--task") { Description = "Only these task numbers (1-based, repeatable)." };
        var log = new Option<string?>("--log") { Description = "Instead of sampling, re-measure each task's best configuration in this tuning log (for the thread count)." };
        var command = new Command("bench-ops", "Benchmark each tunable task: best sampled (or tuned) configuration against ONNX Runtime.")
        {
            model, shapes, target, configs, threads, seed, repeat, minRepeatMs, taskFilter, log,
        };
        command.SetAction(parse =>
        {
            OrtRunner.EnsureAvailable();
            var loaded = ModelPipeline.Load(parse.GetValue(model)!, CommandLine.InputShapes(parse, shapes));
            var tasks = TaskExtractor.Extract(loaded.Optimized);
            var only = parse.GetValue(taskFilter) ?? [];
            var tuned = parse.GetValue(log) is { } path ? RecordLog.Load(path) : null;
            var settings = new Settings(parse.GetValue(configs), parse.GetValue(seed), parse.GetValue(repeat), parse.GetValue(minRepeatMs), tuned);
            foreach (int t in parse.GetValue(threads)!)
                Run(loaded, tasks, only, t, settings, stdout);
            return 0;
        });
        return command;
    }

    /// <summary>`autokernel bench-parallel`: dispatch cost of WorkerPool against Parallel.For.</summary>
    public static Command CreateParallel(TextWriter stdout)
    {
        var threads = new Option<int>("--threads") { Description = "Threads.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var command = new Command("bench-parallel", "Measure the dispatch cost of AutoKernel's WorkerPool against Parallel.For.") { threads };
        command.SetAction(parse =>
        {
            var ci = CultureInfo.InvariantCulture;
            int t = parse.GetValue(threads);
            stdout.WriteLine(string.Create(ci, $"threads {t}; microseconds per parallel loop of {4 * t} iterations (median, min-max of 7 repeats)"));
            stdout.WriteLine(string.Create(ci, $"  {"engine",-14} {"body us",8} {"ideal us",9} {"median",9} {"min",9} {"max",9}"));
            foreach (var row in ParallelForBenchmark.Run(t))
            {
                double ideal = row.BodyMicroseconds * row.Iterations / t;
                stdout.WriteLine(string.Create(ci,
                    $"  {row.Engine,-14} {row.BodyMicroseconds,8:F1} {ideal,9:F1} {Timing.Median(row.LoopMicroseconds),9:F2} {row.LoopMicroseconds.Min(),9:F2} {row.LoopMicroseconds.Max(),9:F2}"));
            }
            return 0;
        });
        return command;
    }

    private sealed record Settings(int Configs, int Seed, int Repeat, int MinRepeatMs, RecordLog? Tuned);

    private static void Run(LoadedModel loaded, IReadOnlyList<TuningTask> tasks, int[] only, int threads, Settings settings, TextWriter w)
    {
        var ci = CultureInfo.InvariantCulture;
        var target = CpuTargets.Host(threads);
        double peak = FmaPeak.Measure(threads);
        w.WriteLine(string.Create(ci, $"machine   {target.Description}, {Environment.ProcessorCount} logical cores"));
        string source = settings.Tuned is { } tuned ? $"the best configuration per task in {tuned.Path}" : $"{settings.Configs} sampled configs per task, best of them";
        w.WriteLine(string.Create(ci, $"threads   {threads}, measured FMA peak {peak:F1} GFLOPS; {source}; median of {settings.Repeat} repeats"));
        double oursMs = 0, ortMs = 0;
        w.WriteLine(string.Create(ci, $"  {"#",3} {"kind",-16} {"shape",-50} {"AutoKernel",10} {"ORT",8} {"ratio",6} {"peak%",6}  best config"));
        var options = new MeasureOptions { Threads = threads, Repeat = settings.Repeat, MinRepeatMs = settings.MinRepeatMs };
        using var runner = new Runner(options);
        int wins = 0, counted = 0;
        for (int i = 0; i < tasks.Count; i++)
        {
            if (only.Length > 0 && !only.Contains(i + 1))
                continue;
            var task = tasks[i];
            var node = loaded.Optimized.Nodes.First(n => n.Name == task.Nodes[0]);
            var epilogue = TaskExtractor.EpilogueOf(node);
            var candidates = settings.Tuned is { } log ? Tuned(log, task, epilogue, target) : Sample(task, epilogue, target, settings, i);
            if (candidates.Count == 0)
            {
                w.WriteLine(string.Create(ci, $"  {i + 1,3} {task.Workload.Kind,-16} {task.Workload.Shape,-50} no candidate (no template supports it, or the log has no valid record of it)"));
                continue;
            }
            var results = runner.Measure(candidates);
            var best = results.Where(r => r.Error == MeasureError.None).MaxBy(r => r.Gflops);
            // ONNX Runtime in a process of its own, after the runner child has finished: neither side's idle threads spin while the other runs.
            double ortSeconds = OrtSeconds(OrtSingleNode.BuildModel(task.Workload, epilogue), threads, settings);
            double ortGflops = task.Workload.Flops / ortSeconds / 1e9;
            int failed = results.Count(r => r.Error != MeasureError.None);
            if (best is null)
            {
                w.WriteLine(string.Create(ci, $"  {i + 1,3} {task.Workload.Kind,-16} {task.Workload.Shape,-50} {"-",10} {ortGflops,8:F1}  all {results.Count} candidates failed ({results[0].Error}: {results[0].Message})"));
                continue;
            }
            double gflops = task.Workload.Flops / Timing.Median(best.Costs) / 1e9;
            double ratio = gflops / ortGflops;
            oursMs += task.TotalFlops / gflops / 1e6;
            ortMs += task.TotalFlops / ortGflops / 1e6;
            counted++;
            if (ratio >= 1)
                wins++;
            w.WriteLine(string.Create(ci,
                $"  {i + 1,3} {task.Workload.Kind,-16} {task.Workload.Shape,-50} {gflops,10:F1} {ortGflops,8:F1} {ratio,6:F2} {100 * gflops / peak,5:F0}%  {best.Candidate.Template} #{best.Candidate.ConfigIndex}{(failed > 0 ? $" ({failed} failed)" : "")}"));
            var perTemplate = results.Where(r => r.Error == MeasureError.None).GroupBy(r => r.Candidate.Template)
                .Select(g => (Template: g.Key, Gflops: task.Workload.Flops / Timing.Median(g.MaxBy(r => r.Gflops)!.Costs) / 1e9));
            w.WriteLine(string.Create(ci, $"        per template: {string.Join(", ", perTemplate.Select(p => $"{p.Template} {p.Gflops:F1} ({100 * p.Gflops / peak:F0}%)"))}"));
        }
        w.WriteLine(string.Create(ci, $"tasks at or above ONNX Runtime: {wins} of {counted}"));
        if (counted > 0)
            w.WriteLine(string.Create(ci, $"sum over the model's nodes of these {counted} tasks: AutoKernel {oursMs:F3} ms, ONNX Runtime {ortMs:F3} ms (ratio {ortMs / oursMs:F2})"));
        w.WriteLine("GFLOPS count the direct computation's operations; Winograd performs fewer multiplies, so its rate can exceed the FMA peak.");
        w.WriteLine();
    }

    /// <summary>The median seconds per run of ONNX Runtime on the one-node model, timed by `autokernel ort-time`.</summary>
    private static double OrtSeconds(byte[] model, int threads, Settings settings)
    {
        string path = Path.Combine(Path.GetTempPath(), $"autokernel-bench-{Environment.ProcessId}-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, model);
        try
        {
            return OrtTiming.Measure(path, threads, new OrtTimingOptions { Repeat = settings.Repeat, MinRepeatMs = settings.MinRepeatMs }).MedianSeconds;
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>The log's best configuration for the task on this target and thread count; none when the log has no valid record.</summary>
    internal static List<Candidate> Tuned(RecordLog log, TuningTask task, Epilogue epilogue, CpuTarget target)
    {
        // The fastest valid record whose configuration still means the same in this version's spaces.
        var space = new TaskSpace(task.Workload, target);
        var point = log.For(target.Description, target.Cores, task.Key).Where(r => r.IsValid).OrderBy(r => r.MeanCost)
            .Select(r => TuningJob.PointOf(space, r, [])).FirstOrDefault(p => p is not null);
        return point is null ? [] : [TuningJob.CandidateFor(space, point, epilogue)];
    }

    /// <summary>Up to N distinct valid configurations per template that supports the workload, emitted as candidates.</summary>
    private static List<Candidate> Sample(TuningTask task, Epilogue epilogue, CpuTarget target, Settings settings, int taskIndex)
    {
        var candidates = new List<Candidate>();
        var templates = KernelTemplates.All.Where(t => t.Supports(task.Workload)).ToList();
        if (templates.Count == 0)
            return candidates;
        // Deterministic per (seed, task): HashCode.Combine is randomized per process, so it cannot seed a sample.
        var random = new Random(unchecked(settings.Seed * 1_000_003 + taskIndex));
        int perTemplate = Math.Max(1, settings.Configs / templates.Count);
        foreach (var template in templates)
        {
            var space = template.CreateSpace(task.Workload, target);
            var seen = new HashSet<long>();
            for (int attempt = 0; attempt < perTemplate * 20 && seen.Count < perTemplate; attempt++)
            {
                var config = space.Sample(random);
                if (config is null || !seen.Add(config.Index))
                    continue;
                string className = string.Create(CultureInfo.InvariantCulture, $"{template.Name}_{config.Index}");
                string ns = "AutoKernel.Bench";
                candidates.Add(new Candidate(task.Workload, epilogue, template.Name, config.Index,
                    template.Emit(task.Workload, epilogue, config, target, ns, className), ns + "." + className));
            }
        }
        return candidates;
    }
}
