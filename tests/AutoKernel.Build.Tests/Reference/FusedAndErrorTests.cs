using AutoKernel.Build.Graph;
using AutoKernel.Build.Reference;
using static AutoKernel.Build.Tests.Reference.RefTest;
using static AutoKernel.TestSupport.TestData;

namespace AutoKernel.Build.Tests.Reference;

public class FusedAndErrorTests
{
    private static Node Fused(string op, string activation, float alpha = 0, float beta = 0, params NodeAttribute[] attributes)
    {
        var node = Node(op, 4, 1, FusedOps.Domain, attributes);
        node.Set(NodeAttribute.String(FusedOps.ActivationAttribute, activation));
        node.Set(NodeAttribute.Float(FusedOps.AlphaAttribute, alpha));
        node.Set(NodeAttribute.Float(FusedOps.BetaAttribute, beta));
        return node;
    }

    [Fact]
    public void FusedConvEqualsConvAddRelu()
    {
        var x = F([1, 4, 6, 6], RandomFloats(40, 144));
        var w = F([8, 2, 3, 3], RandomFloats(41, 144));
        var b = F([8], RandomFloats(42, 8));
        var residual = F([1, 8, 3, 3], RandomFloats(43, 72));
        NodeAttribute[] conv = [Int("group", 2), Ints("strides", 2, 2), Ints("pads", 1, 1, 1, 1)];
        var unfused = Run("Relu", [Run("Add", [Run("Conv", [x, w, b], conv), residual])]);
        var fused = ReferenceKernels.Run(Fused(FusedOps.FusedConv, "Relu", 0, 0, conv), 17, [x, w, b, residual])[0];
        Assert.Equal(unfused.Shape, fused.Shape);
        Assert.Equal(unfused.Floats, fused.Floats);
        Assert.Contains(unfused.Floats, v => v == 0);
    }

    [Fact]
    public void FusedGemmEqualsGemmClip()
    {
        var a = F([3, 5], RandomFloats(44, 15));
        var bm = F([4, 5], RandomFloats(45, 20));
        var c = F([4], RandomFloats(46, 4));
        NodeAttribute[] gemm = [Int("transB", 1), Float("alpha", 0.5f)];
        var unfused = Run("Clip", 6, [Run("Gemm", [a, bm, c], gemm)], Float("min", -0.2f), Float("max", 0.3f));
        var fused = ReferenceKernels.Run(Fused(FusedOps.FusedGemm, "Clip", -0.2f, 0.3f, gemm), 17, [a, bm, c, null])[0];
        Assert.Equal(unfused.Floats, fused.Floats);
    }

    [Fact]
    public void FusedMatMulEqualsMatMulAddAddLeakyRelu()
    {
        var a = F([2, 3, 4], RandomFloats(47, 24));
        var bm = F([4, 5], RandomFloats(48, 20));
        var bias = F([5], RandomFloats(49, 5));
        var residual = F([2, 3, 5], RandomFloats(50, 30));
        var unfused = Run("LeakyRelu", [Run("Add", [Run("Add", [Run("MatMul", [a, bm]), bias]), residual])], Float("alpha", 0.1f));
        var fused = ReferenceKernels.Run(Fused(FusedOps.FusedMatMul, "LeakyRelu", 0.1f), 17, [a, bm, bias, residual])[0];
        Assert.Equal(unfused.Shape, fused.Shape);
        Assert.Equal(unfused.Floats, fused.Floats);
    }

    [Fact]
    public void FusedResidualMustHaveOutputShape()
    {
        var e = Assert.Throws<ModelException>(() => ReferenceKernels.Run(Fused(FusedOps.FusedMatMul, ""), 17,
            [F([2, 2], 1, 2, 3, 4), F([2, 2], 1, 0, 0, 1), null, F([2], 1, 1)]));
        Assert.Contains("residual", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnsupportedAttributeValue()
    {
        var e = Assert.Throws<ModelException>(() => Run("Pad", 13, [F([2], 1, 2), Vec(1, 1)], Str("mode", "mirror")));
        Assert.Equal("Pad mode 'mirror' is not supported", e.Message);
        Assert.Equal("Pad", e.Node?.OpType);
        Assert.Equal(13, e.Opset);
        var a = Assert.Throws<ModelException>(() => Run("Conv", [F([1, 1, 3, 3], new float[9]), F([1, 1, 2, 2], new float[4])], Str("auto_pad", "SAME_MIDDLE")));
        Assert.Contains("auto_pad", a.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ShapeMismatches()
    {
        var add = Assert.Throws<ModelException>(() => Run("Add", [F([2, 3], new float[6]), F([4], new float[4])]));
        Assert.Equal("Add cannot broadcast [2,3] with [4]", add.Message);
        Assert.Equal(17, add.Opset);
        Assert.NotNull(add.Node);
        var conv = Assert.Throws<ModelException>(() => Run("Conv", [F([1, 3], new float[3]), F([1, 3, 1], new float[3])]));
        Assert.Equal("Conv expects 3-D to 5-D input, got [1,3]", conv.Message);
        var groups = Assert.Throws<ModelException>(() => Run("Conv", [F([1, 4, 3, 3], new float[36]), F([2, 3, 1, 1], new float[6])]));
        Assert.Contains("group", groups.Message, StringComparison.Ordinal);
        var gemm = Assert.Throws<ModelException>(() => Run("Gemm", [F([2, 3], new float[6]), F([2, 3], new float[6])]));
        Assert.Contains("inner dimensions", gemm.Message, StringComparison.Ordinal);
        Assert.Throws<ModelException>(() => Run("Concat", [F([2, 3], new float[6]), F([3, 3], new float[9])], Int("axis", 1)));
        Assert.Throws<ModelException>(() => Run("MatMul", [F([2, 3], new float[6]), F([2, 3], new float[6])]));
        Assert.Throws<ModelException>(() => Run("Add", [F([1], 1), L([1], 1)]));
        Assert.Throws<ModelException>(() => Run("Range", [L([0]), L([0]), L([0])]));
        Assert.Throws<ModelException>(() => Run("Transpose", [F([2, 2], new float[4])], Ints("perm", 0, 0)));
        Assert.Throws<ModelException>(() => Run("Softmax", 13, [F([2], 1, 2)], Int("axis", 1)));
    }

    [Fact]
    public void UnknownOperatorAndDomain()
    {
        var e = Assert.Throws<ModelException>(() => Run("Einsum", [F([1], 1)]));
        Assert.Equal("operator Einsum is not supported", e.Message);
        Assert.False(ReferenceKernels.IsSupported("com.microsoft", "Conv"));
        Assert.True(ReferenceKernels.IsSupported("ai.onnx", "Conv"));
        Assert.True(ReferenceKernels.IsSupported(FusedOps.Domain, FusedOps.FusedConv));
        Assert.False(ReferenceKernels.IsSupported("", FusedOps.FusedConv));
        var ops = ReferenceKernels.SupportedOperators;
        Assert.Equal(ops.Order(StringComparer.Ordinal), ops);
        Assert.Contains("FusedMatMul", ops);
    }

    [Fact]
    public void UnsupportedOptionalOutputsAreRejected()
    {
        var pool = Node("MaxPool", 1, 2, "", Ints("kernel_shape", 1));
        Assert.Throws<ModelException>(() => ReferenceKernels.Run(pool, 13, [F([1, 1, 2], 1, 2)]));
        var bn = Node("BatchNormalization", 5, 3);
        Assert.Throws<ModelException>(() => ReferenceKernels.Run(bn, 13, [F([1, 1], 1), F([1], 1), F([1], 0), F([1], 0), F([1], 1)]));
    }
}
