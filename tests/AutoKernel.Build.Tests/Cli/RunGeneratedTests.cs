using System.Globalization;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Tests.Support;
using AutoKernel.Build.Zoo;
using AutoKernel.TestSupport;
using Google.Protobuf;

namespace AutoKernel.Build.Tests.Cli;

/// <summary>`autokernel run --engine generated`: the generated model class, built in process, on the run command's inputs.</summary>
public sealed class RunGeneratedTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_zoo_network_generated_without_a_log_matches_onnx_runtime()
    {
        string path = _dir.File("squeezenet.onnx");
        File.WriteAllBytes(path, ModelZoo.Create("squeezenet1_1", imageSize: 64, seed: 3).ToByteArray());

        var run = Support.Cli.Run("run", path, "--engine", "generated", "--threads", "1", "--compare", "ort", "--seed", "5");
        Assert.True(run.ExitCode == 0, run.Out + run.Error);
        var line = Assert.Single(run.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("float[1,1000]", line, StringComparison.Ordinal);
        Assert.Contains("vs ort:", line, StringComparison.Ordinal);
        Assert.EndsWith(" ok", line.TrimEnd(), StringComparison.Ordinal);
        // No log: every task uses its fallback schedule, and says so on stderr.
        var warnings = run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(warnings);
        Assert.All(warnings, w => Assert.StartsWith("warning: conv2d ", w, StringComparison.Ordinal));
        Assert.All(warnings, w => Assert.Contains("fallback configuration", w, StringComparison.Ordinal));

        // The reference executor on the same seeded input: the same sum up to float rounding.
        var reference = Support.Cli.Run("run", path, "--seed", "5");
        Assert.Equal(0, reference.ExitCode);
        AssertClose(Sum(reference.Out), Sum(line));
    }

    [Fact]
    public void With_a_log_the_records_are_used_and_input_files_are_read()
    {
        var (path, loaded) = SaveSmallNet();
        string log = _dir.File("tune.log");
        SyntheticLogs.For(loaded, Targets.CpuTargets.Host(2), log, seed: 4);

        // An input file: the run must use it rather than the seeded values.
        var image = Graphs.RandomFloats(9, 1, 3, 10, 12);
        var proto = TensorProtos.FromTensor(image, "image");
        string input = _dir.File("image.pb");
        File.WriteAllBytes(input, proto.ToByteArray());

        var run = Support.Cli.Run("run", path, "--engine", "generated", "--log", log, "--threads", "2", "--input", input, "--compare", "ort");
        Assert.True(run.ExitCode == 0, run.Out + run.Error);
        Assert.Equal("", run.Error);
        Assert.Contains(" ok", run.Out, StringComparison.Ordinal);

        var seeded = Support.Cli.Run("run", path, "--engine", "generated", "--log", log, "--threads", "2");
        Assert.Equal(0, seeded.ExitCode);
        Assert.NotEqual(Sum(seeded.Out), Sum(run.Out));
        var reference = Support.Cli.Run("run", path, "--input", input);
        AssertClose(Sum(reference.Out), Sum(run.Out));
    }

    [Fact]
    public void A_bad_model_is_a_one_line_error()
    {
        string bad = _dir.File("bad.onnx");
        File.WriteAllText(bad, "this is not an ONNX model");
        var run = Support.Cli.Run("run", bad, "--engine", "generated");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("", run.Out);
        var line = Assert.Single(run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"error: {bad}: ", line, StringComparison.Ordinal);

        var (path, _) = SaveSmallNet();
        var noEngine = Support.Cli.Run("run", path, "--log", _dir.File("tune.log"));
        Assert.Equal(1, noEngine.ExitCode);
        Assert.Equal("error: --log needs --engine generated", noEngine.Error.Trim());

        var unknown = Support.Cli.Run("run", path, "--engine", "tvm");
        Assert.NotEqual(0, unknown.ExitCode);
    }

    /// <summary>Conv+Relu, a 1x1 conv with a residual, Flatten, Gemm: tuned, fixed and transform steps.</summary>
    private (string Path, LoadedModel Loaded) SaveSmallNet()
    {
        string path = _dir.File("small.onnx");
        var model = TestNets.SmallConvNet();
        File.WriteAllBytes(path, model.ToByteArray());
        return (path, Graphs.Prepare(model));
    }

    /// <summary>Two output checksums by the shared closeness rule, within 1e-3 + 1e-3 * |expected|.</summary>
    private static void AssertClose(double expected, double actual) =>
        Closeness.AssertClose([expected], [actual], atol: 1e-3, rtol: 1e-3, what: "output sum");

    private static double Sum(string output)
    {
        int at = output.IndexOf("sum=", StringComparison.Ordinal);
        Assert.True(at >= 0, output);
        string text = output[(at + 4)..].TrimStart().Split(' ')[0];
        return double.Parse(text, CultureInfo.InvariantCulture);
    }
}
