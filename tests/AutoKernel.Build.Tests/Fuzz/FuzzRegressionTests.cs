using AutoKernel.Build.Compare;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Tests.Support;

namespace AutoKernel.Build.Tests.Fuzz;

/// <summary>One test per class of fault the fuzzer found and that was fixed, each a minimal model.</summary>
public sealed class FuzzRegressionTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Save(ModelBuilder b, string name = "model.onnx")
    {
        string path = _dir.File(name);
        b.Save(path);
        return path;
    }

    private static string AssertOneLineError(CliResult r, params string[] fragments) => Support.Cli.AssertOneLineError(r, fragments);

    /// <summary>
    /// Fuzz case 20:1092: Resize sizes [1,1048576,5,1048576] (5.5e12 elements) passed shape
    /// inference, and the kernel's int element count wrapped: IndexOutOfRangeException (exit 2).
    /// Now no node may produce a shape with more elements than one array holds.
    /// </summary>
    [Fact]
    public void Resize_output_too_large_for_a_tensor_is_one_error()
    {
        var b = new ModelBuilder("resize_huge", 17);
        string x = b.Input("x", DataType.Float, 1, 2, 4, 4);
        string sizes = b.Initializer("sizes", Tensor.FromInt64s([4], [1, 1048576, 5, 1048576]));
        b.Output(b.Node("Resize", [x, "", "", sizes], a => a.String("mode", "linear"), name: "resize"));
        string path = Save(b);
        AssertOneLineError(Support.Cli.Run("inspect", path), path, "node 'resize' (Resize", "AutoKernel tensors hold at most 2147483591 elements");
        AssertOneLineError(Support.Cli.Run("run", path), path, "node 'resize' (Resize", "AutoKernel tensors hold at most 2147483591 elements");
    }

    /// <summary>The same rule for any operator: Expand of a graph input to 2^32 elements.</summary>
    [Fact]
    public void Expand_to_more_elements_than_a_tensor_holds_is_one_error()
    {
        var b = new ModelBuilder("expand_huge", 17);
        string x = b.Input("x", DataType.Float, 1, 1);
        string shape = b.Initializer("shape", Tensor.FromInt64s([2], [65536, 65536]));
        b.Output(b.Node("Expand", [x, shape], name: "expand"));
        string path = Save(b);
        AssertOneLineError(Support.Cli.Run("inspect", path), path, "node 'expand' (Expand", "AutoKernel tensors hold at most 2147483591 elements");
    }

    /// <summary>
    /// Resize grows one axis and shrinks another: x [1,1,4,65536] to [1,1,65536,1]. Axis by axis in
    /// order, the intermediate [1,1,65536,65536] has 2^32 elements (the int count wrapped:
    /// IndexOutOfRangeException); the shrinking axis now goes first, and the result matches ONNX Runtime.
    /// </summary>
    [Theory]
    [InlineData("nearest")]
    [InlineData("linear")]
    public void Resize_whose_axis_by_axis_intermediate_is_too_large_shrinks_first(string mode)
    {
        var b = new ModelBuilder("resize_grow_shrink", 17);
        string x = b.Input("x", DataType.Float, 1, 1, 4, 65536);
        string sizes = b.Initializer("sizes", Tensor.FromInt64s([4], [1, 1, 65536, 1]));
        b.Output(b.Node("Resize", [x, "", "", sizes], a => a.String("mode", mode), name: "resize"));
        string path = Save(b);
        var loaded = ModelPipeline.Load(path);
        var inputs = InputGenerator.Create(loaded.Optimized, seed: 3);
        var ours = new AutoKernel.Build.Reference.Interpreter(loaded.Optimized).Run(inputs);
        var ort = OrtRunner.Run(path, inputs);
        string output = loaded.Optimized.Outputs[0].Name;
        Assert.Equal([1, 1, 65536, 1], ours[output].Shape);
        var comparison = TensorComparison.Compare(ours[output], ort[output], 1e-5, 1e-6);
        Assert.True(comparison.Passed, comparison.ToString());
    }
}
