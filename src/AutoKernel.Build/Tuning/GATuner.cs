namespace AutoKernel.Build.Tuning;

/// <summary>
/// Genetic search over knob choices (AutoTVM's GATuner): a generation of
/// <see cref="PopulationSize"/> points is measured; the next one keeps the
/// <see cref="EliteCount"/> best points seen as parents, picks parent pairs with probability
/// proportional to throughput, crosses their knob choices at a random cut and mutates each
/// knob with probability <see cref="MutationProbability"/>. Children are valid and unvisited;
/// parents of different templates do not cross (the child is a mutated copy of the first).
/// </summary>
public sealed class GATuner : Tuner
{
    private readonly List<Point> _generation = [];
    private readonly List<Trial> _scored = [];
    private readonly List<Trial> _elites = [];
    private int _next;

    public GATuner(TaskSpace space, int seed) : base(space, seed)
    {
    }

    public override string Name => "ga";

    public int PopulationSize { get; init; } = 50;

    public int EliteCount { get; init; } = 3;

    public double MutationProbability { get; init; } = 0.1;

    public override IReadOnlyList<Point> NextBatch(int size)
    {
        var batch = new List<Point>(size);
        while (batch.Count < size)
        {
            if (_next >= _generation.Count && !Breed())
                break;
            var point = _generation[_next++];
            if (!IsVisited(point))
            {
                MarkVisited(point);
                batch.Add(point);
            }
        }
        return batch;
    }

    protected override void OnUpdate(IReadOnlyList<Trial> trials) => _scored.AddRange(trials);

    /// <summary>Fills the next generation; false when no unvisited point is left.</summary>
    private bool Breed()
    {
        _generation.Clear();
        _next = 0;
        // Parents: this generation's results (and anything replayed) plus the elites so far.
        var pool = _scored.Concat(_elites).Where(t => t.Ok).ToList();
        var elites = pool.DistinctBy(t => TaskSpace.KeyOf(t.Point)).OrderByDescending(t => t.Gflops).Take(EliteCount).ToList();
        _elites.Clear();
        _elites.AddRange(elites);
        _scored.Clear();
        var keys = new HashSet<(int, long)>();
        if (pool.Count == 0)
        {
            for (int i = 0; i < PopulationSize && SampleUnvisited(keys) is { } point; i++)
            {
                keys.Add(TaskSpace.KeyOf(point));
                _generation.Add(point);
            }
            return _generation.Count > 0;
        }
        double total = pool.Sum(t => t.Gflops);
        for (int i = 0; i < PopulationSize; i++)
        {
            Point? child = null;
            for (int attempt = 0; attempt < 20 && child is null; attempt++)
            {
                var a = Pick(pool, total).Point;
                var b = Pick(pool, total).Point;
                var candidate = Mutate(a.Space == b.Space ? Cross(a, b) : a);
                if (candidate is not null && !IsVisited(candidate) && !keys.Contains(TaskSpace.KeyOf(candidate)))
                    child = candidate;
            }
            // Offspring keep landing on visited points: inject a random one.
            child ??= SampleUnvisited(keys);
            if (child is null)
                break;
            keys.Add(TaskSpace.KeyOf(child));
            _generation.Add(child);
        }
        return _generation.Count > 0;
    }

    private Trial Pick(List<Trial> pool, double total)
    {
        double r = Random.NextDouble() * total;
        foreach (var t in pool)
        {
            r -= t.Gflops;
            if (r <= 0)
                return t;
        }
        return pool[^1];
    }

    private Point? Cross(Point a, Point b)
    {
        var space = Space.Spaces[a.Space];
        int n = space.Knobs.Count;
        int cut = Random.Next(n + 1);
        var choices = new int[n];
        for (int k = 0; k < n; k++)
            choices[k] = k < cut ? a.Config.Choices[k] : b.Config.Choices[k];
        var config = space.FromChoices(choices);
        return space.IsValid(config) ? new Point(a.Space, config) : null;
    }

    private Point? Mutate(Point? point)
    {
        if (point is null)
            return null;
        var space = Space.Spaces[point.Space];
        int[] choices = [.. point.Config.Choices];
        for (int k = 0; k < choices.Length; k++)
        {
            if (Random.NextDouble() < MutationProbability)
                choices[k] = Random.Next(space.Knobs[k].Count);
        }
        var config = space.FromChoices(choices);
        return space.IsValid(config) ? new Point(point.Space, config) : null;
    }
}
