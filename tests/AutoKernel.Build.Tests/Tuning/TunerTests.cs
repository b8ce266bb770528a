using AutoKernel.Build.Tuning;
using AutoKernel.Generator.Schedules;
using static AutoKernel.Build.Tests.Tuning.SyntheticSpaces;

namespace AutoKernel.Build.Tests.Tuning;

public sealed class TunerTests
{
    private static readonly TuneOptions Batches = new() { BatchSize = 16 };

    [Fact]
    public void GridSearchVisitsEveryValidPointOnceAndFindsTheOptimum()
    {
        var space = Bowl(3, 6);
        int valid = space.Spaces[0].EnumerateValid().Count();
        var seen = new List<Point>();
        var tuner = new GridSearchTuner(space, 0);
        var stop = tuner.Tune(10_000, Evaluate(6, seen), Batches);
        Assert.Equal(TuneStop.Exhausted, stop);
        Assert.Equal(valid, seen.Count);
        Assert.Equal(valid, seen.Select(TaskSpace.KeyOf).Distinct().Count());
        Assert.True(IsOptimum(tuner.Best, 3, 6));
    }

    [Fact]
    public void RandomSearchNeverRepeatsSoItCoversASmallSpaceWithinItsSize()
    {
        var space = Bowl(3, 6);
        int valid = space.Spaces[0].EnumerateValid().Count();
        var seen = new List<Point>();
        var tuner = new RandomTuner(space, 3);
        Assert.Equal(TuneStop.Budget, tuner.Tune(valid, Evaluate(6, seen), Batches));
        Assert.Equal(valid, seen.Select(TaskSpace.KeyOf).Distinct().Count());
        Assert.True(IsOptimum(tuner.Best, 3, 6));
        Assert.Empty(tuner.NextBatch(4));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void GeneticSearchFindsTheOptimumOfALargerSpace(int seed)
    {
        // 12^4 = 20736 points, budget 1500 (7%).
        var tuner = new GATuner(Bowl(4, 12), seed);
        var seen = new List<Point>();
        tuner.Tune(1500, Evaluate(12, seen), Batches);
        Assert.True(IsOptimum(tuner.Best, 4, 12), $"best {tuner.Best?.Gflops:F1} at {tuner.Best?.Point.Config}");
        Assert.Equal(seen.Count, seen.Select(TaskSpace.KeyOf).Distinct().Count());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void ModelBasedSearchFindsTheOptimumOfALargeSpaceInFewTrials(int seed)
    {
        // 16^4 = 65536 points, budget 400 (0.6%): random search would need ~30000 on average.
        var tuner = new ModelBasedTuner(Bowl(4, 16), seed, new CostModelOptions());
        var seen = new List<Point>();
        tuner.Tune(400, Evaluate(16, seen), Batches);
        Assert.True(IsOptimum(tuner.Best, 4, 16), $"best {tuner.Best?.Gflops:F1} at {tuner.Best?.Point.Config}");
        Assert.Equal(seen.Count, seen.Select(TaskSpace.KeyOf).Distinct().Count());
        Assert.True(tuner.Fits > 0);
    }

    [Fact]
    public void ModelBasedSearchBeatsRandomSearchOnTheSameBudget()
    {
        double model = 0, random = 0;
        for (int seed = 0; seed < 3; seed++)
        {
            var m = new ModelBasedTuner(Bowl(4, 16), seed, new CostModelOptions());
            m.Tune(200, Evaluate(16), Batches);
            var r = new RandomTuner(Bowl(4, 16), seed);
            r.Tune(200, Evaluate(16), Batches);
            model += m.Best!.Gflops;
            random += r.Best!.Gflops;
        }
        Assert.True(model > random * 1.1, $"model-based {model / 3:F1} vs random {random / 3:F1}");
    }

    [Theory]
    [InlineData("xgb")]
    [InlineData("ga")]
    [InlineData("random")]
    [InlineData("grid")]
    public void ReplayedTrialsAreNeverProposedAgain(string name)
    {
        var space = Bowl(3, 8);
        var first = Tuner.Create(name, space, 5);
        var measured = new List<Point>();
        first.Tune(200, Evaluate(8, measured), Batches);

        // A fresh tuner resumed from the first one's trials: 200 more, none of them repeated.
        var resumed = Tuner.Create(name, space, 6);
        resumed.Update([.. measured.Select(p => new Trial(p, Score(p, 8)))]);
        Assert.Equal(200, resumed.TrialCount);
        var more = new List<Point>();
        resumed.Tune(400, Evaluate(8, more), Batches);
        Assert.Equal(400, resumed.TrialCount);
        Assert.Empty(more.Select(TaskSpace.KeyOf).Intersect(measured.Select(TaskSpace.KeyOf)));
        Assert.Equal(more.Count, more.Select(TaskSpace.KeyOf).Distinct().Count());
    }

    [Fact]
    public void EarlyStoppingEndsTheRunAfterThatManyTrialsWithoutImprovement()
    {
        // Every trial scores the same, so the first one stays the best.
        var tuner = new RandomTuner(Bowl(3, 8), 1);
        var stop = tuner.Tune(400, (batch, _) => [.. batch.Select(p => new Trial(p, 1))], new TuneOptions { BatchSize = 8, EarlyStopping = 40 });
        Assert.Equal(TuneStop.EarlyStopping, stop);
        Assert.Equal(48, tuner.TrialCount);
    }

    [Fact]
    public void CancellationKeepsTheTrialsMeasuredBeforeIt()
    {
        using var cts = new CancellationTokenSource();
        var tuner = new RandomTuner(Bowl(3, 8), 1);
        var progress = new List<TuneProgress>();
        var stop = tuner.Tune(400, (batch, ct) =>
        {
            if (tuner.TrialCount >= 16)
            {
                cts.Cancel();
                return [.. batch.Take(3).Select(p => new Trial(p, 1))];
            }
            return [.. batch.Select(p => new Trial(p, 1))];
        }, new TuneOptions { BatchSize = 8, Callbacks = [progress.Add] }, cts.Token);
        Assert.Equal(TuneStop.Cancelled, stop);
        Assert.Equal(19, tuner.TrialCount);
        Assert.Equal([8, 16, 19], progress.Select(p => p.Trials));
    }

    [Fact]
    public void FailedTrialsNeverBecomeTheBest()
    {
        var tuner = new RandomTuner(Bowl(2, 4), 1);
        tuner.Tune(8, (batch, _) => [.. batch.Select(p => new Trial(p, 0))], Batches);
        Assert.Null(tuner.Best);
        Assert.Equal(8, tuner.TrialCount);
    }

    [Theory]
    [InlineData("xgb")]
    [InlineData("ga")]
    [InlineData("random")]
    public void EveryTunerFindsTheOptimumInASmallTemplateNextToALargeOne(string name)
    {
        // 4 points next to 46656: in 64 trials a template-uniform search meets all 4 (about 32
        // draws land there), a size-proportional one would meet the optimum with chance 64/46660.
        var space = LargeAndSmall();
        var seen = new List<Point>();
        var tuner = Tuner.Create(name, space, 4);
        Assert.Equal(TuneStop.Budget, tuner.Tune(64, Evaluate(LargeAndSmallScore, seen), Batches));
        Assert.Equal(64, seen.Count);
        Assert.Equal(64, seen.Select(TaskSpace.KeyOf).Distinct().Count());
        Assert.Contains(seen, p => p.Space == 0);
        Assert.Equal(1, tuner.Best!.Point.Space);
        Assert.Equal([1, 0], tuner.Best.Point.Config.Choices);
        Assert.Equal(100, tuner.Best.Gflops);
    }

    [Fact]
    public void GridSearchWalksTemplateByTemplateInIndexOrder()
    {
        // Two spaces with the same indices (4 points each): a key of the index alone would take
        // the second template's points for visited ones.
        var space = new TaskSpace([Grid("a", 2, 2, c => c.Index != 2), Grid("b", 1, 4)]);
        var seen = new List<Point>();
        var tuner = new GridSearchTuner(space, 0);
        Assert.Equal(TuneStop.Exhausted, tuner.Tune(100, Evaluate(_ => 1, seen), new TuneOptions { BatchSize = 3 }));
        Assert.Equal([(0, 0L), (0, 1L), (0, 3L), (1, 0L), (1, 1L), (1, 2L), (1, 3L)], seen.Select(TaskSpace.KeyOf));
    }

    [Theory]
    [InlineData("xgb")]
    [InlineData("ga")]
    [InlineData("random")]
    [InlineData("grid")]
    public void OnASpaceWithoutAValidPointEveryTunerStopsAtOnceHavingProposedNothing(string name)
    {
        var space = new TaskSpace([Grid("dead", 2, 3, _ => false), Grid("dead too", 2, 2, _ => false)]);
        var tuner = Tuner.Create(name, space, 1);
        var seen = new List<Point>();
        Assert.Equal(TuneStop.Exhausted, tuner.Tune(50, Evaluate(_ => 1, seen), Batches));
        Assert.Empty(seen);
        Assert.Equal(0, tuner.TrialCount);
        Assert.Null(tuner.Best);
    }

    [Fact]
    public void GeneticParentsOfDifferentTemplatesDoNotCross()
    {
        // Two templates of the same shape (8 knobs of 8 choices). The only parents are all-zero in
        // the first template and all-seven in the second. Without mutation, a child of two equal
        // parents is a visited point, and the no-cross rule makes a child of the two templates a
        // copy of its first parent, visited too: every child is a random point. A cross would be
        // a point whose every choice is 0 or 7 (a random point is one with chance 4^-8).
        var space = new TaskSpace([Grid("left", 8, 8), Grid("right", 8, 8)]);
        var zeros = new Point(0, space.Spaces[0].FromChoices(new int[8]));
        var sevens = new Point(1, space.Spaces[1].FromChoices(Enumerable.Repeat(7, 8).ToArray()));
        var batch = FirstGeneration(space, zeros, sevens);
        Assert.Equal(50, batch.Count);
        Assert.DoesNotContain(batch, IsCrossOfZerosAndSevens);

        // The same two parents in one template do cross: the check above can see a cross.
        var sameTemplate = new Point(0, space.Spaces[0].FromChoices(Enumerable.Repeat(7, 8).ToArray()));
        Assert.Contains(FirstGeneration(space, zeros, sameTemplate), IsCrossOfZerosAndSevens);

        static bool IsCrossOfZerosAndSevens(Point p) => p.Config.Choices.All(c => c is 0 or 7);

        static IReadOnlyList<Point> FirstGeneration(TaskSpace space, Point a, Point b)
        {
            var ga = new GATuner(space, 2) { MutationProbability = 0 };
            ga.Update([new Trial(a, 10), new Trial(b, 10)]);
            var batch = ga.NextBatch(50);
            Assert.Equal(batch.Count, batch.Select(TaskSpace.KeyOf).Distinct().Count());
            Assert.DoesNotContain(batch, p => TaskSpace.KeyOf(p) == TaskSpace.KeyOf(a) || TaskSpace.KeyOf(p) == TaskSpace.KeyOf(b));
            return batch;
        }
    }
}
