using AutoKernel.Build.Graph;
using AutoKernel.Build.Reference;
using static AutoKernel.Build.Tests.Reference.RefTest;

namespace AutoKernel.Build.Tests.Reference;

public class ShapesTests
{
    private static Tensor Iota(params int[] shape)
    {
        int n = shape.Aggregate(1, (a, b) => a * b);
        return F(shape, Enumerable.Range(0, n).Select(i => (float)i).ToArray());
    }

    [Fact]
    public void SliceNegativeStepsAndClamping()
    {
        var x = Iota(5);
        // starts -1, ends -6 (clamped to before the start), step -1: reversed.
        Close([4, 3, 2, 1, 0], Run("Slice", 13, [x, Vec(-1), Vec(-6), Vec(0), Vec(-1)]));
        // step -2 from the (clamped) end.
        Close([4, 2, 0], Run("Slice", 13, [x, Vec(100), Vec(-100), null, Vec(-2)]));
        // positive step 2, end beyond the axis.
        Close([1, 3], Run("Slice", 13, [x, Vec(1), Vec(long.MaxValue), null, Vec(2)]));
        // empty when start is past end.
        Shape([0], Run("Slice", 13, [x, Vec(3), Vec(1)]));
    }

    [Fact]
    public void SliceOnAxesOfMatrix()
    {
        var x = Iota(3, 4);
        var y = Run("Slice", 13, [x, Vec(1, -1), Vec(3, 0), Vec(0, -1), Vec(1, -2)]);
        // rows 1..2, columns 3,1
        Shape([2, 2], y);
        Close([7, 5, 11, 9], y);
        var old = Run("Slice", 9, [x], Ints("starts", 0, 1), Ints("ends", 1, 3), Ints("axes", 0, 1));
        Close([1, 2], old);
    }

    [Fact]
    public void PadModes()
    {
        var x = F([1, 3], 1, 2, 3);
        Close([0, 0, 1, 2, 3, 0], Run("Pad", 13, [x, Vec(0, 2, 0, 1)]));
        Close([9, 9, 1, 2, 3, 9], Run("Pad", 13, [x, Vec(0, 2, 0, 1), Tensor.Scalar(9f)]));
        Close([3, 2, 1, 2, 3, 2], Run("Pad", 13, [x, Vec(0, 2, 0, 1)], Str("mode", "reflect")));
        Close([1, 1, 1, 2, 3, 3], Run("Pad", 13, [x, Vec(0, 2, 0, 1)], Str("mode", "edge")));
        Close([2, 3, 1, 2, 3, 1], Run("Pad", 19, [x, Vec(0, 2, 0, 1)], Str("mode", "wrap")));
        // opset 2-10: pads and value as attributes; negative pads crop.
        Close([5, 1, 2], Run("Pad", 7, [x], Ints("pads", 0, 1, 0, -1), Float("value", 5)));
        // opset 18 axes.
        var y = Run("Pad", 18, [Iota(2, 2), Vec(1, 0), null, Vec(-1)]);
        Shape([2, 3], y);
        Close([0, 0, 1, 0, 2, 3], y);
    }

    [Fact]
    public void PadReflectTooLargeIsRejected()
    {
        var e = Assert.Throws<ModelException>(() => Run("Pad", 13, [F([2], 1, 2), Vec(2, 0)], Str("mode", "reflect")));
        Assert.Equal(13, e.Opset);
    }

    [Fact]
    public void TransposeConcatSplit()
    {
        var t = Run("Transpose", [Iota(2, 3, 4)], Ints("perm", 2, 0, 1));
        Shape([4, 2, 3], t);
        Assert.Equal(1f * 4 * 0 + 1, t.Floats[6]); // t[1,0,0] = x[0,0,1] = 1
        Assert.Equal(13f, t.Floats[1 * 6 + 1 * 3 + 0]); // t[1,1,0] = x[1,0,1] = 13

        var c = Run("Concat", [F([2, 1], 1, 2), F([2, 2], 3, 4, 5, 6)], Int("axis", -1));
        Shape([2, 3], c);
        Close([1, 3, 4, 2, 5, 6], c);

        var node = Node("Split", 2, 2, "", Int("axis", 1));
        var parts = ReferenceKernels.Run(node, 13, [Iota(2, 5), Vec(2, 3)]);
        Close([0, 1, 5, 6], parts[0]);
        Close([2, 3, 4, 7, 8, 9], parts[1]);
        var even = ReferenceKernels.Run(Node("Split", 1, 2, "", Int("axis", 0)), 11, [Iota(4)]);
        Close([2, 3], even[1]);
        var n18 = ReferenceKernels.Run(Node("Split", 1, 3, "", Int("num_outputs", 3)), 18, [Iota(7)]);
        Close([0, 1, 2], n18[0]);
        Close([6], n18[2]);
        var attr = ReferenceKernels.Run(Node("Split", 1, 2, "", Ints("split", 1, 3)), 11, [Iota(4)]);
        Close([1, 2, 3], attr[1]);
    }

