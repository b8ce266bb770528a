using AutoKernel.Build.Records;
using AutoKernel.Build.Tuning;
using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Workloads;

namespace AutoKernel.Build.Bench;

/// <summary>How well one cost model ranks the held-out records of one workload.</summary>
/// <param name="Spearman">Rank correlation of predicted scores with measured throughput (0 is chance).</param>
/// <param name="TopRecall">Share of the measured top 10% that the model's top 10% contains (chance: 0.1).</param>
/// <param name="BestShare">Measured throughput of the model's top pick as a share of the held-out best.</param>
public sealed record RankQuality(string Workload, string Model, string Setting, double Spearman, double TopRecall, double BestShare);

/// <summary>
/// Offline evaluation of cost models on measured records: per workload, trained on a random half
/// of its records and scored on the other half ("within"), and trained on the other workloads'
/// records only ("transfer"). This is how the default objective was chosen.
/// </summary>
public static class CostModelBench
{
    public static List<RankQuality> Run(IReadOnlyList<TuningRecord> records, CpuTarget target, IReadOnlyList<string> models, int splits, int seed)
    {
        var byWorkload = records.Where(r => r.Target == target.Description && r.Threads == target.Cores)
            .GroupBy(r => r.WorkloadKey).Where(g => WorkloadKeys.TryParse(g.Key) is not null).ToList();
        // One group per workload, so that the transfer setting normalizes each workload by its own best.
        var samples = byWorkload.Select((g, i) => (g.Key, Samples: TuningJob.HistorySamples(g, target, []).Select(s => s with { Group = i }).ToList()))
            .ToDictionary(p => p.Key, p => p.Samples);
        var results = new List<RankQuality>();
        foreach (var (key, own) in samples)
        {
            if (own.Count < 4)
                continue;
            string name = WorkloadKeys.TryParse(key)!.Shape;
            foreach (string model in models)
            {
                var options = CostModelOptions.Parse(model);
                var random = new Random(seed);
                var within = new List<(double, double, double)>();
                for (int s = 0; s < splits; s++)
                {
                    var shuffled = own.OrderBy(_ => random.Next()).ToList();
                    int half = shuffled.Count / 2;
                    within.Add(Score(options with { Seed = seed + s }, shuffled[..half], shuffled[half..]));
                }
                results.Add(new RankQuality(name, model, "within", Timing.Median([.. within.Select(w => w.Item1)]),
                    Timing.Median([.. within.Select(w => w.Item2)]), Timing.Median([.. within.Select(w => w.Item3)])));
                var others = samples.Where(kv => kv.Key != key).SelectMany(kv => kv.Value).ToList();
                if (others.Count > 0)
                {
                    var (rho, recall, share) = Score(options with { Seed = seed }, others, own);
                    results.Add(new RankQuality(name, model, "transfer", rho, recall, share));
                }
            }
        }
        return results;
    }

    private static (double Rho, double Recall, double BestShare) Score(CostModelOptions options, List<CostSample> train, List<CostSample> test)
    {
        var model = new CostModel(options, test[0].Features.Length);
        model.Fit(train);
        if (!model.IsTrained)
            return (0, 0, 0);
        return Quality([.. test.Select(s => model.Predict(s.Features))], [.. test.Select(s => s.Gflops)]);
    }

    /// <summary>
    /// The metrics of <see cref="RankQuality"/> for predicted scores against measured throughput:
    /// Spearman's rho, the share of the measured top max(1, n/10) among the predicted top as many
    /// (ties in the order of the points), and the measured throughput of the predicted top point
    /// over the measured best (0 when nothing ran).
    /// </summary>
    internal static (double Rho, double Recall, double BestShare) Quality(double[] predicted, double[] measured)
    {
        if (predicted.Length != measured.Length || predicted.Length == 0)
            throw new ArgumentException($"{predicted.Length} predictions for {measured.Length} measurements");
        int k = Math.Max(1, measured.Length / 10);
        var topMeasured = Enumerable.Range(0, measured.Length).OrderByDescending(i => measured[i]).Take(k).ToHashSet();
        var topPredicted = Enumerable.Range(0, measured.Length).OrderByDescending(i => predicted[i]).Take(k).ToList();
        double recall = topPredicted.Count(topMeasured.Contains) / (double)k;
        double share = measured.Max() > 0 ? measured[topPredicted[0]] / measured.Max() : 0;
        return (Statistics.Spearman(predicted, measured), recall, share);
    }
}
