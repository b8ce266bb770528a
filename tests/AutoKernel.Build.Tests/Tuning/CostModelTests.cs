using AutoKernel.Build.Records;
using AutoKernel.Build.Tests.Support;
using AutoKernel.Build.Tuning;
using AutoKernel.Generator.Kernels;
using AutoKernel.TestSupport;
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

    /// <summary>
    /// Points (v, w) with v = 0..11 deciding the throughput (v + 4 GFLOPS: 16 grades of the ranking
    /// objective tell every v apart) and w = 0..9 irrelevant; the model trains on w = 0..4 and
    /// scores w = 5..9, so every held-out point has a trained twin with the same throughput.
    /// Regression recovers the whole order; the ranking objectives weight the top of the order
    /// (gains 2^grade - 1), so they are held to the order of the top 6 and to no inversions below.
    /// </summary>
    [Theory]
    [InlineData("lgbm-rank", 6)]
    [InlineData("lgbm-reg", 12)]
    [InlineData("fasttree-rank", 6)]
    [InlineData("fasttree-reg", 12)]
    public void A_perfectly_ranked_set_is_ranked_perfectly_on_held_out_points(string kind, int ordered)
    {
        static IEnumerable<CostSample> Grid(int wFrom, int wTo) =>
            from v in Enumerable.Range(0, 12) from w in Enumerable.Range(wFrom, wTo - wFrom) select new CostSample([v, w], v + 4, 0);
        var model = new CostModel(CostModelOptions.Parse(kind), 2);
        model.Fit([.. Grid(0, 5)]);
        Assert.True(model.IsTrained);
        var test = Grid(5, 10).ToList();
        double[] predicted = [.. test.Select(s => model.Predict(s.Features))];
        // The irrelevant feature never splits (no gain on a balanced grid): twins score alike...
        foreach (var group in test.Select((s, i) => (s.Gflops, Score: predicted[i])).GroupBy(p => p.Gflops))
            Assert.Single(group.Select(p => p.Score).Distinct());
        // ...and the throughputs come out in their order.
        double[] byThroughput = [.. test.Select((s, i) => (s.Gflops, Score: predicted[i])).DistinctBy(p => p.Gflops).OrderBy(p => p.Gflops).Select(p => p.Score)];
        Assert.Equal(12, byThroughput.Length);
        string scores = string.Join(", ", byThroughput.Select(x => x.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)));
        for (int i = 1; i < byThroughput.Length; i++)
        {
            Assert.True(byThroughput[i] >= byThroughput[i - 1], $"{kind}: {i + 4} GFLOPS scores below {i + 3}: {scores}");
            if (i >= byThroughput.Length - ordered + 1)
                Assert.True(byThroughput[i] > byThroughput[i - 1], $"{kind}: {i + 4} GFLOPS does not score above {i + 3}: {scores}");
        }
        if (ordered == 12)
            Assert.Equal(1.0, Statistics.Spearman(predicted, [.. test.Select(s => s.Gflops)]), 12);
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
        double[] expected = [.. model.PredictWithMlNet(rows).Select(v => (double)v)];
        double[] actual = [.. rows.Select(r => model.Predict(r))];
        // Half the old |a - e| <= 1e-4 * max(1, |e|) in each term: never looser than it.
        Closeness.AssertClose(expected, actual, atol: 0.5e-4, rtol: 0.5e-4, what: kind);
    }

    [Fact]
    public void Labels_are_throughput_over_the_groups_best_and_rows_are_grouped_by_workload()
    {
        // Group 7: 10, 5, 0 and a negative (failed) throughput over its best 10; group 3: 2 and 8 over 8;
        // group 9 never ran (best 0). Rows keep their order within a group; groups in order of first appearance.
        CostSample S(double gflops, int group) => new([(float)gflops], gflops, group);
        CostSample[] samples = [S(10, 7), S(2, 3), S(5, 7), S(8, 3), S(0, 7), S(-1, 7), S(0, 9), S(0, 9)];
        var regression = new CostModel(CostModelOptions.Parse("lgbm-reg"), 1).TrainingRows(samples);
        Assert.Equal([(1f, 1u), (0.5f, 1u), (0f, 1u), (0f, 1u), (0.25f, 2u), (1f, 2u), (0f, 3u), (0f, 3u)], regression);
        // Ranking: the share in 16 grades, round(15 y): 15, round(7.5) = 8 (to even), 0, 0; round(3.75) = 4, 15; 0, 0.
        var rank = new CostModel(CostModelOptions.Parse("fasttree-rank"), 1).TrainingRows(samples);
        Assert.Equal([(15f, 1u), (8f, 1u), (0f, 1u), (0f, 1u), (4f, 2u), (15f, 2u), (0f, 3u), (0f, 3u)], rank);
    }

    [Fact]
    public void A_workload_of_more_rows_than_a_query_takes_is_cut_into_consecutive_queries()
    {
        // 5001 rows of group 0 then 3 of group 1: queries of 5000 and 1, then group 1's 3.
        var samples = Enumerable.Range(0, 5001).Select(i => new CostSample([i], i, 0)).Concat(Enumerable.Range(0, 3).Select(i => new CostSample([i], i, 1))).ToList();
        var rows = new CostModel(CostModelOptions.Parse("lgbm-rank"), 1).TrainingRows(samples);
        Assert.Equal([(1u, 5000), (2u, 1), (3u, 3)], rows.GroupBy(r => r.Query).Select(g => (g.Key, g.Count())));
        // The labels stay normalized by the whole workload's best (5000), not the query's.
        Assert.Equal(15f, rows[5000].Label);
        Assert.Equal(0f, rows[0].Label);
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
        CostSample[] samples = [.. points.Select(p => new CostSample(features(p), Score(p, 12), 0))];
        Assert.Equal([5000, 5000, 2000], model.TrainingRows(samples).GroupBy(r => r.Query).Select(g => g.Count()));
        model.Fit(samples);
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
        // One sample is too few too; an untrained model scores everything 0.
        model.Fit([new CostSample(features(new Point(0, space.Spaces[0].Decode(0))), 5, 0)]);
        Assert.False(model.IsTrained);
        Assert.Equal(0, model.Predict(features(new Point(0, space.Spaces[0].Decode(1)))));
    }

    [Fact]
    public void Vectors_of_the_wrong_length_are_refused()
    {
        var model = new CostModel(new CostModelOptions(), 3);
        Assert.Throws<ArgumentException>(() => model.Predict(new float[2]));
        Assert.Throws<ArgumentException>(() => model.Fit([new CostSample(new float[3], 1, 0), new CostSample(new float[4], 2, 0)]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CostModel(new CostModelOptions(), 0));
    }

    [Fact]
    public void SpearmanOfKnownOrders()
    {
        Assert.Equal(1, Statistics.Spearman([1, 2, 3, 4], [10, 20, 30, 40]), 9);
        Assert.Equal(-1, Statistics.Spearman([1, 2, 3, 4], [4, 3, 2, 1]), 9);
        // 1 - 6 * sum(d^2) / (n (n^2 - 1)) = 1 - 6 * 4 / 60.
        Assert.Equal(0.6, Statistics.Spearman([1, 2, 3, 4], [2, 1, 4, 3]), 9);
        // Ties get their average rank.
        Assert.Equal(1, Statistics.Spearman([1, 1, 2], [1, 1, 2]), 9);
        Assert.Equal([3.5, 1, 3.5, 2], Statistics.Ranks([3, 1, 3, 2]));
        // x ranks 1.5, 1.5, 3 against y ranks 1, 2, 3: sum of products 1.5, sums of squares 1.5 and 2: 1.5 / sqrt(3).
        Assert.Equal(1.5 / Math.Sqrt(3), Statistics.Spearman([5, 5, 9], [1, 2, 3]), 12);
        // Pearson on the values: x = 1, 2, 3, y = 1, 2, 6: sum of products 5, sums of squares 2 and 14: 5 / sqrt(28).
        Assert.Equal(5 / Math.Sqrt(28), Statistics.Pearson([1, 2, 3], [1, 2, 6]), 12);
        // Degenerate: fewer than two points, or a constant series, correlate 0.
        Assert.Equal(0, Statistics.Spearman([1], [2]));
        Assert.Equal(0, Statistics.Spearman([1, 2, 3], [7, 7, 7]));
        Assert.Throws<ArgumentException>(() => Statistics.Spearman([1, 2], [1]));
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
