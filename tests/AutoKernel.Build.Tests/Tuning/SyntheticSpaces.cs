using AutoKernel.Build.Tuning;
using AutoKernel.Generator.Schedules;

namespace AutoKernel.Build.Tests.Tuning;

/// <summary>
/// Configuration spaces with a known cost function, for checking search strategies: a smooth
/// bowl over the knob values with one optimum, an interaction term so that knobs cannot be
/// optimized one at a time, and a validity constraint that cuts part of the space away.
/// </summary>
internal static class SyntheticSpaces
{
    /// <summary>A space of <paramref name="knobs"/> knobs with <paramref name="choices"/> choices each; the optimum is at <see cref="Optimum"/>.</summary>
    public static TaskSpace Bowl(int knobs, int choices, string name = "bowl")
    {
        var list = Enumerable.Range(0, knobs).Select(k => Knob.Choice("k" + k, KnobKind.Other, [.. Enumerable.Range(0, choices)]));
        // Invalid: the first two knobs both in their top quarter (the optimum stays valid).
        var space = new ConfigSpace(name, list, [c => !(c.Choices[0] >= choices * 3 / 4 && c.Choices[1] >= choices * 3 / 4)]);
        return new TaskSpace([space]);
    }

    public static int[] Optimum(int knobs, int choices) => [.. Enumerable.Range(0, knobs).Select(k => (k * 7 + 3) % choices)];

    /// <summary>Higher is better; 100 at the optimum, positive everywhere.</summary>
    public static double Score(Point point, int choices)
    {
        var c = point.Config.Choices;
        var opt = Optimum(c.Count, choices);
        double d = 0;
        for (int k = 0; k < c.Count; k++)
        {
            double x = (c[k] - opt[k]) / (double)choices;
            d += x * x;
        }
        // Interaction: the first two knobs are best when they move together.
        double xy = ((c[0] - opt[0]) - (c[1] - opt[1])) / (double)choices;
        return 100 / (1 + 20 * d + 10 * xy * xy);
    }

    public static Func<IReadOnlyList<Point>, CancellationToken, IReadOnlyList<Trial>> Evaluate(int choices, List<Point>? log = null) =>
        (batch, _) =>
        {
            log?.AddRange(batch);
            return [.. batch.Select(p => new Trial(p, Score(p, choices)))];
        };

    public static bool IsOptimum(Trial? best, int knobs, int choices) =>
        best is not null && best.Point.Config.Choices.SequenceEqual(Optimum(knobs, choices));
}
