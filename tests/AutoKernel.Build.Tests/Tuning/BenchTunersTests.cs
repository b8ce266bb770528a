using AutoKernel.Build.Tests.Support;

namespace AutoKernel.Build.Tests.Tuning;

/// <summary>The tuning-curve summary, on the curves recorded in docs/img (docs/benchmarks.md quotes it).</summary>
public sealed class BenchTunersTests
{
    private static readonly string Csv = Path.Combine(TestPaths.RepoRoot, "docs", "img", "tuning-curves-resnet18.csv");

    [Fact]
    public void SummaryOfTheRecordedCurvesMatchesTheBenchmarksDoc()
    {
        var result = Support.Cli.Run("bench-tuners", "unused.onnx", "--summarize", Csv);
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("| 9 | 196.6 (191.3-196.6) | 179.2 (175.7-179.2) | 175.9 (174.9-196.6) | 20 / 35 | 47 / 143 | 47 / 116 |", result.Out);
        Assert.Contains("xgb: reaches 95% of random's final best after 17% of the budget, 100% after 35%, on average over tasks", result.Out);
        Assert.Contains("ga: reaches 95% of random's final best after 18% of the budget, 100% after 56%, on average over tasks", result.Out);
    }

    [Fact]
    public void AnotherTunerCanBeTheReference()
    {
        var result = Support.Cli.Run("bench-tuners", "unused.onnx", "--summarize", Csv, "--reference", "xgb");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("random: reaches 95% of xgb's final best after", result.Out);
    }

    [Fact]
    public void AnEmptyCsvIsAnError()
    {
        using var dir = new TempDirectory();
        string path = dir.File("empty.csv");
        File.WriteAllText(path, "task,tuner,seed,trial,best_gflops\n");
        var result = Support.Cli.Run("bench-tuners", "unused.onnx", "--summarize", path);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("no curves in the CSV", result.Error);
    }
}
