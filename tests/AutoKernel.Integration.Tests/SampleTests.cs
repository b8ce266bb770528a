using AutoKernel.Integration.Tests.Support;

namespace AutoKernel.Integration.Tests;

/// <summary>
/// samples/Resnet18 still builds and runs: with AutoKernelTuning=Off (fallback schedules, seconds
/// instead of the first build's 9 minutes of tuning), and a few timed runs. It builds in place, as
/// a user would; the model it writes and its outputs are ignored by git.
/// </summary>
public sealed class SampleTests(ITestOutputHelper output)
{
    [Fact]
    public void The_resnet18_sample_builds_and_matches_onnx_runtime()
    {
        string project = Path.Combine(Repo.Root, "samples", "Resnet18");
        var build = Dotnet.Run(Repo.Root, ["build", project, "-c", "Release", "-nr:false", "-tl:off", "-p:AutoKernelTuning=Off"], TimeSpan.FromMinutes(10));
        output.WriteLine($"build: {build.Elapsed.TotalSeconds:F1} s");
        build.EnsureSuccess();
        Assert.True(File.Exists(Path.Combine(project, "resnet18.onnx")), "the sample writes its model when it is missing");

        var run = Dotnet.Run(Repo.Root, ["exec", Path.Combine(project, "bin", "Release", "net10.0", "Resnet18.dll"), "--warmup", "2", "--runs", "3"], TimeSpan.FromMinutes(5));
        output.WriteLine(run.Output);
        run.EnsureSuccess();
        Assert.Contains(run.Lines, l => l.StartsWith("Output check against ONNX Runtime", StringComparison.Ordinal) && l.EndsWith(": match", StringComparison.Ordinal));
        Assert.Contains(run.Lines, l => l.StartsWith("AutoKernel    Mean inference time (std dev): ", StringComparison.Ordinal));
        Assert.Contains(run.Lines, l => l.StartsWith("ONNX Runtime  Mean inference time (std dev): ", StringComparison.Ordinal));
    }
}
