using System.CommandLine;
using System.Globalization;
using AutoKernel.Build.Measure;
using AutoKernel.Build.Records;
using AutoKernel.Build.Targets;
using AutoKernel.Build.Tasks;
using AutoKernel.Build.Tuning;
using AutoKernel.Generator.Kernels;

namespace AutoKernel.Build.Cli;

/// <summary>
/// `autokernel tune MODEL --target cpu --log FILE`: tunes every task of the model, appending
/// each batch of measurements to the log, and resumes from what the log already holds.
/// </summary>
public static class TuneCommand
{
    /// <summary>Exit code after Ctrl+C (128 + SIGINT, as shells report it).</summary>
    public const int Interrupted = Interruption.Interrupted;

    /// <summary>Exit code after SIGTERM (128 + 15).</summary>
    public const int Terminated = Interruption.Terminated;

    public static Command Create(TextWriter stdout, TextWriter stderr, bool interactive)
    {
        var model = CommandLine.ModelArgument();
        var shapes = CommandLine.InputShapeOption();
        var target = new Option<string>("--target") { Description = "Target device.", DefaultValueFactory = _ => "cpu" };
        target.AcceptOnlyFromAmong("cpu");
        var trials = new Option<int>("--trials") { Description = "Trials per task, counting those already in the log.", DefaultValueFactory = _ => new TuneSettings().Trials };
        var tuner = new Option<string>("--tuner") { Description = "Search strategy: xgb (learned cost model), ga (genetic), random, grid.", DefaultValueFactory = _ => "xgb" };
        tuner.AcceptOnlyFromAmong(Tuner.Names);
        var log = new Option<string>("--log") { Description = "The tuning log (JSON lines): read to resume, appended after each batch.", Required = true };
        var earlyStopping = new Option<int?>("--early-stopping") { Description = "Stop a task after this many trials without improvement." };
        var history = new Option<string[]>("--history") { Description = "Logs of other workloads and models on this target that warm-start the cost model (repeatable).", AllowMultipleArgumentsPerToken = true };
        var threads = new Option<int>("--threads") { Description = "Threads the kernels use (0: one per logical processor).", DefaultValueFactory = _ => 0 };
        var batchSize = new Option<int>("--batch-size") { Description = "Candidates compiled and measured per batch.", DefaultValueFactory = _ => new TuneSettings().BatchSize };
        var seed = new Option<int>("--seed") { Description = "Seed of the search.", DefaultValueFactory = _ => 0 };
        var costModel = new Option<string>("--cost-model") { Description = "The xgb tuner's model.", DefaultValueFactory = _ => new CostModelOptions().Describe() };
        costModel.AcceptOnlyFromAmong(CostModelOptions.Names);
        var planSize = new Option<int>("--plan-size") { Description = "Points the xgb tuner's explorer plans after each refit.", DefaultValueFactory = _ => new TuneSettings().PlanSize };
        var taskFilter = new Option<int[]>("--task") { Description = "Only these task numbers (1-based, repeatable)." };
        var repeat = new Option<int>("--repeat") { Description = "Timed repeats per trial.", DefaultValueFactory = _ => DefaultMeasure.Repeat };
        var minRepeatMs = new Option<int>("--min-repeat-ms") { Description = "Shortest duration of one timed repeat.", DefaultValueFactory = _ => DefaultMeasure.MinRepeatMs };
        var memoryLimit = CommandLine.MemoryLimitOption();
        var foldLimit = CommandLine.FoldLimitOption();
        var command = new Command("tune", "Tune every task of a model on this machine and append the measurements to a log.")
        {
            model, shapes, target, trials, tuner, log, earlyStopping, history, threads, batchSize, seed, costModel, planSize, taskFilter, repeat, minRepeatMs, memoryLimit, foldLimit,
        };
        command.SetAction(parse =>
        {
            int trialCount = parse.GetValue(trials);
            if (trialCount < 1)
                throw new ModelException("--trials must be at least 1");
            if (parse.GetValue(batchSize) < 1)
                throw new ModelException("--batch-size must be at least 1");
            if (parse.GetValue(earlyStopping) is < 1)
                throw new ModelException("--early-stopping must be at least 1");
            if (parse.GetValue(planSize) < 1)
                throw new ModelException("--plan-size must be at least 1");
            if (parse.GetValue(repeat) < 1 || parse.GetValue(minRepeatMs) < 0)
                throw new ModelException("--repeat must be at least 1 and --min-repeat-ms at least 0");
            var settings = new TuneSettings
            {
                Tuner = parse.GetValue(tuner)!,
                Trials = trialCount,
                EarlyStopping = parse.GetValue(earlyStopping),
                BatchSize = parse.GetValue(batchSize),
                Seed = parse.GetValue(seed),
                CostModel = CostModelOptions.Parse(parse.GetValue(costModel)!),
                PlanSize = parse.GetValue(planSize),
            };
            var loaded = ModelPipeline.Load(parse.GetValue(model)!, CommandLine.InputShapes(parse, shapes), CommandLine.Budget(parse, memoryLimit, foldLimit));
            var tasks = TaskExtractor.Extract(loaded.Optimized);
            var only = parse.GetValue(taskFilter) ?? [];
            foreach (int n in only)
            {
                if (n < 1 || n > tasks.Count)
                    throw new ModelException($"--task {n}: the model has {tasks.Count} tasks (numbered from 1)");
            }
            var historyRecords = new List<TuningRecord>();
            foreach (string path in parse.GetValue(history) ?? [])
            {
                if (!File.Exists(path))
                    throw new ModelException($"{path}: history log not found");
                var h = RecordLog.Load(path);
                foreach (string warning in h.Warnings)
                    stderr.WriteLine("warning: " + warning);
                historyRecords.AddRange(h.Records);
            }
            int t = parse.GetValue(threads);
            var measure = DefaultMeasure with { Threads = t, Repeat = parse.GetValue(repeat), MinRepeatMs = parse.GetValue(minRepeatMs) };
            return Run(loaded, tasks, only, settings, parse.GetValue(log)!, measure, historyRecords, stdout, stderr, interactive);
        });
        return command;
    }

