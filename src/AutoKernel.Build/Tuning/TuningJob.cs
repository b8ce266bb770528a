using System.Globalization;
using AutoKernel.Build.Measure;
using AutoKernel.Build.Records;
using AutoKernel.Build.Tasks;
using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Plans;
using AutoKernel.Generator.Workloads;

namespace AutoKernel.Build.Tuning;

/// <summary>How <c>autokernel tune</c> tunes each task.</summary>
public sealed record TuneSettings
{
    /// <summary>xgb, ga, random or grid.</summary>
    public string Tuner { get; init; } = "xgb";

    /// <summary>Trials per task, counting those already in the log.</summary>
    public int Trials { get; init; } = 200;

    public int? EarlyStopping { get; init; }

    public int BatchSize { get; init; } = 16;

    public int Seed { get; init; }

    public CostModelOptions CostModel { get; init; } = new();

    /// <summary>Points the model-based tuner plans per refit.</summary>
    public int PlanSize { get; init; } = 64;
}

/// <summary>The outcome of tuning one task.</summary>
/// <param name="Resumed">Trials found in the log for this task before tuning.</param>
/// <param name="Measured">Trials measured in this run.</param>
public sealed record TaskOutcome(TuningTask Task, int Resumed, int Measured, TuneStop? Stop, Trial? Best, TimeSpan Elapsed);

/// <summary>
/// Tunes tasks one after another against a log: trials already in the log for the task (same
/// target, threads and workload) are replayed into the tuner and count towards the budget, so a
/// resumed run never measures a configuration twice; each measured batch is appended to the log
/// before the next one starts.
/// </summary>
public sealed class TuningJob
{
    private readonly Runner _runner;
    private readonly List<CostSample> _history = [];

    public TuningJob(CpuTarget target, Runner runner, string logPath, TuneSettings settings)
    {
        Target = target;
        _runner = runner;
        LogPath = logPath;
        Settings = settings;
        Log = RecordLog.Load(logPath);
    }

    public CpuTarget Target { get; }

    public string LogPath { get; }

    public TuneSettings Settings { get; }

    /// <summary>The log as it was when the job started.</summary>
    public RecordLog Log { get; }

    /// <summary>Warnings about records that could not be used (other template versions, unknown workloads).</summary>
    public List<string> Warnings { get; } = [];

    /// <summary>Transfer-learning samples loaded by <see cref="AddHistory"/>.</summary>
    public int HistoryCount => _history.Count;

    /// <summary>
    /// Loads records of other workloads measured on this target with this thread count, as
    /// warm-start samples for the model-based tuner (one group per workload).
    /// </summary>
    public void AddHistory(IEnumerable<TuningRecord> records) => _history.AddRange(HistorySamples(records, Target, Warnings));

    /// <summary>Cost-model samples from records of this target and thread count, one group per workload.</summary>
    public static List<CostSample> HistorySamples(IEnumerable<TuningRecord> records, CpuTarget target, List<string> warnings)
    {
        var samples = new List<CostSample>();
        var groups = new Dictionary<string, int>(StringComparer.Ordinal);
        var spaces = new Dictionary<string, TaskSpace?>(StringComparer.Ordinal);
        foreach (var record in records)
        {
            if (record.Target != target.Description || record.Threads != target.Cores)
                continue;
            if (!spaces.TryGetValue(record.WorkloadKey, out var space))
            {
                var workload = WorkloadKeys.TryParse(record.WorkloadKey);
                if (workload is null)
                    warnings.Add($"{record.WorkloadKey}: not a workload key this version knows; ignored");
                spaces[record.WorkloadKey] = space = workload is null ? null : new TaskSpace(workload, target);
            }
            if (space is null || PointOf(space, record, warnings) is not { } point)
                continue;
            if (!groups.TryGetValue(record.WorkloadKey, out int group))
                groups[record.WorkloadKey] = group = groups.Count;
            samples.Add(new CostSample(ScheduleFeatures.Extract(space.Templates[point.Space], space.Workload!, point.Config, target), GflopsOf(record, space.Workload!), group));
        }
        return samples;
    }

    /// <summary>Distinct trials the log holds for a task.</summary>
    public int LoggedTrials(TuningTask task) => Replay(new TaskSpace(task.Workload, Target)).Count;

