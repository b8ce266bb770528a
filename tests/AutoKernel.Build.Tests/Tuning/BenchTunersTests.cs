using AutoKernel.Build.Tests.Support;

namespace AutoKernel.Build.Tests.Tuning;

/// <summary>The tuning-curve summary of `bench-tuners --summarize`, on curves small enough to summarize by hand.</summary>
public sealed class BenchTunersTests
{
    /// <summary>
    /// Two tuners ("a" and the reference, "random"), a budget of 5 trials, task 2 (one seed) before
    /// task 1 (three seeds) in the file. The best-so-far per trial:
    /// <code>
    /// task 1 random seed 0: 10 20 30 40 40    task 1 a seed 0: 40 40 40 40 40
    ///               seed 1:  5  5 50 50 50                seed 1: 39 41 41 41 41
    ///               seed 2: 30 30 30 30 30                seed 2:  1  2  3  4 100
    /// task 2 random seed 0: 10 10 10 10 10    task 2 a seed 0:  1  2  3  4 9.6
    /// </code>
    /// </summary>
    private static string WriteCurves(TempDirectory dir)
    {
        var curves = new (int Task, string Tuner, int Seed, double[] Best)[]
        {
            (2, "a", 0, [1, 2, 3, 4, 9.6]),
            (2, "random", 0, [10, 10, 10, 10, 10]),
            (1, "a", 0, [40, 40, 40, 40, 40]),
            (1, "a", 1, [39, 41, 41, 41, 41]),
            (1, "a", 2, [1, 2, 3, 4, 100]),
            (1, "random", 0, [10, 20, 30, 40, 40]),
            (1, "random", 1, [5, 5, 50, 50, 50]),
            (1, "random", 2, [30, 30, 30, 30, 30]),
        };
        string path = dir.File("curves.csv");
        File.WriteAllLines(path, ["task,tuner,seed,trial,best_gflops", .. curves.SelectMany(c => c.Best.Select((b, i) => FormattableString.Invariant($"{c.Task},{c.Tuner},{c.Seed},{i + 1},{b}")))]);
        return path;
    }

    [Fact]
    public void Summary_of_hand_made_curves()
    {
        using var dir = new TempDirectory();
        var result = Support.Cli.Run("bench-tuners", "unused.onnx", "--summarize", WriteCurves(dir));
        Assert.True(result.ExitCode == 0, result.Error);
        // Task 1: random's finals 40, 50, 30 (median 40); a's 40, 41, 100 (median 41). Goal 40, 95% of it 38.
        //   random reaches 38 at trials 4, 3, never (counted 6): median 4; reaches 40 at 4, 3, never: median 4.
        //   a reaches 38 at trials 1, 1, 5: median 1; reaches 40 at 1, 2, 5: median 2.
        // Task 2: goal 10, 95% of it 9.5. random reaches both at trial 1; a reaches 9.5 at 5, 10 never.
        // Shares of the budget (a median never reached counts 5 of 5): a 95%: (1/5 + 5/5) / 2 = 60%,
        // 100%: (2/5 + 5/5) / 2 = 70%; random 95% and 100%: (4/5 + 1/5) / 2 = 50%.
        string[] expected =
        [
            "",
            "final best GFLOPS, median over seeds (min-max); trials to reach 95% / 100% of random's median final best, median over seeds (- = not reached)",
            "| task | a best | random best | a to 95% / 100% | random to 95% / 100% |",
            "|---|---|---|---|---|",
            "| 1 | 41.0 (40.0-100.0) | 40.0 (30.0-50.0) | 1 / 2 | 4 / 4 |",
            "| 2 | 9.6 (9.6-9.6) | 10.0 (10.0-10.0) | 5 / - | 1 / 1 |",
            "a: reaches 95% of random's final best after 60% of the budget, 100% after 70%, on average over tasks",
            "random: reaches 95% of random's final best after 50% of the budget, 100% after 50%, on average over tasks",
            "",
        ];
        Assert.Equal(expected, result.Out.Split('\n', StringSplitOptions.TrimEntries));
    }