    /// <summary>Timing of a trial during tuning: 3 repeats of at least 20 ms each (see docs/benchmarks.md for the choice).</summary>
    public static readonly MeasureOptions DefaultMeasure = new() { Repeat = 3, MinRepeatMs = 20 };

    private static int Run(LoadedModel loaded, IReadOnlyList<TuningTask> tasks, int[] only, TuneSettings settings, string logPath,
        MeasureOptions measure, List<TuningRecord> history, TextWriter stdout, TextWriter stderr, bool interactive)
    {
        var ci = CultureInfo.InvariantCulture;
        var target = CpuTargets.Host(measure.Threads);
        using var runner = new Runner(measure with { Threads = target.Cores }) { Seed = settings.Seed + 1 };
        var job = new TuningJob(target, runner, logPath, settings);
        foreach (string warning in job.Log.Warnings)
            stderr.WriteLine("warning: " + warning);

        var selected = tasks.Select((t, i) => (Task: t, Number: i + 1)).Where(t => only.Length == 0 || only.Contains(t.Number)).ToList();
        var tunable = selected.Where(t => KernelTemplates.All.Any(k => k.Supports(t.Task.Workload))).ToList();
        foreach (var (task, number) in selected.Except(tunable))
            stderr.WriteLine(string.Create(ci, $"warning: task {number} ({task.Workload.Kind} {task.Workload.Shape}): no template supports this workload yet; skipped"));
        var logged = tunable.Select(t => job.LoggedTrials(t.Task)).ToList();
        if (tunable.Count > 0 && logged.All(n => n >= settings.Trials))
        {
            PrintWarnings(job, stderr);
            stdout.WriteLine(string.Create(ci, $"{logPath} already holds {settings.Trials} or more trials for each of the {tunable.Count} tasks on this target ({target.Description}, {target.Cores} threads); nothing to tune."));
            return 0;
        }
        if (history.Count > 0)
        {
            job.AddHistory(history.Where(r => !tunable.Any(t => t.Task.Key == r.WorkloadKey)));
            stdout.WriteLine(string.Create(ci,
                $"history: {job.HistoryCount} of {history.Count} records (other workloads, this target and thread count) warm-start the cost model"));
        }
        stdout.WriteLine(string.Create(ci, $"tuning {tunable.Count} tasks on {target.Description}, {target.Cores} threads: {settings.Tuner}, {settings.Trials} trials per task, log {logPath}"));

        var outcomes = new List<(int Number, TaskOutcome Outcome)>();
        var total = System.Diagnostics.Stopwatch.StartNew();
        using var interruption = new Interruption();
        try
        {
            for (int i = 0; i < tunable.Count; i++)
            {
                var (task, number) = tunable[i];
                var node = loaded.Optimized.Nodes.First(n => n.Name == task.Nodes[0]);
                var printer = new ProgressPrinter(stdout, interactive, number, tasks.Count);
                var outcome = job.Tune(task, TaskExtractor.EpilogueOf(node), [printer.Report], interruption.Token);
                printer.Finish(outcome, settings.Trials);
                outcomes.Add((number, outcome));
                // A signal during a task's last batch ends that task normally: stop here all the same.
                if (outcome.Stop == TuneStop.Cancelled || interruption.Token.IsCancellationRequested)
                {
                    stderr.WriteLine(string.Create(ci, $"interrupted: the trials measured so far are in {logPath}; run the same command to resume"));
                    return interruption.ExitCode;
                }
            }
            Summarize(outcomes, total.Elapsed, stdout);
        }
        finally
        {
            PrintWarnings(job, stderr);
        }
        return 0;
    }

