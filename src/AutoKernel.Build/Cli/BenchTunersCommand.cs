using System.CommandLine;
using System.Globalization;
using System.Text;
using AutoKernel.Build.Bench;
using AutoKernel.Build.Measure;
using AutoKernel.Build.Records;
using AutoKernel.Build.Targets;
using AutoKernel.Build.Tasks;
using AutoKernel.Build.Tuning;
using AutoKernel.Generator.Workloads;

namespace AutoKernel.Build.Cli;

/// <summary>
/// `autokernel bench-tuners MODEL`: tuning curves (best GFLOPS against trials) of several tuners
/// and seeds on the same tasks and budget, as a CSV and a summary table.
/// </summary>
public static class BenchTunersCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = CommandLine.ModelArgument();
        var shapes = CommandLine.InputShapeOption();
        var tuners = new Option<string[]>("--tuner") { Description = "Tuners to compare (repeatable): xgb, xgb-transfer, ga, random, grid.", DefaultValueFactory = _ => ["xgb", "ga", "random"] };
        tuners.AcceptOnlyFromAmong("xgb", "xgb-transfer", "ga", "random", "grid");
        var seeds = new Option<int>("--seeds") { Description = "Seeds per tuner (0..N-1).", DefaultValueFactory = _ => 3 };
        var trials = new Option<int>("--trials") { Description = "Budget per run.", DefaultValueFactory = _ => 200 };
        var batchSize = new Option<int>("--batch-size") { Description = "Candidates per batch.", DefaultValueFactory = _ => 16 };
        var threads = new Option<int>("--threads") { Description = "Threads the kernels use.", DefaultValueFactory = _ => 1 };
        var taskFilter = new Option<int[]>("--task") { Description = "Only these task numbers (1-based, repeatable)." };
        var csv = new Option<string?>("--csv") { Description = "Write every curve point here (task,tuner,seed,trial,best_gflops)." };
        var log = new Option<string?>("--log") { Description = "Append every measurement here as tuning records." };
        var history = new Option<string[]>("--history") { Description = "Records for the xgb-transfer variant (the task's own workload is left out).", AllowMultipleArgumentsPerToken = true };
        var repeat = new Option<int>("--repeat") { Description = "Timed repeats per trial.", DefaultValueFactory = _ => TuneCommand.DefaultMeasure.Repeat };
        var minRepeatMs = new Option<int>("--min-repeat-ms") { Description = "Shortest duration of one timed repeat.", DefaultValueFactory = _ => TuneCommand.DefaultMeasure.MinRepeatMs };
        var reference = new Option<string>("--reference") { Description = "The tuner whose final best the others are measured against.", DefaultValueFactory = _ => "random" };
        reference.AcceptOnlyFromAmong("xgb", "xgb-transfer", "ga", "random", "grid");
        var summarize = new Option<string[]>("--summarize") { Description = "Print the summary of earlier --csv files (one budget) instead of measuring; the model is not read.", AllowMultipleArgumentsPerToken = true };
        var command = new Command("bench-tuners", "Benchmark tuners: best GFLOPS against trials for each tuner and seed on the same tasks.")
        {
            model, shapes, tuners, seeds, trials, batchSize, threads, taskFilter, csv, log, history, repeat, minRepeatMs, summarize, reference,
        };
        command.SetAction(parse =>
        {
            if (parse.GetValue(summarize) is { Length: > 0 } files)
            {
                var read = files.SelectMany(ReadCsv).ToList();
                if (read.Count == 0)
                    throw new ModelException($"{string.Join(", ", files)}: no curves in the CSV");
                Summarize(read, read.Max(c => c.Best.Length), stdout, parse.GetValue(reference)!);
                return 0;
            }
            var ci = CultureInfo.InvariantCulture;
            var loaded = ModelPipeline.Load(parse.GetValue(model)!, CommandLine.InputShapes(parse, shapes));
            var tasks = TaskExtractor.Extract(loaded.Optimized);
            var only = parse.GetValue(taskFilter) ?? [];
            var names = parse.GetValue(tuners)!;
            int budget = parse.GetValue(trials), seedCount = parse.GetValue(seeds);
            var historyRecords = (parse.GetValue(history) ?? []).SelectMany(p => RecordLog.Load(p).Records).ToList();
            if (names.Contains("xgb-transfer") && historyRecords.Count == 0)
                throw new ModelException("--tuner xgb-transfer needs --history logs");
            var target = CpuTargets.Host(parse.GetValue(threads));
            var measure = TuneCommand.DefaultMeasure with { Threads = target.Cores, Repeat = parse.GetValue(repeat), MinRepeatMs = parse.GetValue(minRepeatMs) };
            using var runner = new Runner(measure);
            var bench = new TuningCurves(target, runner, parse.GetValue(log));
            stdout.WriteLine(string.Create(ci, $"machine {target.Description}, {target.Cores} threads; {budget} trials per run, seeds 0..{seedCount - 1}, batch {parse.GetValue(batchSize)}; repeat {measure.Repeat}, min {measure.MinRepeatMs} ms"));
            var curves = new List<Curve>();
            for (int i = 0; i < tasks.Count; i++)
            {
                // Default: the convolution tasks (the curves in docs/benchmarks.md).
                bool wanted = only.Length > 0 ? only.Contains(i + 1) : tasks[i].Workload is Conv2dWorkload;
                if (!wanted)
                    continue;
                var node = loaded.Optimized.Nodes.First(n => n.Name == tasks[i].Nodes[0]);
                foreach (string tuner in names)
                {
                    for (int seed = 0; seed < seedCount; seed++)
                    {
                        var curve = bench.Run(i + 1, tasks[i], TaskExtractor.EpilogueOf(node), tuner, seed, budget, parse.GetValue(batchSize), historyRecords);
                        curves.Add(curve);
                        stdout.WriteLine(string.Create(ci, $"  task {i + 1,2} {tuner,-12} seed {seed}: best {curve.Best[^1],7:F1} GFLOPS after {curve.Best.Length} trials, {curve.Seconds:F0} s ({bench.Measurements} distinct measurements so far)"));
                    }
                }
            }
            if (parse.GetValue(csv) is { } csvPath)
                WriteCsv(csvPath, curves);
            Summarize(curves, budget, stdout, parse.GetValue(reference)!);
            return 0;
        });
        return command;
    }

    /// <summary>`autokernel bench-costmodel LOG...`: how well each cost model ranks held-out measured records.</summary>
    public static Command CreateCostModel(TextWriter stdout)
    {
        var logs = new Argument<string[]>("logs") { Description = "Tuning logs with measured records.", Arity = ArgumentArity.OneOrMore };
        var models = new Option<string[]>("--cost-model") { Description = "Models to compare (repeatable).", DefaultValueFactory = _ => CostModelOptions.Names };
        models.AcceptOnlyFromAmong(CostModelOptions.Names);
        var threads = new Option<int>("--threads") { Description = "Thread count the records were measured with.", DefaultValueFactory = _ => 1 };
        var splits = new Option<int>("--splits") { Description = "Random half/half splits per workload.", DefaultValueFactory = _ => 5 };
        var command = new Command("bench-costmodel", "Evaluate cost models on measured records: rank correlation and top-10% recall on held-out records.")
        {
            logs, models, threads, splits,
        };
        command.SetAction(parse =>
        {
            var ci = CultureInfo.InvariantCulture;
            var records = parse.GetValue(logs)!.SelectMany(p => RecordLog.Load(p).Records).ToList();
            var target = CpuTargets.Host(parse.GetValue(threads));
            var results = CostModelBench.Run(records, target, parse.GetValue(models)!, parse.GetValue(splits), 0);
            stdout.WriteLine("| workload | model | setting | Spearman | top-10% recall | top pick / best |");
            stdout.WriteLine("|---|---|---|---|---|---|");
            foreach (var r in results)
                stdout.WriteLine(string.Create(ci, $"| {r.Workload} | {r.Model} | {r.Setting} | {r.Spearman:F3} | {r.TopRecall:F2} | {r.BestShare:F2} |"));
            stdout.WriteLine();
            stdout.WriteLine("| model | setting | mean Spearman | mean top-10% recall | mean top pick / best |");
            stdout.WriteLine("|---|---|---|---|---|");
            foreach (var g in results.GroupBy(r => (r.Model, r.Setting)))
                stdout.WriteLine(string.Create(ci, $"| {g.Key.Model} | {g.Key.Setting} | {g.Average(r => r.Spearman):F3} | {g.Average(r => r.TopRecall):F2} | {g.Average(r => r.BestShare):F2} |"));
            return 0;
        });
        return command;
    }

    private static void WriteCsv(string path, List<Curve> curves)
    {
        var sb = new StringBuilder("task,tuner,seed,trial,best_gflops\n");
        foreach (var c in curves)
        {
            for (int i = 0; i < c.Best.Length; i++)
                sb.Append(CultureInfo.InvariantCulture, $"{c.Task},{c.Tuner},{c.Seed},{i + 1},{c.Best[i]:F3}\n");
        }
        string tmp = path + ".tmp";
        File.WriteAllText(tmp, sb.ToString());
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>
    /// Per task (in task order): each tuner's final best (median over seeds, min-max), and the trials each tuner
    /// needs to reach 95% and 100% of the <paramref name="reference"/> tuner's median final best (median over seeds; a
    /// run that never reaches it counts as the whole budget in the averages).
    /// </summary>
    public static void Summarize(IReadOnlyList<Curve> curves, int budget, TextWriter w, string reference = "random")
    {
        var ci = CultureInfo.InvariantCulture;
        var names = curves.Select(c => c.Tuner).Distinct().ToList();
        w.WriteLine();
        w.WriteLine($"final best GFLOPS, median over seeds (min-max); trials to reach 95% / 100% of {reference}'s median final best, median over seeds (- = not reached)");
        w.WriteLine(string.Create(ci, $"| task | {string.Join(" | ", names.Select(n => n + " best"))} | {string.Join(" | ", names.Select(n => n + " to 95% / 100%"))} |"));
        w.WriteLine("|---|" + string.Concat(Enumerable.Repeat("---|", names.Count * 2)));
        var fractions = names.ToDictionary(n => n, _ => (At95: new List<double>(), At100: new List<double>()));
        foreach (var task in curves.Select(c => c.Task).Distinct().Order())
        {
            var byTuner = names.ToDictionary(n => n, n => curves.Where(c => c.Task == task && c.Tuner == n).ToList());
            double? goal = byTuner.TryGetValue(reference, out var r) && r.Count > 0 ? Timing.Median([.. r.Select(c => c.Best[^1])]) : null;
            var best = names.Select(n => byTuner[n].Count == 0 ? "-" : string.Create(ci,
                $"{Timing.Median([.. byTuner[n].Select(c => c.Best[^1])]):F1} ({byTuner[n].Min(c => c.Best[^1]):F1}-{byTuner[n].Max(c => c.Best[^1]):F1})"));
            var reach = names.Select(n =>
            {
                if (goal is not double target || byTuner[n].Count == 0)
                    return "-";
                string Reach(double level, List<double> shares)
                {
                    double median = Timing.Median([.. byTuner[n].Select(c => (double)(c.TrialsToReach(level * target) ?? budget + 1))]);
                    shares.Add(Math.Min(median, budget) / budget);
                    return median > budget ? "-" : median.ToString("F0", ci);
                }
                return Reach(0.95, fractions[n].At95) + " / " + Reach(1.0, fractions[n].At100);
            });
            w.WriteLine(string.Create(ci, $"| {task} | {string.Join(" | ", best)} | {string.Join(" | ", reach)} |"));
        }
        foreach (var n in names.Where(n => fractions[n].At95.Count > 0))
        {
            w.WriteLine(string.Create(ci,
                $"{n}: reaches 95% of {reference}'s final best after {100 * fractions[n].At95.Average():F0}% of the budget, 100% after {100 * fractions[n].At100.Average():F0}%, on average over tasks"));
        }
    }

    /// <summary>Reads curves back from the CSV that --csv writes.</summary>
    public static List<Curve> ReadCsv(string path) =>
        [.. File.ReadLines(path).Skip(1).Where(l => l.Length > 0)
            .Select(l => l.Split(','))
            .GroupBy(f => (Task: int.Parse(f[0], CultureInfo.InvariantCulture), Tuner: f[1], Seed: int.Parse(f[2], CultureInfo.InvariantCulture)))
            .Select(g => new Curve(g.Key.Task, g.Key.Tuner, g.Key.Seed,
                [.. g.OrderBy(f => int.Parse(f[3], CultureInfo.InvariantCulture)).Select(f => double.Parse(f[4], CultureInfo.InvariantCulture))], 0))];
}
