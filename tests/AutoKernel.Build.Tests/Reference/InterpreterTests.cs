using AutoKernel.Build.Graph;
using AutoKernel.Build.Reference;
using static AutoKernel.Build.Tests.Reference.RefTest;
using static AutoKernel.TestSupport.TestData;

namespace AutoKernel.Build.Tests.Reference;

public class InterpreterTests
{
    /// <summary>x -> Conv -> Relu -> GlobalAveragePool -> Reshape(shape computed from Shape/Gather/Concat) -> Gemm.</summary>
    private static ModelGraph SmallNet()
    {
        var g = new ModelGraph { Name = "small" };
        g.Opsets[""] = 13;
        g.Inputs.Add(new GraphValue("x", new TensorType(DataType.Float, [1, 2, 5, 5])));
        g.Outputs.Add(new GraphValue("y", new TensorType(DataType.Float, [1, 3])));
        g.Initializers["w"] = F([4, 2, 3, 3], RandomFloats(60, 72));
        g.Initializers["b"] = F([4], RandomFloats(61, 4));
        g.Initializers["fc"] = F([3, 4], RandomFloats(62, 12));
        g.Initializers["fcb"] = F([3], RandomFloats(63, 3));
        g.Initializers["zero"] = L([], 0);
        g.Initializers["minus1"] = L([1], -1);
        var conv = new Node("conv", "Conv", ["x", "w", "b"], ["c"]).Set(Ints("pads", 1, 1, 1, 1));
        g.Nodes.Add(conv);
        g.Nodes.Add(new Node("relu", "Relu", ["c"], ["r"]));
        g.Nodes.Add(new Node("gap", "GlobalAveragePool", ["r"], ["p"]));
        g.Nodes.Add(new Node("shape", "Shape", ["p"], ["s"]));
        g.Nodes.Add(new Node("gather", "Gather", ["s", "zero"], ["n"]));
        g.Nodes.Add(new Node("unsq", "Unsqueeze", ["n", "zero"], ["n1"]));
        g.Nodes.Add(new Node("cat", "Concat", ["n1", "minus1"], ["target"]).Set(Int("axis", 0)));
        g.Nodes.Add(new Node("reshape", "Reshape", ["p", "target"], ["flat"]));
        g.Nodes.Add(new Node("fc", "Gemm", ["flat", "fc", "fcb"], ["y"]).Set(Int("transB", 1)));
        return g;
    }

    [Fact]
    public void RunsGraphLikeChainedKernels()
    {
        var g = SmallNet();
        var x = F([1, 2, 5, 5], RandomFloats(64, 50));
        var y = new Interpreter(g).Run(new Dictionary<string, Tensor> { ["x"] = x })["y"];
        var c = Run("Conv", 13, [x, g.Initializers["w"], g.Initializers["b"]], Ints("pads", 1, 1, 1, 1));
        var p = Run("GlobalAveragePool", [Run("Relu", [c])]);
        var expected = Run("Gemm", [p.Reshape([1, 4]), g.Initializers["fc"], g.Initializers["fcb"]], Int("transB", 1));
        Shape([1, 3], y);
        Assert.Equal(expected.Floats, y.Floats);
    }

    [Fact]
    public void ReportsMissingAndMistypedInputs()
    {
        var g = SmallNet();
        var interp = new Interpreter(g);
        Assert.Throws<ModelException>(() => interp.Run(new Dictionary<string, Tensor>()));
        Assert.Throws<ModelException>(() => interp.Run(new Dictionary<string, Tensor> { ["x"] = F([1, 2, 4, 4], new float[32]) }));
        Assert.Throws<ModelException>(() => interp.Run(new Dictionary<string, Tensor> { ["x"] = F([1, 2, 5, 5], new float[50]), ["other"] = F([1], 1) }));
    }

    [Fact]
    public void NodeErrorsCarryNodeAndOpset()
    {
        var g = SmallNet();
        g.Nodes[0].Set(Str("auto_pad", "bogus"));
        var e = Assert.Throws<ModelException>(() => new Interpreter(g).Run(new Dictionary<string, Tensor> { ["x"] = F([1, 2, 5, 5], new float[50]) }));
        Assert.Equal("conv", e.Node?.Name);
        Assert.Equal(13, e.Opset);
    }
}
