namespace AutoKernel.Build.Tuning;

/// <summary>
/// AutoTVM's model-based tuner: a <see cref="CostModel"/> trained on every trial so far (and on
/// transferred history) is refit after each batch; a simulated-annealing explorer
/// (<see cref="SimulatedAnnealing"/>) then searches the space for the points the model scores
/// highest, a diversity-aware pick keeps <see cref="PlanSize"/> of them, and batches are drawn
/// from that plan, with a share <see cref="Epsilon"/> of uniformly random points so that a wrong
/// model cannot trap the search. Until the model is trained, batches are random.
/// </summary>
public sealed class ModelBasedTuner : Tuner
{
    private readonly CostModel _model;
    private readonly FeatureCache _features;
    private readonly List<CostSample> _samples = [];
    private readonly List<CostSample> _history = [];
    private readonly SimulatedAnnealing _explorer;
    private List<Point> _plan = [];
    private int _planNext;
    private bool _dirty;

    /// <param name="features">Feature vector of a point; default <see cref="FeatureCache.Default"/> for the space.</param>
    public ModelBasedTuner(TaskSpace space, int seed, CostModelOptions options, Func<Point, float[]>? features = null)
        : base(space, seed)
    {
        _features = new FeatureCache(space, features ?? FeatureCache.Default(space));
        _model = new CostModel(options with { Seed = seed }, _features.Length);
        _explorer = new SimulatedAnnealing(space, seed);
    }

    public override string Name => "xgb";

    /// <summary>Points the explorer plans per refit (AutoTVM's plan_size).</summary>
    public int PlanSize { get; init; } = 64;

    /// <summary>Share of each batch drawn uniformly at random.</summary>
    public double Epsilon { get; init; } = 0.05;

    /// <summary>Samples of this task needed before the first fit (without history).</summary>
    public int MinSamplesToFit { get; init; } = 32;

    /// <summary>Weight of one newly covered (knob, value) pair against the normalized score in the plan's diversity pick.</summary>
    public double DiversityWeight { get; init; } = 0.05;

    public CostModel Model => _model;

    /// <summary>Fits performed so far.</summary>
    public int Fits { get; private set; }

    /// <summary>
    /// Transfer learning: samples measured on other workloads of the same target (features from
    /// <see cref="ScheduleFeatures"/>, one group per workload). They train the model from the
    /// first batch on, next to this task's own trials.
    /// </summary>
    public void AddHistory(IEnumerable<CostSample> samples)
    {
        foreach (var s in samples)
            _history.Add(s with { Group = s.Group + 1 });
        _dirty = _history.Count > 0;
    }

    public override IReadOnlyList<Point> NextBatch(int size)
    {
        if (_dirty)
            Refit();
        var batch = new List<Point>(size);
        while (batch.Count < size)
        {
            Point? point = null;
            if (Random.NextDouble() >= Epsilon)
            {
                while (_planNext < _plan.Count && point is null)
                {
                    var p = _plan[_planNext++];
                    if (!IsVisited(p))
                        point = p;
                }
            }
            point ??= SampleUnvisited();
            if (point is null)
                break;
            MarkVisited(point);
            batch.Add(point);
        }
        return batch;
    }

    protected override void OnUpdate(IReadOnlyList<Trial> trials)
    {
        foreach (var t in trials)
            _samples.Add(new CostSample(_features[t.Point], t.Ok ? t.Gflops : 0, 0));
        _dirty = _history.Count > 0 || _samples.Count >= MinSamplesToFit;
    }

    private void Refit()
    {
        _dirty = false;
        _model.Fit([.. _history, .. _samples]);
        if (!_model.IsTrained)
            return;
        Fits++;
        var candidates = _explorer.FindMaximums(p => _model.Predict(_features[p]), PlanSize * 2, IsVisited);
        _plan = DiversePick(candidates, PlanSize, DiversityWeight);
        _planNext = 0;
        _features.Trim();
    }

