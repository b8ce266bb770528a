namespace AutoKernel.Build.Tuning;

/// <summary>
/// AutoTVM's simulated-annealing explorer: parallel chains walk the space by one-knob moves,
/// accept a worse neighbour with probability exp(Δ/T) on scores normalized to the chains' range,
/// with T cooling linearly from 1 to 0, and keep the best unvisited points seen. Half of the
/// chains persist between calls (each call starts them where the last one ended them); the
/// other half restart at fresh random points.
/// </summary>
public sealed class SimulatedAnnealing(TaskSpace space, int seed)
{
    private readonly Random _random = new(seed ^ 0x5A5A5A);
    private List<Point> _chains = [];

    public int Chains { get; init; } = 128;

    public int Iterations { get; init; } = 500;

    /// <summary>Stop when the kept set has not changed for this many iterations.</summary>
    public int EarlyStop { get; init; } = 50;

    /// <summary>
    /// The best-scored points not <paramref name="visited"/> that the chains met: at most
    /// <paramref name="count"/>, distinct, best first (a tie in template, then index order).
    /// </summary>
    public IReadOnlyList<(Point Point, double Score)> FindMaximums(Func<Point, double> score, int count, Func<Point, bool> visited)
    {
        var points = new List<Point>(Chains);
        // Keep half of the previous chains, restart the rest at random points.
        foreach (var p in _chains.Take(Chains / 2))
            points.Add(p);
        while (points.Count < Chains && space.Sample(_random) is { } p)
            points.Add(p);
        if (points.Count == 0)
            return [];
        var scores = points.Select(score).ToArray();
        var top = new Dictionary<(int, long), (Point Point, double Score)>();
        double floor = double.NegativeInfinity;
        for (int i = 0; i < points.Count; i++)
            Offer(points[i], scores[i]);

        double lo = scores.Min(), hi = scores.Max();
        double span = hi > lo ? hi - lo : 1;
        int lastChange = 0;
        for (int iteration = 0; iteration < Iterations && iteration - lastChange < EarlyStop; iteration++)
        {
            double temperature = 1.0 - (double)iteration / Iterations;
            for (int i = 0; i < points.Count; i++)
            {
                if (space.Neighbour(points[i], _random) is not { } next)
                    continue;
                double s = score(next);
                if (Offer(next, s))
                    lastChange = iteration;
                double delta = (s - scores[i]) / span;
                if (delta >= 0 || _random.NextDouble() < Math.Exp(delta / Math.Max(temperature, 1e-5)))
                {
                    points[i] = next;
                    scores[i] = s;
                }
            }
        }
        _chains = points;
        return [.. top.Values.OrderByDescending(t => t.Score).ThenBy(t => t.Point.Space).ThenBy(t => t.Point.Index)];

        // Keeps the point if it is among the best `count` unvisited ones; true when the set changed.
        bool Offer(Point p, double s)
        {
            if (s <= floor || visited(p))
                return false;
            var key = TaskSpace.KeyOf(p);
            if (top.ContainsKey(key))
                return false;
            top[key] = (p, s);
            if (top.Count > count)
            {
                var worst = top.MinBy(kv => kv.Value.Score);
                top.Remove(worst.Key);
                floor = top.Values.Min(v => v.Score);
            }
            return true;
        }
    }
}
