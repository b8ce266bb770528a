using AutoKernel.Build.Graph;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Onnx.Proto;
using AutoKernel.Build.Tests.Support;
using Google.Protobuf;

namespace AutoKernel.Build.Tests.Limits;

/// <summary>
/// Models of a few hundred bytes that ask for gigabytes (issue 10, memory bombs): each must give one
/// line and exit 1 in `inspect` and `run`, quickly, allocating far less than the bomb (measured on
/// the test's thread, which runs the command in process).
/// </summary>
public sealed class MemoryBombTests : IDisposable
{
    /// <summary>The budget the bombs run under: small, so that a test that failed to refuse stays small too.</summary>
    private const string Limit = "256MiB";

    /// <summary>What a refused bomb may allocate (import, resolve, printing): a tiny share of any bomb here (8 GB or more).</summary>
    private const long MaxAllocated = 64L << 20;

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Save(ModelBuilder b, string name)
    {
        string path = _dir.File(name);
        b.Save(path);
        Assert.True(new FileInfo(path).Length < 1024, "a bomb is a small file");
        return path;
    }

    /// <summary>Runs the command, asserting exit 1, one "error: " line with the fragments, no stack trace, and little allocation.</summary>
    private static string AssertRefused(string[] args, params string[] fragments)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var r = Support.Cli.Run(args);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        string line = Support.Cli.AssertOneLineError(r, fragments);
        Assert.True(allocated < MaxAllocated, $"allocated {allocated} bytes");
        return line;
    }

    private static void AssertRefusedInInspectAndRun(string path, params string[] fragments)
    {
        AssertRefused(["inspect", path, "--memory-limit", Limit], [path, .. fragments]);
        AssertRefused(["run", path, "--memory-limit", Limit], [path, .. fragments]);
    }

    private static ModelBuilder Model(string name) => new(name, 17);

    [Fact]
    public void ConstantOfShape_over_two_billion_elements()
    {
        var b = Model("cos");
        string shape = b.Initializer("shape", Tensor.Vector(2_000_000_000));
        b.Output(b.Node("ConstantOfShape", [shape], name: "fill"));
        string path = Save(b, "cos.onnx");
        AssertRefusedInInspectAndRun(path, "node 'fill' (ConstantOfShape, opset 17)", "float[2000000000]", "needs 8000000000 bytes (7.5 GiB)",
            "more than the memory limit of 268435456 bytes (256.0 MiB)", "--memory-limit");
    }

    [Fact]
    public void Range_over_two_billion_elements()
    {
        var b = Model("range");
        string start = b.Initializer("start", Tensor.Scalar(0L));
        string limit = b.Initializer("limit", Tensor.Scalar(2_000_000_000L));
        string delta = b.Initializer("delta", Tensor.Scalar(1L));
        b.Output(b.Node("Range", [start, limit, delta], name: "count"), DataType.Int64);
        string path = Save(b, "range.onnx");
        AssertRefusedInInspectAndRun(path, "node 'count' (Range, opset 17)", "int64[2000000000]", "needs 16000000000 bytes");
    }

    [Fact]
    public void Expand_to_two_billion_elements()
    {
        var b = Model("expand");
        string one = b.Initializer("one", [1f], 1);
        string shape = b.Initializer("shape", Tensor.Vector(2, 1_000_000_000));
        b.Output(b.Node("Expand", [one, shape], name: "grow"));
        string path = Save(b, "expand.onnx");
        AssertRefusedInInspectAndRun(path, "node 'grow' (Expand, opset 17)", "float[2,1000000000]", "needs 8000000000 bytes");
    }

    [Fact]
    public void Tile_to_two_billion_elements_from_an_input()
    {
        // The input is not constant, so nothing folds: the inferred output alone is over the budget.
        var b = Model("tile");
        string x = b.Input("x", DataType.Float, 2);
        string repeats = b.Initializer("repeats", Tensor.Vector(1_000_000_000));
        b.Output(b.Node("Tile", [x, repeats], name: "copies"));
        string path = Save(b, "tile.onnx");
        AssertRefusedInInspectAndRun(path, "node 'copies' (Tile, opset 17)", "float[2000000000]", "needs 8000000000 bytes");
    }

    [Fact]
    public void Tile_past_what_one_tensor_holds()
    {
        var b = Model("tile-huge");
        string one = b.Initializer("one", [1f, 2f], 2);
        string repeats = b.Initializer("repeats", Tensor.Vector(1_500_000_000));
        b.Output(b.Node("Tile", [one, repeats], name: "copies"));
        string path = Save(b, "tile-huge.onnx");
        AssertRefusedInInspectAndRun(path, "node 'copies' (Tile, opset 17)", "Tile tiled size 3000000000 is not a valid dimension");
    }

    [Fact]
    public void Expand_past_what_one_tensor_holds_under_any_limit()
    {
        var b = Model("expand-huge");
        string one = b.Initializer("one", [1f], 1);
        string shape = b.Initializer("shape", Tensor.Vector(2, 1_100_000_000));
        b.Output(b.Node("Expand", [one, shape], name: "grow"));
        string path = Save(b, "expand-huge.onnx");
        foreach (string command in new[] { "inspect", "run" })
            AssertRefused([command, path, "--memory-limit", "1TiB"], path, "node 'grow' (Expand, opset 17): output '", "float[2,1100000000] has 2200000000 elements; AutoKernel tensors hold at most 2147483591 elements");
    }

    [Fact]
    public void Initializer_declaring_a_billion_floats_over_a_few_hundred_bytes_of_raw_data()
    {
        var b = Model("short-raw");
        var proto = new TensorProto { Name = "w", DataType = (int)DataType.Float, RawData = ByteString.CopyFrom(new byte[400]) };
        proto.Dims.Add(1L << 30);
        string w = b.Initializer(proto);
        b.Output(b.Node("Relu", [w], name: "r"));
        string path = Save(b, "short-raw.onnx");
        // Checked before the memory limit: even with a limit that would allow it, nothing is allocated.
        AssertRefused(["inspect", path, "--memory-limit", "1TiB"], path, "tensor 'w' has 400 bytes of raw_data, expected 4294967296 for 1073741824 float values");
        AssertRefused(["run", path, "--memory-limit", "1TiB"], path, "tensor 'w' has 400 bytes of raw_data");
    }

    [Fact]
    public void Initializer_declaring_a_billion_values_with_a_hundred_typed_values()
    {
        var b = Model("short-typed");
        var proto = new TensorProto { Name = "w", DataType = (int)DataType.Int64 };
        proto.Dims.Add(1 << 15);
        proto.Dims.Add(1 << 15);
        proto.Int64Data.Add(Enumerable.Range(0, 100).Select(i => (long)i));
        string w = b.Initializer(proto);
        b.Output(b.Node("Identity", [w], name: "same"), DataType.Int64);
        string path = Save(b, "short-typed.onnx");
        AssertRefused(["inspect", path, "--memory-limit", "1TiB"], path, "tensor 'w' has 100 values for shape with 1073741824 elements");
    }

    [Fact]
    public void Initializer_declaring_two_to_the_31_elements()
    {
        var b = Model("dims-2^31");
        var proto = new TensorProto { Name = "w", DataType = (int)DataType.UInt8, RawData = ByteString.CopyFrom(new byte[300]) };
        proto.Dims.Add(1L << 16);
        proto.Dims.Add(1L << 15);
        string w = b.Initializer(proto);
        b.Output(b.Node("Identity", [w], name: "same"), DataType.UInt8);
        string path = Save(b, "dims.onnx");
        AssertRefusedInInspectAndRun(path, "tensor 'w' with shape [65536,32768] is too large");

        proto.Dims.Clear();
        proto.Dims.Add(1L << 31);
        path = Save(b, "dim.onnx");
        AssertRefusedInInspectAndRun(path, "tensor 'w' has invalid dimension 2147483648");
    }

    [Fact]
    public void Initializer_larger_than_the_budget()
    {
        var b = Model("big-weight");
        string x = b.Input("x", DataType.Float, 1, 4);
        string w = b.Initializer("w", Graphs.RandomFloats(1, 4, 65536));
        b.Output(b.Node("MatMul", [x, w], name: "mm"));
        string path = _dir.File("big-weight.onnx");
        b.Save(path);
        var line = AssertRefused(["inspect", path, "--memory-limit", "512KiB"], path, "tensor 'w' float[4,65536] needs 1048576 bytes (1.0 MiB), more than the memory limit of 524288 bytes (512.0 KiB)");
        Assert.Contains("AUTOKERNEL_MEMORY_LIMIT", line);
        Assert.Equal(0, Support.Cli.Run("inspect", path, "--memory-limit", "2MiB").ExitCode);
    }

    [Fact]
    public void Relu_on_an_input_larger_than_the_budget()
    {
        var b = Model("relu-big");
        string x = b.Input("x", DataType.Float, 3, 20000, 20000);
        b.Output(b.Node("Relu", [x], name: "relu"));
        string path = Save(b, "relu.onnx");
        AssertRefusedInInspectAndRun(path, "input 'x' float[3,20000,20000] needs 4800000000 bytes (4.5 GiB), more than the memory limit of 268435456 bytes");
    }

    [Fact]
    public void Relu_whose_input_fits_but_not_with_its_output()
    {
        // 12 MB in, 12 MB out, 20 MB allowed: each value and the generated input fit, the step does not.
        var b = Model("relu-step");
        string x = b.Input("x", DataType.Float, 3, 1000, 1000);
        b.Output(b.Node("Relu", [x], name: "relu"));
        string path = Save(b, "relu-step.onnx");
        Assert.Equal(0, Support.Cli.Run("inspect", path, "--memory-limit", "20MB").ExitCode);
        var r = Support.Cli.Run("run", path, "--memory-limit", "20MB");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal(
            $"error: {path}: node 'relu' (Relu, opset 17): running it needs 12000000 bytes (11.4 MiB) for its outputs while 12000000 bytes (11.4 MiB) are held, more than the memory limit of 20000000 bytes (19.1 MiB) (set with --memory-limit or AUTOKERNEL_MEMORY_LIMIT)",
            r.Error.Trim());
        Assert.Equal(0, Support.Cli.Run("run", path, "--memory-limit", "25MB").ExitCode);
    }

    [Fact]
    public void Generated_inputs_and_weights_together_over_the_budget()
    {
        // Each fits on its own (4 MB); the run would hold both (8 MB) before its first node.
        var b = Model("inputs-weights");
        string x = b.Input("x", DataType.Float, 1_000_000);
        string w = b.Initializer("w", Graphs.RandomFloats(2, 1_000_000));
        b.Output(b.Node("Add", [x, w], name: "add"));
        string path = _dir.File("inputs-weights.onnx");
        b.Save(path);
        Assert.Equal(0, Support.Cli.Run("inspect", path, "--memory-limit", "6MB").ExitCode);
        AssertRefused(["run", path, "--memory-limit", "6MB"], path, "the generated inputs (4000000 bytes (3.8 MiB)) and the initializers (4000000 bytes (3.8 MiB)) need 8000000 bytes (7.6 MiB), more than the memory limit of 6000000 bytes");
    }
}