    /// <summary>
    /// Greedy submodular pick: repeatedly takes the candidate with the best score, normalized to
    /// the candidates' range (0 to 1), plus <paramref name="weight"/> per (template, knob, value)
    /// not yet covered by the pick; the earliest candidate wins a tie. All candidates, in their
    /// order, when there are at most <paramref name="count"/>.
    /// </summary>
    internal static List<Point> DiversePick(IReadOnlyList<(Point Point, double Score)> candidates, int count, double weight)
    {
        if (candidates.Count <= count)
            return [.. candidates.Select(c => c.Point)];
        double lo = candidates.Min(c => c.Score), hi = candidates.Max(c => c.Score);
        double span = hi > lo ? hi - lo : 1;
        var covered = new HashSet<(int Space, int Knob, int Choice)>();
        var left = candidates.ToList();
        var picked = new List<Point>(count);
        while (picked.Count < count && left.Count > 0)
        {
            int best = 0;
            double bestGain = double.NegativeInfinity;
            for (int i = 0; i < left.Count; i++)
            {
                var p = left[i].Point;
                int fresh = 0;
                for (int k = 0; k < p.Config.Choices.Count; k++)
                {
                    if (!covered.Contains((p.Space, k, p.Config.Choices[k])))
                        fresh++;
                }
                double gain = (left[i].Score - lo) / span + weight * fresh;
                if (gain > bestGain)
                {
                    bestGain = gain;
                    best = i;
                }
            }
            var chosen = left[best].Point;
            for (int k = 0; k < chosen.Config.Choices.Count; k++)
                covered.Add((chosen.Space, k, chosen.Config.Choices[k]));
            picked.Add(chosen);
            left.RemoveAt(best);
        }
        return picked;
    }
}

/// <summary>Feature vectors by point, computed once (the explorer revisits points often).</summary>
public sealed class FeatureCache
{
    private const int MaxEntries = 200_000;
    private readonly Dictionary<(int, long), float[]> _cache = [];
    private readonly Func<Point, float[]> _extract;

    /// <summary>
    /// The length comes from the features of one sampled valid point of <paramref name="space"/>,
    /// or of its first point when sampling finds no valid one (a space with none, where no
    /// features are ever asked for, or one where rejection sampling rarely hits a valid point).
    /// </summary>
    public FeatureCache(TaskSpace space, Func<Point, float[]> extract)
    {
        _extract = extract;
        var probe = space.Sample(new Random(0)) ?? FirstPoint(space) ?? throw new ArgumentException("the space has no point", nameof(space));
        Length = this[probe].Length;
    }

    private static Point? FirstPoint(TaskSpace space) => space.Spaces.Count == 0 ? null : new Point(0, space.Spaces[0].Decode(0));

    public float[] this[Point point]
    {
        get
        {
            var key = TaskSpace.KeyOf(point);
            if (!_cache.TryGetValue(key, out var f))
                _cache[key] = f = _extract(point);
            return f;
        }
    }

    public int Length { get; }

    /// <summary>Drops everything when the cache has grown past its bound.</summary>
    public void Trim()
    {
        if (_cache.Count > MaxEntries)
            _cache.Clear();
    }

    /// <summary>
    /// Loop-nest and knob features (<see cref="ScheduleFeatures"/>) for a task space with
    /// templates; for a synthetic space, the raw knob choices and a one-hot of the space.
    /// </summary>
    public static Func<Point, float[]> Default(TaskSpace space)
    {
        if (space.Templates.Count == 0)
            return KnobFeatures(space);
        ScheduleFeatureExtractor[] extractors = [.. space.Templates.Select(t => ScheduleFeatures.For(t, space.Workload!, space.Target!))];
        return p => extractors[p.Space].Extract(p.Config);
    }

    /// <summary>Per space: a one-hot; per knob slot: the choice index and the chosen values.</summary>
    public static Func<Point, float[]> KnobFeatures(TaskSpace space)
    {
        int slots = space.Spaces.Max(s => s.Knobs.Count);
        int width = space.Spaces.Max(s => s.Knobs.Max(k => Enumerable.Range(0, k.Count).Max(c => k[c].Count)));
        int length = space.Spaces.Count + slots * (1 + width);
        return point =>
        {
            var f = new float[length];
            f[point.Space] = 1;
            var knobs = point.Config.Space.Knobs;
            for (int k = 0; k < knobs.Count; k++)
            {
                int at = space.Spaces.Count + k * (1 + width);
                int choice = point.Config.Choices[k];
                f[at] = choice;
                var values = knobs[k][choice];
                for (int v = 0; v < values.Count && v < width; v++)
                    f[at + 1 + v] = values[v];
            }
            return f;
        };
    }
}
