using AutoKernel.Build.Records;
using AutoKernel.Build.Tests.Support;
using AutoKernel.Build.Tuning;
using AutoKernel.Generator.Kernels;
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
    public void RanksAWorkloadWithMoreRecordsThanLightGbmAllowsPerQuery()
    {
        // LightGBM refuses queries of more than 10,000 rows; one workload's log can hold more.
        var space = Bowl(4, 12);
        var features = FeatureCache.KnobFeatures(space);
        var points = space.Spaces[0].EnumerateValid().Take(12_000).Select(c => new Point(0, c)).ToList();
        Assert.Equal(12_000, points.Count);
        var model = new CostModel(CostModelOptions.Parse("lgbm-rank") with { Trees = 10 }, features(points[0]).Length);
        model.Fit([.. points.Select(p => new CostSample(features(p), Score(p, 12), 0))]);
        Assert.True(model.IsTrained);
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

/// <summary>
/// The cost model on real measurements: 480 records of random search on three ResNet-18
/// convolutions (7x7 stem, 3x3 at 28x28 and at 7x7), measured with one thread on the AVX-512
/// development machine (`autokernel tune --tuner random`, checked in under Tuning/Data).
/// </summary>
public sealed class MeasuredRecordTests
{
    private static readonly string LogPath = Path.Combine(TestPaths.RepoRoot, "tests", "AutoKernel.Build.Tests", "Tuning", "Data", "resnet18-random-1thread.log");

    private static Dictionary<string, List<CostSample>> Samples()
    {
        var records = RecordLog.Load(LogPath).Records;
        // Features depend on the vector width and thread count only, so the host does not matter.
        var target = new CpuTarget(512, 1, records[0].Target);
        var warnings = new List<string>();
        var samples = records.GroupBy(r => r.WorkloadKey).ToDictionary(g => g.Key, g => TuningJob.HistorySamples(g, target, warnings));
        Assert.Empty(warnings);
        Assert.Equal(3, samples.Count);
        Assert.All(samples.Values, s => Assert.Equal(160, s.Count));
        return samples;
    }

    [Fact]
    public void RanksHeldOutRecordsOfTheSameWorkloadBetterThanChance()
    {
        foreach (var (key, samples) in Samples())
        {
            // A fixed interleaving (160 and 7919 are coprime) instead of a shuffle.
            var shuffled = samples.Select((s, i) => (s, i)).OrderBy(p => p.i * 7919 % samples.Count).Select(p => p.s).ToList();
            var model = new CostModel(new CostModelOptions(), ScheduleFeatures.Length);
            model.Fit(shuffled[..80]);
            var test = shuffled[80..];
            double rho = Statistics.Spearman([.. test.Select(s => model.Predict(s.Features))], [.. test.Select(s => s.Gflops)]);
            // With 80 held-out points, rho > 0.29 is significant at 1%; measured about 0.8.
            Assert.True(rho > 0.4, $"{key}: Spearman rho {rho:F3}");
        }
    }

    [Fact]
    public void RanksAnUnseenWorkloadFromTheOthersBetterThanChance()
    {
        var all = Samples();
        foreach (var (key, samples) in all)
        {
            var model = new CostModel(new CostModelOptions(), ScheduleFeatures.Length);
            model.Fit([.. all.Where(kv => kv.Key != key).SelectMany(kv => kv.Value)]);
            double rho = Statistics.Spearman([.. samples.Select(s => model.Predict(s.Features))], [.. samples.Select(s => s.Gflops)]);
            Assert.True(rho > 0.3, $"{key}: Spearman rho {rho:F3} when trained on the other workloads only");
        }
    }
}
