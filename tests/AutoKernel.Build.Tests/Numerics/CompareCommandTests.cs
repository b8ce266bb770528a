using AutoKernel.Build.Graph;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Reference;
using AutoKernel.Build.Tests.Support;
using Google.Protobuf;

namespace AutoKernel.Build.Tests.Numerics;

/// <summary>
/// `autokernel run --compare ort` on int8 and uint8 model inputs: they reach ONNX Runtime with their
/// own type (int8 used to be handed over as uint8, which ONNX Runtime refused), and the Cast of int8
/// [-1, -128, 5] sums to -124 in both engines.
/// </summary>
public class CompareCommandTests
{
    [Theory]
    [InlineData(DataType.Int8, new double[] { -1, -128, 5 }, -124)]
    [InlineData(DataType.UInt8, new double[] { 255, 128, 5 }, 388)]
    public void Small_integer_inputs_compare_with_onnx_runtime(DataType type, double[] values, double sum)
    {
        using var dir = new TempDirectory();
        var b = new ModelBuilder("cast_sum", 13);
        b.Input("x", type, [3]);
        string f = b.Node("Cast", ["x"], a => a.Int("to", (int)DataType.Float), name: "cast");
        b.Node("ReduceSum", [f], a => a.Int("keepdims", 0), name: "sum", output: "y");
        b.Output("y", DataType.Float);
        string model = dir.File("m.onnx");
        b.Save(model);
        string input = dir.File("x.pb");
        File.WriteAllBytes(input, TensorProtos.FromTensor(TensorOps.FromDoubles(type, [3], values), "x").ToByteArray());

        var result = Support.Cli.Run("run", model, "--input", input, "--compare", "ort");
        Assert.True(result.ExitCode == 0, result.Out + result.Error);
        Assert.DoesNotContain("FAIL", result.Out, StringComparison.Ordinal);
        var graph = OnnxImporter.Load(model);
        var y = new Interpreter(ModelPipeline.Prepare(graph).Optimized).Run(new Dictionary<string, Tensor> { ["x"] = TensorOps.FromDoubles(type, [3], values) })["y"];
        Assert.Equal(sum, y.GetDouble(0));
    }
}
