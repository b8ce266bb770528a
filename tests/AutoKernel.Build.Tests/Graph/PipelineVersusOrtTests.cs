using AutoKernel.Build.Compare;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Tests.Support;

namespace AutoKernel.Build.Tests.Graph;

/// <summary>Small models through the whole pipeline (shape inference, passes, reference) against ONNX Runtime.</summary>
public sealed class PipelineVersusOrtTests
{
    private static void AssertMatchesOrt(ModelBuilder b)
    {
        byte[] bytes = b.ToBytes();
        var loaded = Graphs.Prepare(b.Build());
        var inputs = InputGenerator.Create(loaded.Optimized, seed: 9);
        var expected = OrtRunner.Run(bytes, inputs);
        var actual = new AutoKernel.Build.Reference.Interpreter(loaded.Optimized).Run(inputs);
        foreach (var o in loaded.Optimized.Outputs)
        {
            Assert.Equal(expected[o.Name].Shape, actual[o.Name].Shape);
            var r = TensorComparison.Compare(actual[o.Name], expected[o.Name]);
            Assert.True(r.Passed, $"{o.Name}: {r}");
        }
    }

    [Fact]
    public void Layer_normalization()
    {
        var b = new ModelBuilder("ln", 17);
        string x = b.Input("x", DataType.Float, 2, 5, 8);
        string scale = b.Initializer("scale", Graphs.RandomFloats(1, 8));
        string bias = b.Initializer("bias", Graphs.RandomFloats(2, 8));
        b.Output(b.Node("LayerNormalization", [x, scale, bias], a => a.Int("axis", -1), name: "ln"));
        AssertMatchesOrt(b);
    }

    [Fact]
    public void Layer_normalization_mean_and_inv_std_dev_as_outputs()
    {
        var b = new ModelBuilder("ln_stats", 17);
        string x = b.Input("x", DataType.Float, 2, 3, 4);
        string scale = b.Initializer("scale", Graphs.RandomFloats(1, 3, 4));
        string[] ln = b.Node("LayerNormalization", [x, scale], 3, a => a.Int("axis", 1), name: "ln");
        b.Output(ln[0]);
        b.Output(ln[1], DataType.Float, [2, 1, 1]);
        b.Output(b.Node("Mul", [ln[2], ln[2]], name: "square"));
        AssertMatchesOrt(b);
    }

    [Fact]
    public void Unread_optional_outputs_are_dropped_so_the_node_lowers()
    {
        var b = new ModelBuilder("ln_unused", 17);
        string x = b.Input("x", DataType.Float, 2, 6);
        string scale = b.Initializer("scale", Graphs.RandomFloats(1, 6));
        string[] ln = b.Node("LayerNormalization", [x, scale], 3, name: "ln");
        b.Output(b.Node("Relu", [ln[0]], name: "relu"));
        var loaded = Graphs.Prepare(b.Build());
        var node = loaded.Optimized.Nodes.Single(n => n.OpType == "LayerNormalization");
        Assert.Equal([ln[0]], node.Outputs);
        Assert.Null(loaded.Optimized.TypeOf(ln[1]));
        Assert.Null(AutoKernel.Build.Lowering.FixedOpLowering.WhyNot(loaded.Optimized, node));
        // The resolved graph keeps what the file says.
        Assert.Equal(3, loaded.Resolved.Nodes.Single(n => n.OpType == "LayerNormalization").Outputs.Count);
        AssertMatchesOrt(b);
    }

    [Fact]
    public void Opset_18_reductions_with_constant_axes_and_arg_max()
    {
        var b = new ModelBuilder("reduce18", 18);
        string x = b.Input("x", DataType.Float, 2, 3, 5);
        string axes = b.Initializer("axes", Tensor.Vector(-1));
        string l2 = b.Node("ReduceL2", [x, axes], name: "l2");
        b.Output(b.Node("Div", [x, l2], name: "normalize"));
        b.Output(b.Node("ReduceLogSumExp", [x, axes], a => a.Int("keepdims", 0), name: "lse"));
        b.Output(b.Node("ReduceSumSquare", [x, b.Node("Constant", [], a => a.Tensor("value", Tensor.Vector(0, 2)), name: "axes_const")], name: "ss"));
        b.Output(b.Node("ReduceL1", [x], name: "l1_all"));
        b.Output(b.Node("ArgMax", [x], a => a.Int("axis", 1).Int("keepdims", 0), name: "argmax"), DataType.Int64);
        AssertMatchesOrt(b);
    }

    [Fact]
    public void Space_to_depth_and_back()
    {
        var b = new ModelBuilder("s2d", 17);
        string x = b.Input("x", DataType.Float, 1, 3, 8, 6);
        string packed = b.Node("SpaceToDepth", [x], a => a.Int("blocksize", 2), name: "s2d");
        b.Output(packed);
        b.Output(b.Node("DepthToSpace", [packed], a => a.Int("blocksize", 2).String("mode", "CRD"), name: "d2s"));
        AssertMatchesOrt(b);
    }

    [Fact]
    public void Logical_and_comparison_operators()
    {
        var b = new ModelBuilder("logic", 17);
        string x = b.Input("x", DataType.Float, 4, 6);
        string y = b.Input("y", DataType.Float, 6);
        string ge = b.Node("GreaterOrEqual", [x, y], name: "ge");
        string le = b.Node("LessOrEqual", [x, y], name: "le");
        string both = b.Node("And", [ge, le], name: "and");
        string either = b.Node("Or", [ge, b.Node("Not", [le], name: "not")], name: "or");
        string one = b.Node("Xor", [both, either], name: "xor");
        b.Output(b.Node("Where", [one, x, y], name: "where"));
        AssertMatchesOrt(b);
    }
}
