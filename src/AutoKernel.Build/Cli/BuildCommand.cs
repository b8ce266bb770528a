using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using AutoKernel.Build.Compile;
using AutoKernel.Build.Limits;
using AutoKernel.Build.Measure;
using AutoKernel.Build.Records;
using AutoKernel.Build.Targets;
using AutoKernel.Build.Tasks;
using AutoKernel.Build.Tuning;
using AutoKernel.Generator.Kernels;

namespace AutoKernel.Build.Cli;

/// <summary>
/// `autokernel build MODEL --log LOG -o DIR`: what the MSBuild task runs for one AutoKernelModel
/// item. It tunes the tasks the log lacks (<c>--tuning auto</c>), every task again
/// (<c>force</c>) or none (<c>off</c>), then compiles the plan and the weights into DIR.
/// <para>
/// Its output is meant for MSBuild: problems are canonical diagnostics
/// ("origin: error AK1002: text"), lines starting with "autokernel: " are the progress a build
/// shows at its default verbosity, and every other line (one per measured batch) is detail.
/// </para>
/// </summary>
public static class BuildCommand
{
    /// <summary>Diagnostic codes. The MSBuild task adds its own from AK1010.</summary>
    public static class Codes
    {
        public const string Internal = "AK1000";
        public const string InvalidModel = "AK1001";
        public const string Unsupported = "AK1002";
        public const string InputShape = "AK1003";
        public const string BrokenLog = "AK1004";
        public const string InvalidOption = "AK1005";
        public const string CannotWrite = "AK1006";
        public const string MemoryLimit = "AK1007";
        public const string Fallback = "AK1101";
        public const string SimilarTarget = "AK1102";
        public const string StaleRecords = "AK1103";
        public const string LogWarning = "AK1104";
        public const string NoTemplate = "AK1105";
    }

    /// <summary>Prefix of the lines a build shows at its default verbosity.</summary>
    public const string ProgressPrefix = "autokernel: ";

    /// <summary>
    /// The first build's estimate of tuning time: a start-up (the runner process, the first
    /// compilations), a little per task (cost-model fits) and a share of a batch per trial (compile
    /// and time). Fitted on 2 cores: ResNet-18's 12 tasks x 200 trials took 545 s, SqueezeNet's 18
    /// tasks x 8 trials 51 s (docs/benchmarks.md); other machines scale it.
    /// </summary>
    public static double EstimatedSeconds(int tasks, int trials) => 10 + 1.0 * tasks + 0.22 * trials;

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var model = CommandLine.ModelArgument();
        var shapes = CommandLine.InputShapeOption();
        var target = new Option<string>("--target") { Description = "Target device.", DefaultValueFactory = _ => "cpu" };
        var log = new Option<string>("--log") { Description = "The tuning log: read, and appended to while tuning.", Required = true };
        var tuning = new Option<string>("--tuning") { Description = "auto: tune what the log lacks; off: never tune (fallback schedules for untuned tasks); force: tune every task again.", DefaultValueFactory = _ => "auto" };
        var trials = new Option<int>("--trials") { Description = "Trials per task (with auto, counting those already in the log).", DefaultValueFactory = _ => new TuneSettings().Trials };
        var tuner = new Option<string>("--tuner") { Description = "Search strategy: xgb (learned cost model), ga (genetic), random, grid.", DefaultValueFactory = _ => "xgb" };
        var threads = new Option<int>("--threads") { Description = "Threads the kernels are tuned for and run with by default (0: one per logical processor).", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--output", "-o") { Description = "Folder for NAME.akplan.json and NAME.weights.", Required = true };
        var name = new Option<string?>("--name") { Description = "NAME of the output files (default: the model file's name)." };
        var memoryLimit = CommandLine.MemoryLimitOption();
        var foldLimit = CommandLine.FoldLimitOption();
        var command = new Command("build", "Tune what the log lacks and compile the plan and weights, reporting as MSBuild diagnostics (what `dotnet build` runs for an AutoKernelModel item).")
        {
            model, shapes, target, log, tuning, trials, tuner, threads, output, name, memoryLimit, foldLimit,
        };
        command.SetAction(parse =>
        {
            string modelPath = parse.GetValue(model)!;
            var request = new BuildRequest(
                modelPath,
                parse.GetValue(shapes) ?? [],
                parse.GetValue(target)!,
                parse.GetValue(log)!,
                parse.GetValue(tuning)!,
                parse.GetValue(trials),
                parse.GetValue(tuner)!,
                parse.GetValue(threads),
                parse.GetValue(output)!,
                parse.GetValue(name) ?? CompileOutput.NameOf(modelPath),
                parse.GetValue(memoryLimit),
                parse.GetValue(foldLimit));
            return Run(request, stdout, stderr, parse.GetValue(CommandLine.Verbose));
        });
        return command;
    }

