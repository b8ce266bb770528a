using AutoKernel.Build.Measure;

namespace AutoKernel.Build.Tuning;

/// <summary>
/// The outcome of one trial: the point, its throughput (GFLOPS for real measurements, any
/// higher-is-better score for synthetic spaces; 0 when it failed) and the measurement behind it.
/// </summary>
public sealed record Trial(Point Point, double Gflops, MeasureResult? Result = null)
{
    public bool Ok => Gflops > 0;
}

/// <summary>What a progress callback sees after each batch.</summary>
/// <param name="Batch">The trials just measured.</param>
/// <param name="Trials">Trials so far for this task, including ones resumed from a log.</param>
/// <param name="Budget">The trial budget of the task.</param>
/// <param name="Best">The best trial so far (null while nothing has succeeded).</param>
public sealed record TuneProgress(IReadOnlyList<Trial> Batch, int Trials, int Budget, Trial? Best, TimeSpan Elapsed);

/// <summary>Why <see cref="Tuner.Tune"/> returned.</summary>
public enum TuneStop
{
    /// <summary>The budget is spent.</summary>
    Budget,

    /// <summary>No improvement for the early-stopping number of trials.</summary>
    EarlyStopping,

    /// <summary>The tuner has no unvisited point left.</summary>
    Exhausted,

    /// <summary>The cancellation token fired (Ctrl+C).</summary>
    Cancelled,
}

public sealed record TuneOptions
{
    /// <summary>Trials per batch: one compilation, then one measurement each, then one update.</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>Stop when the best has not improved for this many trials (AutoTVM's early_stopping); null: never.</summary>
    public int? EarlyStopping { get; init; }

    /// <summary>
    /// Called after each batch that measured at least one trial, in list order; an exception from
    /// one ends the run. <see cref="TuningJob"/> puts its log writer first and the caller's
    /// callbacks (the progress printer) after it, so a batch is in the log before it is reported.
    /// </summary>
    public IReadOnlyList<Action<TuneProgress>> Callbacks { get; init; } = [];
}

/// <summary>
/// A search strategy over a <see cref="TaskSpace"/> (AutoTVM's Tuner): <see cref="NextBatch"/>
/// proposes points never proposed before, <see cref="Update"/> takes their results, and
/// <see cref="Tune"/> runs the loop against a measuring function. Trials replayed from a log go
/// through <see cref="Update"/> too, so a resumed run never proposes a measured point again.
/// </summary>
public abstract class Tuner
{
    private readonly HashSet<(int, long)> _visited = [];
    private int _bestTrialNumber;

    protected Tuner(TaskSpace space, int seed)
    {
        Space = space ?? throw new ArgumentNullException(nameof(space));
        Random = new Random(seed);
    }

    public TaskSpace Space { get; }

    /// <summary>Short name used on the command line and in benchmarks ("random", "grid", "ga", "xgb").</summary>
    public abstract string Name { get; }

    protected Random Random { get; }

    /// <summary>Trials seen so far (measured here or replayed).</summary>
    public int TrialCount { get; private set; }

    public Trial? Best { get; private set; }

    /// <summary>Whether the point was proposed or seen before.</summary>
    public bool IsVisited(Point point) => _visited.Contains(TaskSpace.KeyOf(point));

    /// <summary>Marks a point as proposed; false when it already was.</summary>
    protected bool MarkVisited(Point point) => _visited.Add(TaskSpace.KeyOf(point));

    /// <summary>Up to <paramref name="size"/> distinct points never proposed before; empty when the space is exhausted.</summary>
    public abstract IReadOnlyList<Point> NextBatch(int size);

    /// <summary>Takes the results of measured points (from <see cref="NextBatch"/> or from a log).</summary>
    public void Update(IReadOnlyList<Trial> trials)
    {
        ArgumentNullException.ThrowIfNull(trials);
        foreach (var trial in trials)
        {
            MarkVisited(trial.Point);
            TrialCount++;
            if (trial.Ok && (Best is null || trial.Gflops > Best.Gflops))
            {
                Best = trial;
                _bestTrialNumber = TrialCount;
            }
        }
        OnUpdate(trials);
    }

    /// <summary>Strategy-specific learning from new results.</summary>
    protected virtual void OnUpdate(IReadOnlyList<Trial> trials)
    {
    }

