using AutoKernel.Build.Tuning;
using AutoKernel.Generator.Schedules;
using static AutoKernel.Build.Tests.Tuning.SyntheticSpaces;

namespace AutoKernel.Build.Tests.Tuning;

/// <summary>
/// The model-based tuner's planning steps on spaces of two templates: the simulated-annealing
/// explorer's kept set, checked against a naive ranking of every point, and the diversity pick,
/// checked against hand-computed gains.
/// </summary>
public sealed class ExplorerTests
{
    /// <summary>"a": 3 knobs of 4 choices, 64 points; "b": 2 knobs of 4, valid when they differ, 12 of 16.</summary>
    private static TaskSpace TwoTemplates() => new([Grid("a", 3, 4), Grid("b", 2, 4, c => c.Choices[0] != c.Choices[1])]);

    /// <summary>Every valid point of the space.</summary>
    private static List<Point> AllValid(TaskSpace space) =>
        [.. space.Spaces.SelectMany((s, i) => s.EnumerateValid().Select(c => new Point(i, c)))];

    /// <summary>Distinct scores in a shuffled order, so that ranking has no ties and no relation to the index.</summary>
    private static Dictionary<(int, long), double> DistinctScores(List<Point> points, int seed)
    {
        var random = new Random(seed);
        var order = points.Select(TaskSpace.KeyOf).OrderBy(_ => random.Next()).ToList();
        return order.Select((key, rank) => (key, rank)).ToDictionary(t => t.key, t => (double)t.rank);
    }

    [Fact]
    public void FindMaximumsReturnsTheBestUnvisitedPointsDistinctAndBestFirst()
    {
        var space = TwoTemplates();
        var all = AllValid(space);
        Assert.Equal(64 + 12, all.Count);
        var scores = DistinctScores(all, 1);
        double Score(Point p)
        {
            Assert.True(space.Spaces[p.Space].IsValid(p.Config), $"the explorer scored an invalid point {p}");
            return scores[TaskSpace.KeyOf(p)];
        }
        // The 5 best points are visited, so the answer is the 6th to the 15th best.
        var visited = all.OrderByDescending(Score).Take(5).Select(TaskSpace.KeyOf).ToHashSet();
        var expected = all.Where(p => !visited.Contains(TaskSpace.KeyOf(p))).OrderByDescending(Score).Take(10).Select(TaskSpace.KeyOf).ToList();
        var explorer = new SimulatedAnnealing(space, 3);
        // 128 chains on 76 points meet every one of them: the kept set is the true top 10.
        var found = explorer.FindMaximums(Score, 10, p => visited.Contains(TaskSpace.KeyOf(p)));
        Assert.Equal(expected, found.Select(f => TaskSpace.KeyOf(f.Point)));
        Assert.All(found, f => Assert.Equal(Score(f.Point), f.Score));
        Assert.Contains(found, f => f.Point.Space == 0);
        Assert.Contains(found, f => f.Point.Space == 1);

        // A second call starts half of its chains where the first left them; with everything
        // unvisited and room for all, it returns every valid point once, best first.
        var everything = explorer.FindMaximums(Score, 1000, _ => false);
        Assert.Equal(all.OrderByDescending(Score).Select(TaskSpace.KeyOf), everything.Select(f => TaskSpace.KeyOf(f.Point)));
    }

    [Fact]
    public void FindMaximumsBreaksTiesByTemplateThenIndex()
    {
        var space = TwoTemplates();
        var found = new SimulatedAnnealing(space, 1).FindMaximums(_ => 1, 1000, _ => false);
        var expected = AllValid(space).Select(TaskSpace.KeyOf).Order().ToList();
        Assert.Equal(expected, found.Select(f => TaskSpace.KeyOf(f.Point)));
    }

    [Fact]
    public void FindMaximumsOnASpaceWithoutAValidPointFindsNothing()
    {
        var space = new TaskSpace([Grid("dead", 2, 3, _ => false)]);
        Assert.Empty(new SimulatedAnnealing(space, 1).FindMaximums(_ => 1, 10, _ => false));
    }

    /// <summary>A scored candidate of a template with choices (<paramref name="a"/>, <paramref name="b"/>), for the hand-computed picks below.</summary>
    private static (Point, double) Candidate(TaskSpace space, int template, int a, int b, double score) =>
        (new Point(template, space.Spaces[template].FromChoices([a, b])), score);

    [Fact]
    public void DiversePickTradesScoreAgainstKnobValuesNotYetCovered()
    {
        var space = new TaskSpace([Grid("t", 2, 3)]);
        // Scores normalize over 0..10 to 1.0, 0.9, 0.7 and 0; weight 0.3 per fresh (knob, value).
        (Point, double)[] candidates =
        [
            Candidate(space, 0, 0, 0, 10), // A
            Candidate(space, 0, 0, 1, 9),  // B
            Candidate(space, 0, 1, 2, 7),  // C
            Candidate(space, 0, 2, 2, 0),  // D
        ];
        // Round 1, nothing covered (2 fresh each): A 1.6, B 1.5, C 1.3, D 0.6: A.
        // Round 2, covered a=0, b=0: B 0.9 + 0.3 (b=1) = 1.2, C 0.7 + 0.6 = 1.3, D 0 + 0.6: C.
        // Round 3, covered a=0,1, b=0,2: B 0.9 + 0.3 = 1.2, D 0 + 0.3 (a=2): B.
        var picked = ModelBasedTuner.DiversePick(candidates, 3, 0.3);
        // Indices, first knob least significant: A (0, 0) is 0, C (1, 2) is 1 + 2 * 3 = 7, B (0, 1) is 3.
        Assert.Equal([(0, 0L), (0, 7L), (0, 3L)], picked.Select(TaskSpace.KeyOf));
        // Without the diversity term the pick is by score: A, B, C.
        Assert.Equal([(0, 0L), (0, 3L), (0, 7L)], ModelBasedTuner.DiversePick(candidates, 3, 0).Select(TaskSpace.KeyOf));
        // At most as many candidates as asked for: all of them, in their order.
        Assert.Equal(candidates.Select(c => TaskSpace.KeyOf(c.Item1)), ModelBasedTuner.DiversePick(candidates, 4, 0.3).Select(TaskSpace.KeyOf));
    }

    [Fact]
    public void DiversePickCountsTheSameKnobValuesOfAnotherTemplateAsFresh()
    {
        var space = new TaskSpace([Grid("t", 2, 3), Grid("u", 2, 3)]);
        (Point, double)[] candidates =
        [
            Candidate(space, 0, 0, 0, 10), // A: 1.0
            Candidate(space, 1, 0, 0, 9.5), // E: the same choices as A in template "u", 0.95
            Candidate(space, 0, 1, 2, 7),  // C: 0.7
            Candidate(space, 0, 2, 2, 0),  // D: 0
        ];
        // Round 1: A 1.6. Round 2: E's (u, knob, value) pairs are not A's, so 0.95 + 0.6 = 1.55
        // beats C's 0.7 + 0.6 = 1.3. Were the template left out of the key, E would get 0.95.
        var picked = ModelBasedTuner.DiversePick(candidates, 2, 0.3);
        Assert.Equal([(0, 0L), (1, 0L)], picked.Select(TaskSpace.KeyOf));
    }
}