    /// <param name="MemoryLimit">--memory-limit's text (null: AUTOKERNEL_MEMORY_LIMIT, else the default).</param>
    /// <param name="FoldLimit">--fold-limit's text (null: AUTOKERNEL_FOLD_LIMIT, else the default).</param>
    public sealed record BuildRequest(string Model, string[] InputShapes, string Target, string Log, string Tuning, int Trials, string Tuner, int Threads, string Output, string Name,
        string? MemoryLimit = null, string? FoldLimit = null);

    /// <summary>Runs one build; every failure is one diagnostic line and a non-zero exit code.</summary>
    public static int Run(BuildRequest request, TextWriter stdout, TextWriter stderr, bool verbose = false)
    {
        try
        {
            return Build(request, stdout, stderr);
        }
        catch (ModelException e)
        {
            var (origin, text) = e.Kind == ModelErrorKind.BrokenLog ? LogOrigin(request.Log, e.Detail()) : (e.File ?? request.Model, e.Detail());
            // In a build the shapes come from the item's InputShapes metadata, not the command line.
            if (e.Kind == ModelErrorKind.InputShape)
                text = text.Replace("--input-shape ", "InputShapes=", StringComparison.Ordinal);
            stderr.WriteLine(Diagnostic(origin, "error", CodeOf(e.Kind), text));
            if (verbose)
                stderr.WriteLine(e.StackTrace);
            return 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine(Diagnostic(request.Model, "error", Codes.CannotWrite, e.Message.ReplaceLineEndings(" ")));
            return 1;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            stderr.WriteLine(Diagnostic(request.Model, "error", Codes.Internal, $"internal error: {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")} (please report it)"));
            if (verbose)
                stderr.WriteLine(e);
            return 2;
        }
    }

    private static int Build(BuildRequest r, TextWriter stdout, TextWriter stderr)
    {
        var ci = CultureInfo.InvariantCulture;
        var clock = Stopwatch.StartNew();
        if (r.Target != "cpu")
            throw Option($"Device '{r.Target}' is not supported by this version (supported: cpu)");
        string mode = r.Tuning.ToLowerInvariant();
        if (mode is not ("auto" or "off" or "force"))
            throw Option($"AutoKernelTuning '{r.Tuning}' is not one of Auto, Off, Force");
        if (r.Trials < 1)
            throw Option($"Trials {r.Trials.ToString(ci)} must be at least 1");
        if (!Tuner.Names.Contains(r.Tuner))
            throw Option($"Tuner '{r.Tuner}' is not one of {string.Join(", ", Tuner.Names)}");
        if (r.Threads < 0)
            throw Option($"Threads {r.Threads.ToString(ci)} must be 0 (one per logical processor) or more");

        using var scope = MemoryBudget.Use(MemoryBudget.Resolve(r.MemoryLimit, r.FoldLimit));
        var loaded = ModelPipeline.Load(r.Model, CommandLine.InputShapes(r.InputShapes));
        var tasks = TaskExtractor.Extract(loaded.Optimized);
        var target = CpuTargets.Host(r.Threads);
        string logPath = Path.GetFullPath(r.Log);

        int measured = 0;
        if (mode != "off" && tasks.Count > 0)
        {
            int code = Tune(r, loaded, tasks, target, logPath, force: mode == "force", stdout, stderr, out measured);
            if (code != 0)
                return code;
        }

        var records = RecordLog.Load(logPath);
        foreach (string warning in records.Warnings)
            stderr.WriteLine(Diagnostic(r.Log, "warning", Codes.LogWarning, warning));
        var compiled = ModelCompiler.Compile(loaded, records, target);
        foreach (var warning in compiled.Warnings)
        {
            string code = warning.Kind switch
            {
                CompileWarningKind.Fallback => Codes.Fallback,
                CompileWarningKind.SimilarTarget => Codes.SimilarTarget,
                _ => Codes.StaleRecords,
            };
            string advice = warning.Kind == CompileWarningKind.Fallback && mode == "off" ? " (AutoKernelTuning is Off; build with Auto to tune it)" : "";
            stderr.WriteLine(Diagnostic(r.Model, "warning", code, warning.Message + advice));
        }
        var (plan, weights) = CompileOutput.Write(compiled, r.Output, r.Name);
        int fallbacks = compiled.Warnings.Count(w => w.Kind == CompileWarningKind.Fallback);
        stdout.WriteLine(string.Create(ci,
            $"{ProgressPrefix}{Path.GetFileName(r.Model)}: {compiled.Plan.Steps.Count} steps, {tasks.Count} tuned tasks ({fallbacks} on fallback schedules), {measured} trials measured, weights {compiled.Payload.Length / 1048576.0:F1} MB, {clock.Elapsed.TotalSeconds:F1} s"));
        stdout.WriteLine($"wrote {plan} and {weights}");
        return 0;
    }