    [Fact]
    public void ReshapeSpecialValues()
    {
        var x = Iota(2, 3, 4);
        Shape([2, 12], Run("Reshape", [x, Vec(0, -1)]));
        Shape([4, 3, 2], Run("Reshape", [x, Vec(-1, 3, 2)]));
        Assert.Throws<ModelException>(() => Run("Reshape", [x, Vec(5, -1)]));
        // allowzero: 0 is a real zero dimension.
        Shape([0, 4], Run("Reshape", 14, [Iota(0, 2), Vec(0, 4)], Int("allowzero", 1)));
    }

    [Fact]
    public void SqueezeUnsqueezeOpsetForms()
    {
        var x = Iota(1, 3, 1);
        Shape([3], Run("Squeeze", 11, [x]));
        Shape([3, 1], Run("Squeeze", 11, [x], Ints("axes", 0)));
        Shape([1, 3], Run("Squeeze", 13, [x, Vec(-1)]));
        Shape([1, 1, 3, 1, 1], Run("Unsqueeze", 13, [x, Vec(0, -1)]));
        Shape([1, 3, 1, 1], Run("Unsqueeze", 11, [x], Ints("axes", 2)));
        Assert.Throws<ModelException>(() => Run("Squeeze", 13, [x, Vec(1)]));
    }

    [Fact]
    public void GatherAnyAxisNegativeIndices()
    {
        var x = Iota(3, 4);
        var rows = Run("Gather", [x, L([2], -1, 0)]);
        Shape([2, 4], rows);
        Close([8, 9, 10, 11, 0, 1, 2, 3], rows);
        var cols = Run("Gather", [x, L([2, 1], 3, -4)], Int("axis", 1));
        Shape([3, 2, 1], cols);
        Close([3, 0, 7, 4, 11, 8], cols);
        var scalar = Run("Gather", [L([3], 5, 6, 7), L([], -2)]);
        Assert.Empty(scalar.Shape);
        Assert.Equal(6L, scalar.Int64s[0]);
        Assert.Throws<ModelException>(() => Run("Gather", [x, L([1], 3)]));
    }

    [Fact]
    public void ShapeSizeConstants()
    {
        var x = Iota(2, 3, 4);
        Assert.Equal([2L, 3, 4], Run("Shape", [x]).Int64s);
        Assert.Equal([3L], Run("Shape", 15, [x], Int("start", 1), Int("end", -1)).Int64s);
        Assert.Equal([24L], Run("Size", [x]).Int64s);
        Assert.Equal([1L, 2], Run("Constant", [], Ints("value_ints", 1, 2)).Int64s);
        Close([2.5f], Run("Constant", [], Float("value_float", 2.5f)));
        var cos = Run("ConstantOfShape", [Vec(2, 2)], NodeAttribute.FromTensor("value", L([1], 7)));
        Assert.Equal([7L, 7, 7, 7], cos.Int64s);
        Close([0, 0], Run("ConstantOfShape", [Vec(2)]));
    }

    [Fact]
    public void ExpandTileRange()
    {
        var e = Run("Expand", [F([3, 1], 1, 2, 3), Vec(2, 1, 2)]);
        Shape([2, 3, 2], e);
        Close([1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3], e);
        var t = Run("Tile", [F([2], 1, 2), Vec(3)]);
        Close([1, 2, 1, 2, 1, 2], t);
        Assert.Equal([10L, 7, 4], Run("Range", [L([], 10), L([], 1), L([], -3)]).Int64s);
        Close([0, 0.5f, 1], Run("Range", [Tensor.Scalar(0f), Tensor.Scalar(1.2f), Tensor.Scalar(0.5f)]));
    }

    [Fact]
    public void FlattenAndIdentity()
    {
        Shape([6, 4], Run("Flatten", [Iota(2, 3, 4)], Int("axis", -1)));
        Shape([1, 24], Run("Flatten", [Iota(2, 3, 4)], Int("axis", 0)));
        var d = ReferenceKernels.Run(Node("Dropout", 1, 2), 13, [Iota(2)]);
        Assert.Equal(2, d.Length);
        Assert.All(d[1].Bools, Assert.True);
    }

    [Fact]
    public void DepthToSpaceModes()
    {
        // 1x4x1x2 -> 1x1x2x4 with blocksize 2.
        var x = Iota(1, 4, 1, 2);
        var dcr = Run("DepthToSpace", [x], Int("blocksize", 2));
        Shape([1, 1, 2, 4], dcr);
        // DCR: y[0,0,by, 2*w+bx] = x[0, by*2+bx, 0, w]
        Close([0, 2, 1, 3, 4, 6, 5, 7], dcr);
        var crd = Run("DepthToSpace", [Iota(1, 8, 1, 1)], Int("blocksize", 2), Str("mode", "CRD"));
        Shape([1, 2, 2, 2], crd);
        // CRD: channel = c*4 + by*2 + bx
        Close([0, 1, 2, 3, 4, 5, 6, 7], crd);
        var dcr2 = Run("DepthToSpace", [Iota(1, 8, 1, 1)], Int("blocksize", 2));
        // DCR: channel = (by*2 + bx)*2 + c
        Close([0, 2, 4, 6, 1, 3, 5, 7], dcr2);
        Close(Iota(1, 8, 1, 1), Run("SpaceToDepth", [dcr2], Int("blocksize", 2)));
    }
}