    /// <summary>Tunes one task until its budget is spent, early stopping, exhaustion or cancellation.</summary>
    /// <param name="trials">The task's budget, counting logged trials (default <see cref="TuneSettings.Trials"/>).</param>
    public TaskOutcome Tune(TuningTask task, Epilogue epilogue, IReadOnlyList<Action<TuneProgress>> callbacks, CancellationToken cancellation, int? trials = null)
    {
        int budget = trials ?? Settings.Trials;
        var space = new TaskSpace(task.Workload, Target);
        if (space.Spaces.Count == 0)
            return new TaskOutcome(task, 0, 0, null, null, TimeSpan.Zero);
        var tuner = Tuning.Tuner.Create(Settings.Tuner, space, Settings.Seed, Settings.CostModel, Settings.PlanSize);
        if (tuner is ModelBasedTuner model)
            model.AddHistory(_history);
        var replayed = Replay(space);
        tuner.Update(replayed);
        int resumed = tuner.TrialCount;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        if (resumed >= budget)
            return new TaskOutcome(task, resumed, 0, TuneStop.Budget, tuner.Best, clock.Elapsed);

        var options = new TuneOptions
        {
            BatchSize = Settings.BatchSize,
            EarlyStopping = Settings.EarlyStopping,
            Callbacks = [Append, .. callbacks],
        };
        var stop = tuner.Tune(budget, (points, ct) => Measure(epilogue, space, points, ct), options, cancellation);
        return new TaskOutcome(task, resumed, tuner.TrialCount - resumed, stop, tuner.Best, clock.Elapsed);

        void Append(TuneProgress progress)
        {
            var now = DateTimeOffset.UtcNow;
            try
            {
                RecordLog.Append(LogPath, [.. progress.Batch.Select(t => TuningRecord.FromResult(t.Result!, t.Point.Config, Target, now))]);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A full disk, a read-only folder or a lock held too long: the user's problem to fix, said in one line.
                throw new ModelException($"{LogPath}: cannot append to the tuning log: {e.Message}", e);
            }
        }
    }

    private IReadOnlyList<Trial> Measure(Epilogue epilogue, TaskSpace space, IReadOnlyList<Point> points, CancellationToken cancellation)
    {
        var results = _runner.Measure([.. points.Select(p => CandidateFor(space, p, epilogue))], cancellation);
        return [.. results.Select((r, i) => new Trial(points[i], r.Gflops, r))];
    }

    /// <summary>
    /// The emitted kernel of a point, as the runner measures it. Namespace and class name are
    /// <see cref="KernelNames"/>'s, the ones the source generator gives the same kernel, so the
    /// source measured here is byte for byte the source that ships.
    /// </summary>
    public static Candidate CandidateFor(TaskSpace space, Point point, Epilogue epilogue)
    {
        var template = space.Templates[point.Space];
        var workload = space.Workload!;
        string className = KernelNames.Tuned(template.Name, point.Index, workload, epilogue);
        string source = template.Emit(workload, epilogue, point.Config, space.Target!, KernelNames.Namespace, className);
        return new Candidate(workload, epilogue, template.Name, point.Index, source, KernelNames.Namespace + "." + className);
    }

    /// <summary>The log's trials for this task's workload on this target, one per distinct point, as trials.</summary>
    private List<Trial> Replay(TaskSpace space)
    {
        var trials = new List<Trial>();
        var seen = new HashSet<(int, long)>();
        foreach (var record in Log.For(Target.Description, Target.Cores, space.Workload!.Key))
        {
            if (PointOf(space, record, Warnings) is { } point && seen.Add(TaskSpace.KeyOf(point)))
                trials.Add(new Trial(point, GflopsOf(record, space.Workload)));
        }
        return trials;
    }

    /// <summary>
    /// The point a record names, when its template and knob values still match this version's
    /// space and the configuration is still valid there; otherwise null, with a warning (tuners
    /// only measure valid points, so a record of an invalid one means the space's constraints changed).
    /// </summary>
    public static Point? PointOf(TaskSpace space, TuningRecord record, List<string> warnings)
    {
        var point = space.Find(record.Template, record.ConfigIndex);
        if (point is null || !KnobsMatch(point, record))
        {
            warnings.Add($"{record.WorkloadKey}: {record.Template} #{record.ConfigIndex} does not match this version's schedule space; ignored");
            return null;
        }
        if (!space.Spaces[point.Space].IsValid(point.Config))
        {
            warnings.Add($"{record.WorkloadKey}: {record.Template} #{record.ConfigIndex} is not a valid configuration in this version's schedule space; ignored");
            return null;
        }
        return point;
    }

    /// <summary>Whether the record names exactly the knobs of the point's space, each with the point's chosen values.</summary>
    private static bool KnobsMatch(Point point, TuningRecord record)
    {
        var knobs = point.Config.Space.Knobs;
        if (record.Knobs.Count != knobs.Count)
            return false;
        for (int k = 0; k < knobs.Count; k++)
        {
            if (!record.Knobs.TryGetValue(knobs[k].Name, out var values) || !values.SequenceEqual(knobs[k][point.Config.Choices[k]]))
                return false;
        }
        return true;
    }

    private static double GflopsOf(TuningRecord record, Workload workload) =>
        record.IsValid && record.MeanCost > 0 ? workload.Flops / record.MeanCost / 1e9 : 0;
}