    /// <summary>
    /// Tunes under a lock held across processes for this log, so that two builds of one project
    /// (several target frameworks, or two terminals) do not measure the same tasks at once: the
    /// second waits, then finds the log complete.
    /// </summary>
    private static int Tune(BuildRequest r, LoadedModel loaded, IReadOnlyList<TuningTask> tasks, CpuTarget target, string logPath, bool force,
        TextWriter stdout, TextWriter stderr, out int measured)
    {
        var ci = CultureInfo.InvariantCulture;
        measured = 0;
        var unsupported = tasks.Select((t, i) => (Task: t, Number: i + 1)).Where(t => !KernelTemplates.All.Any(k => k.Supports(t.Task.Workload))).ToList();
        foreach (var (task, number) in unsupported)
            stderr.WriteLine(Diagnostic(r.Model, "warning", Codes.NoTemplate, string.Create(ci, $"task {number} ({task.Workload.Kind} {task.Workload.Shape}): no template supports this workload yet; it runs a fallback kernel")));

        using var tuningLock = LogLock.AcquireFile("tuning:" + logPath, LogLock.LockFileFor(logPath, "tuning"), Timeout.InfiniteTimeSpan,
            () => stdout.WriteLine($"{ProgressPrefix}waiting for another build that is tuning {logPath}"));
        var settings = new TuneSettings { Tuner = r.Tuner, Trials = r.Trials };
        using var runner = new Runner(TuneCommand.DefaultMeasure with { Threads = target.Cores }) { Seed = settings.Seed + 1 };
        var job = new TuningJob(target, runner, logPath, settings);
        foreach (string warning in job.Log.Warnings)
            stderr.WriteLine(Diagnostic(r.Log, "warning", Codes.LogWarning, warning));

        var pending = new List<(TuningTask Task, int Number, int Budget, int Logged)>();
        for (int i = 0; i < tasks.Count; i++)
        {
            if (unsupported.Any(u => u.Number == i + 1))
                continue;
            int logged = job.LoggedTrials(tasks[i]);
            int budget = force ? logged + r.Trials : r.Trials;
            // A small space holds fewer valid schedules than the budget: once all are logged, the task is done.
            if (new TaskSpace(tasks[i].Workload, target).CountValid() is long valid)
                budget = (int)Math.Min(budget, valid);
            if (logged < budget)
                pending.Add((tasks[i], i + 1, budget, logged));
        }
        if (pending.Count == 0)
        {
            stdout.WriteLine(string.Create(ci, $"{Path.GetFileName(logPath)} holds {r.Trials} or more trials for each task on this target ({target.Description}, {target.Cores} threads): nothing to tune"));
            return 0;
        }

        int toMeasure = pending.Sum(p => p.Budget - p.Logged);
        stdout.WriteLine(string.Create(ci,
            $"{ProgressPrefix}tuning {pending.Count} of {tasks.Count} tasks of {Path.GetFileName(r.Model)} on {target.Description}, {target.Cores} threads ({r.Tuner}, up to {toMeasure} trials): expect about {Minutes(EstimatedSeconds(pending.Count, toMeasure))}. Measurements go to {logPath}; Ctrl+C stops with the log intact and the next build resumes."));
        using var interruption = new Interruption();
        var clock = Stopwatch.StartNew();
        int left = toMeasure;
        for (int k = 0; k < pending.Count; k++)
        {
            var (task, number, budget, logged) = pending[k];
            var node = loaded.Optimized.Nodes.First(n => n.Name == task.Nodes[0]);
            void Report(TuneProgress p) => stdout.WriteLine(TuneCommand.Line(number, tasks.Count, p.Batch.Max(t => t.Gflops), p.Best?.Gflops ?? 0, p.Trials, p.Budget, p.Elapsed.TotalSeconds));
            var outcome = job.Tune(task, TaskExtractor.EpilogueOf(node), [Report], interruption.Token, budget);
            measured += outcome.Measured;
            // A signal during a task's last batch ends that task normally: stop here all the same.
            if (outcome.Stop == TuneStop.Cancelled || interruption.Token.IsCancellationRequested)
            {
                stdout.WriteLine($"{ProgressPrefix}interrupted; the trials measured so far are in {logPath} and the next build resumes from them");
                return interruption.ExitCode;
            }
            left -= budget - logged;
            double perTrial = clock.Elapsed.TotalSeconds / Math.Max(1, measured);
            string best = outcome.Best is { } b ? string.Create(ci, $"best {b.Gflops:F2} GFLOPS") : "no successful trial";
            string remaining = k + 1 < pending.Count ? $"; about {Minutes(left * perTrial)} left" : "";
            stdout.WriteLine(string.Create(ci,
                $"{ProgressPrefix}task {number}/{tasks.Count} ({task.Workload.Kind} {task.Workload.Shape}): {best} after {outcome.Resumed + outcome.Measured} trials, {outcome.Elapsed.TotalSeconds:F0} s{remaining}"));
        }
        foreach (string warning in job.Warnings.Distinct().Take(5))
            stderr.WriteLine(Diagnostic(r.Log, "warning", Codes.StaleRecords, warning));
        stdout.WriteLine(string.Create(ci, $"{ProgressPrefix}tuned {pending.Count} tasks ({measured} trials) in {Minutes(clock.Elapsed.TotalSeconds)}"));
        return 0;
    }

