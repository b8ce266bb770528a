using static AutoKernel.Build.Tests.Reference.RefTest;

namespace AutoKernel.Build.Tests.Reference;

public class ReductionTests
{
    private static readonly float[] Data = [1, 2, 3, 4, 5, 6];

    [Fact]
    public void ReduceSumAxesInputFrom13()
    {
        var x = F([2, 3], Data);
        var keep = Run("ReduceSum", 13, [x, Vec(1)]);
        Shape([2, 1], keep);
        Close([6, 15], keep);
        var drop = Run("ReduceSum", 13, [x, Vec(0)], Int("keepdims", 0));
        Shape([3], drop);
        Close([5, 7, 9], drop);
        var all = Run("ReduceSum", 13, [x, null], Int("keepdims", 0));
        Assert.Empty(all.Shape);
        Close([21], all);
        var noop = Run("ReduceSum", 13, [x, Vec()], Int("noop_with_empty_axes", 1));
        Shape([2, 3], noop);
        var old = Run("ReduceSum", 11, [x], Ints("axes", -1));
        Close([6, 15], old);
    }

    [Fact]
    public void OtherReductionsAxesAttributeBefore18()
    {
        var x = F([2, 3], Data);
        Close([2.5f, 3.5f, 4.5f], Run("ReduceMean", 13, [x], Ints("axes", 0)));
        Close([3, 6], Run("ReduceMax", 13, [x], Ints("axes", 1)));
        Close([1, 4], Run("ReduceMin", 13, [x], Ints("axes", 1)));
        Close([6, 120], Run("ReduceProd", 13, [x], Ints("axes", 1)));
        Close([3.5f], Run("ReduceMean", 13, [x]));
    }

    [Fact]
    public void OtherReductionsAxesInputFrom18()
    {
        var x = F([2, 3], Data);
        Close([2.5f, 3.5f, 4.5f], Run("ReduceMean", 18, [x, Vec(0)]));
        Close([4, 5, 6], Run("ReduceMax", 18, [x, Vec(-2)], Int("keepdims", 0)));
        Shape([1, 1], Run("ReduceMin", 18, [x]));
    }

    [Fact]
    public void IntegerReductions()
    {
        var x = L([2, 2], 1L << 40, 3, 5, 7);
        Assert.Equal([(1L << 40) + 3, 12], Run("ReduceSum", 13, [x, Vec(1)], Int("keepdims", 0)).Int64s);
        Assert.Equal([5L, 7], Run("ReduceMax", 13, [L([2, 2], 1, 7, 5, 3)], Ints("axes", 0), Int("keepdims", 0)).Int64s);
    }

    [Fact]
    public void ThreeDMiddleAxis()
    {
        var x = F([2, 2, 2], 1, 2, 3, 4, 5, 6, 7, 8);
        var y = Run("ReduceSum", 13, [x, Vec(1)], Int("keepdims", 0));
        Shape([2, 2], y);
        Close([4, 6, 12, 14], y);
        var z = Run("ReduceMax", 13, [x], Ints("axes", 0, 2));
        Shape([1, 2, 1], z);
        Close([6, 8], z);
    }
}
