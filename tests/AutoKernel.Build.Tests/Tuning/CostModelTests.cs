using AutoKernel.Build.Tuning;
using static AutoKernel.Build.Tests.Tuning.SyntheticSpaces;

namespace AutoKernel.Build.Tests.Tuning;

public sealed class CostModelTests
{
    [Theory]
    [InlineData("lgbm-rank")]
    [InlineData("lgbm-reg")]
    [InlineData("fasttree-rank")]
    [InlineData("fasttree-reg")]
    public void RanksHeldOutPointsBetterThanChance(string kind)
    {
        var space = Bowl(4, 12);
        var features = FeatureCache.KnobFeatures(space);
        var random = new Random(7);
        var points = Enumerable.Range(0, 600).Select(_ => space.Sample(random)!).DistinctBy(TaskSpace.KeyOf).ToList();
        var train = points.Take(300).ToList();
        var test = points.Skip(300).ToList();
        var model = new CostModel(CostModelOptions.Parse(kind), features(train[0]).Length);
        model.Fit([.. train.Select(p => new CostSample(features(p), Score(p, 12), 0))]);
        Assert.True(model.IsTrained);
        double rho = Statistics.Spearman([.. test.Select(p => model.Predict(features(p)))], [.. test.Select(p => Score(p, 12))]);
        // Chance is 0, and with 300 held-out points rho > 0.14 is significant at 1%. The ranking
        // objective weights the top of the order (NDCG), so its overall rho is the lower one (about 0.5).
        Assert.True(rho > 0.3, $"{kind}: Spearman rho {rho:F3}");
    }

    [Theory]
    [InlineData("lgbm-rank")]
    [InlineData("lgbm-reg")]
    [InlineData("fasttree-rank")]
    [InlineData("fasttree-reg")]
    public void TheTreeWalkScoresLikeMlNet(string kind)
    {
        var space = Bowl(3, 10);
        var features = FeatureCache.KnobFeatures(space);
        var random = new Random(3);
        var points = Enumerable.Range(0, 200).Select(_ => space.Sample(random)!).ToList();
        var model = new CostModel(CostModelOptions.Parse(kind), features(points[0]).Length);
        model.Fit([.. points.Take(120).Select(p => new CostSample(features(p), Score(p, 10), 0))]);
        var rows = points.Skip(120).Select(features).ToList();
        var expected = model.PredictWithMlNet(rows);
        for (int i = 0; i < rows.Count; i++)
            Assert.Equal(expected[i], model.Predict(rows[i]), 1e-4 * Math.Max(1, Math.Abs(expected[i])));
    }

    [Fact]
    public void DoesNotTrainOnConstantLabels()
    {
        var space = Bowl(2, 4);
        var features = FeatureCache.KnobFeatures(space);
        var model = new CostModel(new CostModelOptions(), features(space.Sample(new Random(1))!).Length);
        model.Fit([.. space.Spaces[0].EnumerateValid().Select(c => new CostSample(features(new Point(0, c)), 5, 0))]);
        Assert.False(model.IsTrained);
    }

    [Fact]
    public void SpearmanOfKnownOrders()
    {
        Assert.Equal(1, Statistics.Spearman([1, 2, 3, 4], [10, 20, 30, 40]), 9);
        Assert.Equal(-1, Statistics.Spearman([1, 2, 3, 4], [4, 3, 2, 1]), 9);
        Assert.Equal(0.6, Statistics.Spearman([1, 2, 3, 4], [2, 1, 4, 3]), 9);
        // Ties get their average rank.
        Assert.Equal(1, Statistics.Spearman([1, 1, 2], [1, 1, 2]), 9);
    }
}