    /// <summary>"origin: error AK1002: text", the canonical form MSBuild turns into a diagnostic.</summary>
    public static string Diagnostic(string origin, string severity, string code, string text) =>
        $"{origin}: {severity} {code}: {text.ReplaceLineEndings(" ")}";

    public static string CodeOf(ModelErrorKind kind) => kind switch
    {
        ModelErrorKind.Unsupported => Codes.Unsupported,
        ModelErrorKind.InputShape => Codes.InputShape,
        ModelErrorKind.BrokenLog => Codes.BrokenLog,
        ModelErrorKind.InvalidOption => Codes.InvalidOption,
        ModelErrorKind.MemoryLimit => Codes.MemoryLimit,
        _ => Codes.InvalidModel,
    };

    /// <summary>"log:12: reason" (as <see cref="RecordLog.Load"/> words it) as the origin "log(12)" and the reason.</summary>
    private static (string Origin, string Text) LogOrigin(string log, string detail)
    {
        foreach (string prefix in new[] { log, Path.GetFullPath(log) })
        {
            if (!detail.StartsWith(prefix + ":", StringComparison.Ordinal))
                continue;
            string rest = detail[(prefix.Length + 1)..];
            int colon = rest.IndexOf(':');
            if (colon > 0 && int.TryParse(rest.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out int line))
                return ($"{log}({line.ToString(CultureInfo.InvariantCulture)})", rest[(colon + 1)..].TrimStart());
            return (log, rest.TrimStart());
        }
        return (log, detail);
    }

    private static ModelException Option(string message) => new(message) { Kind = ModelErrorKind.InvalidOption };

    private static string Minutes(double seconds) =>
        seconds < 90 ? string.Create(CultureInfo.InvariantCulture, $"{Math.Max(1, Math.Round(seconds)):F0} s") : string.Create(CultureInfo.InvariantCulture, $"{seconds / 60:F0} min");
}
