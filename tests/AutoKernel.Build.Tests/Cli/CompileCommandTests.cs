using AutoKernel.Build.Graph;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Tests.Support;
using AutoKernel.Generator.Plans;

namespace AutoKernel.Build.Tests.Cli;

/// <summary>`autokernel compile`: the two files, the report, and one-line errors that leave nothing half-written.</summary>
public sealed class CompileCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Writes_the_plan_and_the_weights_and_reports()
    {
        string model = _dir.File("small.onnx");
        File.WriteAllBytes(model, Google.Protobuf.MessageExtensions.ToByteArray(TestNets.SmallConvNet()));
        var result = Support.Cli.Run("compile", model, "-o", _dir.File("out"), "--threads", "2");
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("steps: ", result.Out, StringComparison.Ordinal);
        Assert.Contains("arena: ", result.Out, StringComparison.Ordinal);
        Assert.Equal(3, result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.StartsWith("warning: ", StringComparison.Ordinal) && l.Contains("fallback", StringComparison.Ordinal)));
        var plan = PlanFormat.Parse(File.ReadAllText(_dir.File("out/small" + PlanFormat.FileSuffix)));
        Assert.Equal(plan.Weights.Bytes + 64, new FileInfo(_dir.File("out/small.weights")).Length);
        Assert.Equal(2, plan.Target.Threads);
    }

    [Fact]
    public void A_node_that_cannot_be_compiled_is_one_line_naming_file_node_and_op_and_writes_nothing()
    {
        // Where with a condition computed at run time: a bool tensor, which generated kernels do not carry.
        var b = new ModelBuilder("where");
        string x = b.Input("x", DataType.Float, 2, 3);
        string zero = b.Initializer("zero", Tensor.Scalar(0f));
        string positive = b.Node("Greater", [x, zero], name: "is_positive");
        b.Output(b.Node("Where", [positive, x, zero], name: "select"));
        string model = _dir.File("where.onnx");
        b.Save(model);

        var result = Support.Cli.Run("compile", model, "-o", _dir.File("out"));
        Assert.Equal(1, result.ExitCode);
        string line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains("where.onnx", line, StringComparison.Ordinal);
        Assert.Contains("'is_positive' (Greater", line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_dir.File("out")) && Directory.EnumerateFileSystemEntries(_dir.File("out")).Any(), "compile left files behind");
    }

    [Fact]
    public void A_broken_log_is_one_line_naming_the_log()
    {
        string model = _dir.File("small.onnx");
        File.WriteAllBytes(model, Google.Protobuf.MessageExtensions.ToByteArray(TestNets.SmallConvNet()));
        File.WriteAllText(_dir.File("bad.log"), "{\"version\": 1, \"this is\": \"not a record\"}\n");
        var result = Support.Cli.Run("compile", model, "--log", _dir.File("bad.log"), "-o", _dir.File("out"));
        Assert.Equal(1, result.ExitCode);
        string line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("bad.log", line, StringComparison.Ordinal);
        Assert.False(File.Exists(_dir.File("out/small" + PlanFormat.FileSuffix)));
    }
}