    /// <summary>
    /// Runs batches until <see cref="TrialCount"/> reaches <paramref name="budget"/>, early stopping
    /// triggers, the space is exhausted or <paramref name="cancellation"/> fires. The measuring
    /// function may return fewer trials than it was given when it was cancelled; those it returns
    /// are kept.
    /// </summary>
    public TuneStop Tune(int budget, Func<IReadOnlyList<Point>, CancellationToken, IReadOnlyList<Trial>> measure, TuneOptions options, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(measure);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchSize, 1, nameof(options));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (TrialCount < budget)
        {
            if (cancellation.IsCancellationRequested)
                return TuneStop.Cancelled;
            if (options.EarlyStopping is int patience && Best is not null && TrialCount - _bestTrialNumber >= patience)
                return TuneStop.EarlyStopping;
            var batch = NextBatch(Math.Min(options.BatchSize, budget - TrialCount));
            if (batch.Count == 0)
                return TuneStop.Exhausted;
            var trials = measure(batch, cancellation);
            if (trials.Count > 0)
            {
                Update(trials);
                var progress = new TuneProgress(trials, TrialCount, budget, Best, clock.Elapsed);
                foreach (var callback in options.Callbacks)
                    callback(progress);
            }
            if (trials.Count < batch.Count)
                return cancellation.IsCancellationRequested ? TuneStop.Cancelled : throw new InvalidOperationException("the measuring function returned fewer trials than it was given without being cancelled");
        }
        return TuneStop.Budget;
    }

    /// <summary>
    /// A random valid point that is neither visited nor in <paramref name="exclude"/>; not marked
    /// visited. Null when none is left.
    /// </summary>
    protected Point? SampleUnvisited(IReadOnlySet<(int, long)>? exclude = null)
    {
        bool Free(Point p) => !IsVisited(p) && (exclude is null || !exclude.Contains(TaskSpace.KeyOf(p)));
        for (int attempt = 0; attempt < 64; attempt++)
        {
            if (Space.Sample(Random) is not { } point)
                break;
            if (Free(point))
                return point;
        }
        // Sampling found nothing free (a small or nearly exhausted space, or one where rejection
        // sampling rarely hits a valid point): scan it.
        var remaining = new List<Point>();
        for (int s = 0; s < Space.Spaces.Count; s++)
        {
            foreach (var config in Space.Spaces[s].EnumerateValid())
            {
                var point = new Point(s, config);
                if (Free(point))
                    remaining.Add(point);
            }
        }
        return remaining.Count == 0 ? null : remaining[Random.Next(remaining.Count)];
    }

    /// <summary>Creates a tuner by its command-line name.</summary>
    /// <param name="planSize">Points the model-based tuner plans per refit (AutoTVM's plan_size).</param>
    public static Tuner Create(string name, TaskSpace space, int seed, CostModelOptions? model = null, int planSize = 64) => name switch
    {
        "random" => new RandomTuner(space, seed),
        "grid" => new GridSearchTuner(space, seed),
        "ga" => new GATuner(space, seed),
        "xgb" or "model" => new ModelBasedTuner(space, seed, model ?? new CostModelOptions()) { PlanSize = planSize },
        _ => throw new ArgumentException($"unknown tuner '{name}' (expected xgb, ga, random or grid)", nameof(name)),
    };

    public static readonly string[] Names = ["xgb", "ga", "random", "grid"];
}

/// <summary>Uniform random search without repetition.</summary>
public sealed class RandomTuner(TaskSpace space, int seed) : Tuner(space, seed)
{
    public override string Name => "random";

    public override IReadOnlyList<Point> NextBatch(int size)
    {
        var batch = new List<Point>(size);
        while (batch.Count < size && SampleUnvisited() is { } point)
        {
            MarkVisited(point);
            batch.Add(point);
        }
        return batch;
    }
}

/// <summary>Every valid point in order: template by template, index by index.</summary>
public sealed class GridSearchTuner(TaskSpace space, int seed) : Tuner(space, seed)
{
    private int _space;
    private long _index;

    public override string Name => "grid";

    public override IReadOnlyList<Point> NextBatch(int size)
    {
        var batch = new List<Point>(size);
        while (batch.Count < size && _space < Space.Spaces.Count)
        {
            var configSpace = Space.Spaces[_space];
            if (_index >= configSpace.Size)
            {
                _space++;
                _index = 0;
                continue;
            }
            var config = configSpace.Decode(_index++);
            var point = new Point(_space, config);
            if (configSpace.IsValid(config) && MarkVisited(point))
                batch.Add(point);
        }
        return batch;
    }
}