    private static void PrintWarnings(TuningJob job, TextWriter stderr)
    {
        var distinct = job.Warnings.Distinct().ToList();
        foreach (string warning in distinct.Take(5))
            stderr.WriteLine("warning: " + warning);
        if (distinct.Count > 5)
            stderr.WriteLine(string.Create(CultureInfo.InvariantCulture, $"warning: ... and {distinct.Count - 5} more records that do not match this version's schedule spaces"));
    }

    /// <summary>Per task: best kernel and its share of a model run; then the kernel time of one model run.</summary>
    private static void Summarize(List<(int Number, TaskOutcome Outcome)> outcomes, TimeSpan elapsed, TextWriter w)
    {
        var ci = CultureInfo.InvariantCulture;
        int measured = outcomes.Sum(o => o.Outcome.Measured);
        w.WriteLine(string.Create(ci, $"measured {measured} trials in {elapsed.TotalSeconds:F0} s"));
        double totalMs = 0;
        bool complete = true;
        foreach (var (number, o) in outcomes)
        {
            if (o.Best is not { } best)
            {
                complete = false;
                w.WriteLine(string.Create(ci, $"  task {number,2}: no successful trial"));
                continue;
            }
            double ms = o.Task.TotalFlops / best.Gflops / 1e6;
            totalMs += ms;
            w.WriteLine(string.Create(ci, $"  task {number,2}: {best.Gflops,8:F2} GFLOPS x {o.Task.Nodes.Count} node(s) = {ms,7:F3} ms  {best.Point}  ({o.Task.Workload.Kind} {o.Task.Workload.Shape})"));
        }
        if (complete && outcomes.Count > 0)
            w.WriteLine(string.Create(ci, $"tuned kernels of one model run: {totalMs:F3} ms ({outcomes.Sum(o => o.Outcome.Task.TotalFlops) / totalMs / 1e6:F1} GFLOPS over the tuned tasks; layout transforms and untuned operators not included)"));
    }

    /// <summary>
    /// AutoTVM's progress line. On a terminal it is redrawn in place after each batch; otherwise
    /// (CI, MSBuild) it is written once per batch. "Current" is the best of the latest batch.
    /// </summary>
    private sealed class ProgressPrinter(TextWriter output, bool interactive, int number, int count)
    {
        private string _last = "";

        public void Report(TuneProgress p)
        {
            double current = p.Batch.Max(t => t.Gflops);
            _last = Line(number, count, current, p.Best?.Gflops ?? 0, p.Trials, p.Budget, p.Elapsed.TotalSeconds);
            if (interactive)
            {
                output.Write("\r" + _last);
                output.Flush();
            }
            else
            {
                output.WriteLine(_last);
            }
        }

        public void Finish(TaskOutcome outcome, int budget)
        {
            string done = outcome.Stop switch
            {
                TuneStop.EarlyStopping => " Done (early stopping).",
                TuneStop.Exhausted => " Done (space exhausted).",
                TuneStop.Cancelled => " Interrupted.",
                _ => outcome.Measured == 0 ? " Done (from the log)." : " Done.",
            };
            if (outcome.Measured == 0)
            {
                // Nothing was measured in this run (budget already logged, early stopping on the
                // logged trials, or a signal before the first batch): no progress line exists yet.
                output.WriteLine(Line(number, count, 0, outcome.Best?.Gflops ?? 0, outcome.Resumed, budget, 0) + done);
                return;
            }
            output.WriteLine(interactive ? done : _last + done);
        }
    }

    /// <summary>"[Task  1/12]  Current/Best:   22.37/  52.19 GFLOPS | Progress: (544/1000) | 406.59 s".</summary>
    public static string Line(int number, int count, double current, double best, int trials, int budget, double seconds) =>
        string.Create(CultureInfo.InvariantCulture, $"[Task {number,2}/{count,2}]  Current/Best: {current,7:F2}/{best,7:F2} GFLOPS | Progress: ({trials}/{budget}) | {seconds:F2} s");
}
