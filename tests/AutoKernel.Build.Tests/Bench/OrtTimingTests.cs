using AutoKernel.Build.Bench;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Tests.Support;
using AutoKernel.TestSupport;

namespace AutoKernel.Build.Tests.Bench;

/// <summary>ONNX Runtime timed in a child process (`autokernel ort-time`) through <see cref="OrtTiming.Measure"/>.</summary>
public sealed class OrtTimingTests
{
    private static readonly OrtTimingOptions Quick = new() { Warmup = 2, Repeat = 3, MinRepeatMs = 5 };

    /// <summary>Y = Relu(X·W + b), with X [batch, 16] (batch symbolic when <paramref name="dynamic"/>).</summary>
    private static string SaveGemm(TempDirectory dir, bool dynamic = false)
    {
        var random = new Random(2);
        float[] Floats(int n) => TestData.RandomFloats(random, n);
        var b = new ModelBuilder("tiny", 17);
        string x = dynamic ? b.Input("x", DataType.Float, "batch", 16) : b.Input("x", DataType.Float, 2, 16);
        string y = b.Node("Gemm", [x, b.Initializer("w", Floats(16 * 8), 16, 8), b.Initializer("b", Floats(8), 8)], name: "gemm");
        b.Output(b.Node("Relu", [y], name: "relu"));
        string path = dir.File(dynamic ? "dynamic.onnx" : "tiny.onnx");
        b.Save(path);
        return path;
    }

    [Fact]
    public void Times_a_one_node_model_in_a_child_process()
    {
        using var dir = new TempDirectory();
        var result = OrtTiming.Measure(SaveGemm(dir), threads: 1, Quick);

        Assert.Equal(3, result.RepeatSeconds.Length);
        Assert.All(result.RepeatSeconds, s => Assert.InRange(s, 1e-9, 1.0));
        // Calibrated: a run of this model takes microseconds, so a 5 ms repeat needs many of them.
        Assert.True(result.Number > 1, $"{result.Number} runs per repeat of {result.MedianSeconds} s");
        Assert.Equal(1, result.Threads);
        Assert.InRange(result.SessionSeconds, 1e-6, 60);
        Assert.True(result.PeakWorkingSetBytes > 1 << 20, result.PeakWorkingSetBytes.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(result.PeakPrivateBytes > 1 << 20, result.PeakPrivateBytes.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.NotEqual(Environment.ProcessId, result.ProcessId);
    }

    [Fact]
    public void Dynamic_inputs_need_a_shape()
    {
        using var dir = new TempDirectory();
        string path = SaveGemm(dir, dynamic: true);
        var error = Assert.Throws<ModelException>(() => OrtTiming.Measure(path, 1, Quick));
        Assert.Contains("--input-shape x=", error.Describe(), StringComparison.Ordinal);

        var result = OrtTiming.Measure(path, 1, Quick with { InputShapes = new Dictionary<string, int[]> { ["x"] = [4, 16] } });
        Assert.Equal(3, result.RepeatSeconds.Length);

        var wrong = Assert.Throws<ModelException>(() => OrtTiming.Measure(path, 1, Quick with { InputShapes = new Dictionary<string, int[]> { ["y"] = [4, 16] } }));
        Assert.Contains("'y', which is not an input", wrong.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_model_file_is_a_one_line_error_naming_the_file()
    {
        using var dir = new TempDirectory();
        string bad = dir.File("bad.onnx");
        File.WriteAllText(bad, "this is not an ONNX model");
        var error = Assert.Throws<ModelException>(() => OrtTiming.Measure(bad, 1, Quick));
        string text = error.Describe();
        Assert.DoesNotContain('\n', text);
        Assert.Contains(bad, text, StringComparison.Ordinal);
        Assert.Contains("ONNX Runtime cannot load the model", text, StringComparison.Ordinal);

        string missing = dir.File("missing.onnx");
        var notFound = Assert.Throws<ModelException>(() => OrtTiming.Measure(missing, 1, Quick));
        Assert.Equal($"{missing}: model file not found", notFound.Describe());
    }

    [Fact]
    public void The_hidden_command_prints_one_json_line()
    {
        using var dir = new TempDirectory();
        string path = SaveGemm(dir);
        var run = Support.Cli.Run(OrtTiming.CommandName, path, "--threads", "1", "--repeat", "2", "--min-repeat-ms", "1");
        Assert.True(run.ExitCode == 0, run.Error);
        var line = Assert.Single(run.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("{\"repeat_seconds\":[", line, StringComparison.Ordinal);
        var parsed = OrtTiming.Parse(line);
        Assert.Equal(2, parsed.RepeatSeconds.Length);
        Assert.Equal(Environment.ProcessId, parsed.ProcessId);

        var bad = Support.Cli.Run(OrtTiming.CommandName, dir.File("missing.onnx"));
        Assert.Equal(1, bad.ExitCode);
        Assert.Equal("", bad.Out);

        Assert.DoesNotContain(OrtTiming.CommandName, Support.Cli.Run("--help").Out, StringComparison.Ordinal);
    }
}
