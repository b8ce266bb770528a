using AutoKernel.Build.Graph;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Onnx.Proto;
using AutoKernel.Build.Tests.Support;
using Google.Protobuf;

namespace AutoKernel.Build.Tests.Cli;

public sealed class CommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Zoo_inspect_and_run_against_onnx_runtime()
    {
        string path = _dir.File("squeezenet.onnx");
        var zoo = Support.Cli.Run("zoo", "squeezenet1_1", "-o", path, "--image-size", "64", "--seed", "3");
        Assert.Equal(0, zoo.ExitCode);
        Assert.Contains("1,235,496 parameters", zoo.Out);
        Assert.Equal([path], Directory.GetFiles(_dir.Path));

        var inspect = Support.Cli.Run("inspect", path);
        Assert.Equal(0, inspect.ExitCode);
        Assert.Contains("fold-batchnorm", inspect.Out);
        Assert.Contains("FusedConv", inspect.Out);
        Assert.Contains("conv2d|data=1x3x64x64|weight=64x3x3x3|stride=2x2", inspect.Out);

        var run = Support.Cli.Run("run", path, "--compare", "ort", "--seed", "5");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("float[1,1000]", run.Out);
        Assert.Contains("vs ort:", run.Out);
        Assert.Contains(" ok", run.Out);
    }

    [Fact]
    public void Run_is_deterministic_per_seed()
    {
        var b = new ModelBuilder("tiny", 17);
        string x = b.Input("x", DataType.Float, 1, 8);
        b.Output(b.Node("Sigmoid", [x], name: "s"));
        string path = _dir.File("tiny.onnx");
        b.Save(path);
        string Run(int seed) => Support.Cli.Run("run", path, "--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture)).Out;
        Assert.Equal(Run(1), Run(1));
        Assert.NotEqual(Run(1), Run(2));
    }

    [Fact]
    public void Compare_fails_with_exit_code_1_beyond_tolerance()
    {
        // Outputs that cannot be bit-identical between the engines: ONNX Runtime's Exp is a vectorized
        // polynomial while the reference rounds the double-precision exp once, and its MatMul sums 1024
        // products with fused multiply-adds (or in another order) while the reference rounds every
        // product and sum in order. Over 4096 exponentials and 64 dot products some bit differs, so a
        // zero tolerance must turn that into a reported failure; the default tolerance must not.
        var b = new ModelBuilder("tight", 17);
        string x = b.Input("x", DataType.Float, 1, 1024);
        string w = b.Initializer("w", Graphs.RandomFloats(4, 1024, 64));
        b.Output(b.Node("Exp", [b.Node("Tile", [x, b.Initializer("reps", Tensor.Vector(4L, 1L))], name: "tile")], name: "exp"));
        b.Output(b.Node("MatMul", [x, w], name: "matmul"));
        string path = _dir.File("tight.onnx");
        b.Save(path);
        var loose = Support.Cli.Run("run", path, "--compare", "ort");
        Assert.Equal(0, loose.ExitCode);
        Assert.Equal(2, loose.Out.Split('\n').Count(l => l.TrimEnd().EndsWith(" ok", StringComparison.Ordinal)));
        var tight = Support.Cli.Run("run", path, "--compare", "ort", "--rtol", "0", "--atol", "0");
        Assert.True(tight.ExitCode == 1, $"exit code {tight.ExitCode}; expected 1 for a zero tolerance:\n{tight.Out}{tight.Error}");
        Assert.Contains("FAIL", tight.Out);
        Assert.DoesNotContain("max abs err 0.00E+000", tight.Out);
    }

    [Fact]
    public void Run_reads_input_tensors_from_pb_files()
    {
        var b = new ModelBuilder("pb", 17);
        string x = b.Input("x", DataType.Float, 2, 2);
        b.Output(b.Node("Neg", [x], name: "neg"));
        string model = _dir.File("neg.onnx");
        b.Save(model);
        string input = _dir.File("input_0.pb");
        File.WriteAllBytes(input, TensorProtos.FromTensor(Tensor.FromFloats([2, 2], [1, 2, 3, 4]), "x").ToByteArray());
        var r = Support.Cli.Run("run", model, "--input", input);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("sum=-1.000000E+001", r.Out);

        File.WriteAllBytes(input, TensorProtos.FromTensor(Tensor.FromFloats([4], [1, 2, 3, 4]), "x").ToByteArray());
        var wrong = Support.Cli.Run("run", model, "--input", input);
        Assert.Equal(1, wrong.ExitCode);
        Assert.Contains("shape mismatch", wrong.Error);
    }

    [Fact]
    public void Unknown_zoo_name_is_rejected_by_the_parser()
    {
        var r = Support.Cli.Run("zoo", "resnet9000", "-o", _dir.File("x.onnx"));
        // System.CommandLine's parse errors exit with 1, as the tool's own errors do.
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("resnet9000", r.Error);
        Assert.False(File.Exists(_dir.File("x.onnx")));
    }
}
