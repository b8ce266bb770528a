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

    /// <summary>A template's space of <paramref name="knobs"/> knobs with <paramref name="choices"/> choices each (choice c has the value c).</summary>
    public static ConfigSpace Grid(string name, int knobs, int choices, Func<Config, bool>? valid = null) =>
        new(name, Enumerable.Range(0, knobs).Select(k => Knob.Choice("k" + k, KnobKind.Other, [.. Enumerable.Range(0, choices)])), valid is null ? null : [valid]);

    /// <summary>
    /// Two templates of very unequal size: "large" (6 knobs of 6 choices, 46656 points, scores
    /// 50 at most: <see cref="Score"/> halved) and "small" (2 knobs of 2 choices, 4 points) that
    /// holds the overall optimum, choices (1, 0), scoring 100; its other points score 10.
    /// </summary>
    public static TaskSpace LargeAndSmall() => new([Grid("large", 6, 6), Grid("small", 2, 2)]);

    /// <summary>The score of a point of <see cref="LargeAndSmall"/>.</summary>
    public static double LargeAndSmallScore(Point point) =>
        point.Space == 0 ? Score(point, 6) / 2 : point.Config.Choices.SequenceEqual([1, 0]) ? 100 : 10;

    public static Func<IReadOnlyList<Point>, CancellationToken, IReadOnlyList<Trial>> Evaluate(Func<Point, double> score, List<Point>? log = null) =>
        (batch, _) =>
        {
            log?.AddRange(batch);
            return [.. batch.Select(p => new Trial(p, score(p)))];
        };
}
