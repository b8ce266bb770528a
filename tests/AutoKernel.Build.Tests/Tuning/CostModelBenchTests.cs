using System.Globalization;
using AutoKernel.Build.Bench;
using AutoKernel.Build.Measure;
using AutoKernel.Build.Records;
using AutoKernel.Build.Targets;
using AutoKernel.Build.Tests.Support;
using AutoKernel.Build.Tuning;
using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Workloads;

namespace AutoKernel.Build.Tests.Tuning;

/// <summary>`autokernel bench-costmodel` and the rank-quality metrics it prints.</summary>
public sealed class CostModelBenchTests
{
    [Fact]
    public void Quality_of_known_predictions()
    {
        // 20 points measured 1..20 GFLOPS; the model's top 10% (2 points) are point 19 (the best) and
        // point 0 (the worst), the others in their true order.
        double[] measured = [.. Enumerable.Range(1, 20).Select(i => (double)i)];
        double[] predicted = [99, .. Enumerable.Range(1, 18).Select(i => (double)i), 100];
        var (rho, recall, share) = CostModelBench.Quality(predicted, measured);
        // Rank differences: 19 - 1 = 18 for point 0, -1 for points 1..18, 0 for point 19:
        // rho = 1 - 6 * (324 + 18) / (20 * 399) = 1 - 2052 / 7980.
        Assert.Equal(1 - 2052.0 / 7980, rho, 12);
        Assert.Equal(0.5, recall);  // of the measured top {19, 18}, only 19
        Assert.Equal(1.0, share);   // the top pick is the best

        // The top pick is point 10 (11 GFLOPS), then 19: recall 1/2, share 11/20.
        predicted = [.. Enumerable.Range(0, 20).Select(i => i == 10 ? 50.0 : i)];
        (_, recall, share) = CostModelBench.Quality(predicted, measured);
        Assert.Equal(0.5, recall);
        Assert.Equal(11.0 / 20, share);

        // 25 points: the top 2 again (25 / 10 rounds down), both found.
        (_, recall, _) = CostModelBench.Quality([.. Enumerable.Range(0, 25).Select(i => (double)i)], [.. Enumerable.Range(0, 25).Select(i => 2.0 * i)]);
        Assert.Equal(1.0, recall);

        // Fewer than 10 points: the top 1; nothing ran: share 0.
        (_, recall, share) = CostModelBench.Quality([3, 2, 1], [1, 2, 3]);
        Assert.Equal(0.0, recall);
        Assert.Equal(1.0 / 3, share);
        (_, _, share) = CostModelBench.Quality([3, 2, 1], [0, 0, 0]);
        Assert.Equal(0.0, share);
        Assert.Throws<ArgumentException>(() => CostModelBench.Quality([1, 2], [1]));
    }

    /// <summary>Records of the first <paramref name="count"/> valid dense configs, with throughput <paramref name="gflops"/>(i) for the i-th.</summary>
    private static List<TuningRecord> Records(DenseWorkload workload, CpuTarget target, int count, Func<int, double> gflops)
    {
        var space = new TaskSpace(workload, target);
        var configs = space.Spaces[0].EnumerateValid().Take(count).ToList();
        Assert.Equal(count, configs.Count);
        return
        [
            .. configs.Select((c, i) =>
            {
                var candidate = TuningJob.CandidateFor(space, new Point(0, c), Epilogue.None);
                double seconds = workload.Flops / (gflops(i) * 1e9);
                return TuningRecord.FromResult(new MeasureResult(candidate, MeasureError.None, [seconds], null, 0, 0), c, target, DateTimeOffset.UnixEpoch);
            }),
        ];
    }

    private static double Cell(string row, int column) => double.Parse(row.Split('|', StringSplitOptions.TrimEntries)[column], CultureInfo.InvariantCulture);

    [Fact]
    public void Prints_a_row_per_workload_and_setting_and_their_means()
    {
        using var dir = new TempDirectory();
        var host = CpuTargets.Host(1);
        var flat = new DenseWorkload(4, 64, 64);    // 24 records, all 1 GFLOPS: nothing to learn within
        var varied = new DenseWorkload(8, 64, 64);  // 24 records of 1..24 GFLOPS
        var few = new DenseWorkload(2, 32, 32);     // 3 records: too few for a row, but training data for the others' transfer
        var elsewhere = new DenseWorkload(16, 64, 64);
        var records = Records(flat, host, 24, _ => 1).Concat(Records(varied, host, 24, i => i + 1)).ToList();
        // Ignored: another machine, another thread count, a workload key this version cannot parse.
        records.AddRange(Records(elsewhere, host with { Description = "another machine" }, 8, i => i + 1));
        records.AddRange(Records(elsewhere, CpuTargets.Host(2), 8, i => i + 1));
        records.AddRange(Records(elsewhere, host, 8, i => i + 1).Select(r => r with { WorkloadKey = "bogus|shape=1" }));
        string main = dir.File("main.log"), second = dir.File("second.log");
        RecordLog.Append(main, records);
        RecordLog.Append(second, Records(few, host, 3, i => 5 * (i + 1)));

        var result = Support.Cli.Run("bench-costmodel", main, second, "--cost-model", "lgbm-reg", "--splits", "2");
        Assert.True(result.ExitCode == 0, result.Error);
        string[] lines = result.Out.Split('\n', StringSplitOptions.TrimEntries);
        Assert.Equal(
        [
            "| workload | model | setting | Spearman | top-10% recall | top pick / best |",
            "|---|---|---|---|---|---|",
        ], lines[..2]);
        // Per workload: within (median of the splits) and transfer (trained on the other workloads).
        Assert.Equal([$"{flat.Shape}|within", $"{flat.Shape}|transfer", $"{varied.Shape}|within", $"{varied.Shape}|transfer"],
            lines[2..6].Select(l => l.Split('|', StringSplitOptions.TrimEntries)).Select(c => $"{c[1]}|{c[3]}"));
        Assert.All(lines[2..6], l => Assert.Equal("lgbm-reg", l.Split('|', StringSplitOptions.TrimEntries)[2]));
        // Constant throughput: no model trains within (all zero); transfer ranks a constant series
        // (rho 0) and any pick is the best.
        Assert.Equal($"| {flat.Shape} | lgbm-reg | within | 0.000 | 0.00 | 0.00 |", lines[2]);
        Assert.Equal(0.0, Cell(lines[3], 4));
        Assert.Equal(1.0, Cell(lines[3], 6));
        foreach (string row in lines[4..6])
        {
            Assert.InRange(Cell(row, 4), -1, 1);
            Assert.InRange(Cell(row, 5), 0, 1);
            Assert.InRange(Cell(row, 6), 1 / 24.0 - 0.005, 1);
        }
        Assert.Equal(["", "| model | setting | mean Spearman | mean top-10% recall | mean top pick / best |", "|---|---|---|---|---|"], lines[6..9]);
        // The means over the two workloads, from the printed (rounded) rows.
        for (int s = 0; s < 2; s++)
        {
            string mean = lines[9 + s];
            Assert.StartsWith(s == 0 ? "| lgbm-reg | within |" : "| lgbm-reg | transfer |", mean);
            for (int column = 3; column <= 5; column++)
                Assert.Equal((Cell(lines[2 + s], column + 1) + Cell(lines[4 + s], column + 1)) / 2, Cell(mean, column), 0.0051);
        }
        Assert.Equal([""], lines[11..]); // the last line's newline
    }
}