    [Fact]
    public void Another_tuner_can_be_the_reference()
    {
        using var dir = new TempDirectory();
        var result = Support.Cli.Run("bench-tuners", "unused.onnx", "--summarize", WriteCurves(dir), "--reference", "ga");
        Assert.True(result.ExitCode == 0, result.Error);
        // No "ga" curves: nothing to reach, so every reach column is "-" and there are no averages.
        string[] lines = result.Out.Split('\n', StringSplitOptions.TrimEntries);
        Assert.Contains("of ga's median final best", lines[1]);
        Assert.Equal("| 1 | 41.0 (40.0-100.0) | 40.0 (30.0-50.0) | - | - |", lines[4]);
        Assert.Equal("| 2 | 9.6 (9.6-9.6) | 10.0 (10.0-10.0) | - | - |", lines[5]);
        Assert.Equal([""], lines[6..]);
    }

    [Fact]
    public void The_goal_is_the_reference_tuners_median_final_best()
    {
        using var dir = new TempDirectory();
        var result = Support.Cli.Run("bench-tuners", "unused.onnx", "--summarize", WriteCurves(dir), "--reference", "xgb");
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.DoesNotContain("reaches", result.Out);

        // With "a" renamed "xgb", the reference: task 1's goal is a's median final 41 (95%: 38.95);
        // random reaches 38.95 at 4, 3, never: 4; 41 at never, 3, never: never. Task 2's goal 9.6
        // (95%: 9.12): random reaches both at trial 1. xgb: 38.95 at 1, 1, 5: 1; 41 at 5, 2, 5: 5;
        // 9.12 and 9.6 at trial 5 of task 2.
        string renamed = dir.File("renamed.csv");
        File.WriteAllLines(renamed, File.ReadAllLines(WriteCurves(dir)).Select(l => l.Replace(",a,", ",xgb,", StringComparison.Ordinal)));
        result = Support.Cli.Run("bench-tuners", "unused.onnx", "--summarize", renamed, "--reference", "xgb");
        string[] lines = result.Out.Split('\n', StringSplitOptions.TrimEntries);
        Assert.Equal("| 1 | 41.0 (40.0-100.0) | 40.0 (30.0-50.0) | 1 / 5 | 4 / - |", lines[4]);
        Assert.Equal("| 2 | 9.6 (9.6-9.6) | 10.0 (10.0-10.0) | 5 / 5 | 1 / 1 |", lines[5]);
        // xgb: (1/5 + 5/5) / 2 = 60%, (5/5 + 5/5) / 2 = 100%; random: (4/5 + 1/5) / 2 = 50%, (5/5 + 1/5) / 2 = 60%.
        Assert.Equal("xgb: reaches 95% of xgb's final best after 60% of the budget, 100% after 100%, on average over tasks", lines[6]);
        Assert.Equal("random: reaches 95% of xgb's final best after 50% of the budget, 100% after 60%, on average over tasks", lines[7]);
    }

    /// <summary>docs/benchmarks.md quotes the summary of the recorded curves: every task row it prints is in the doc.</summary>
    [Fact]
    public void The_benchmarks_doc_quotes_the_summary_of_the_recorded_curves()
    {
        string csv = Path.Combine(TestPaths.RepoRoot, "docs", "img", "tuning-curves-resnet18.csv");
        var result = Support.Cli.Run("bench-tuners", "unused.onnx", "--summarize", csv);
        Assert.True(result.ExitCode == 0, result.Error);
        string[] rows = [.. result.Out.Split('\n', StringSplitOptions.TrimEntries).Where(l => l.Length > 2 && l[0] == '|' && char.IsAsciiDigit(l[2]))];
        Assert.Equal(11, rows.Length);
        string doc = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", "benchmarks.md"));
        Assert.All(rows, row => Assert.True(doc.Contains(row, StringComparison.Ordinal), $"docs/benchmarks.md does not quote: {row}"));
    }

    [Fact]
    public void AnEmptyCsvIsAnError()
    {
        using var dir = new TempDirectory();
        string path = dir.File("empty.csv");
        File.WriteAllText(path, "task,tuner,seed,trial,best_gflops\n");
        var result = Support.Cli.Run("bench-tuners", "unused.onnx", "--summarize", path);
        Support.Cli.AssertOneLineError(result, "no curves in the CSV");
    }
}
