using AutoKernel.Build.Graph;
using static AutoKernel.Build.Tests.Reference.RefTest;

namespace AutoKernel.Build.Tests.Reference;

public class ElementwiseTests
{
    [Fact]
    public void BroadcastingAdd()
    {
        // [2,1,3] + [2,1] -> [2,2,3]
        var y = Run("Add", [F([2, 1, 3], 1, 2, 3, 4, 5, 6), F([2, 1], 10, 20)]);
        Shape([2, 2, 3], y);
        Close([11, 12, 13, 21, 22, 23, 14, 15, 16, 24, 25, 26], y);
    }

    [Fact]
    public void BroadcastingSubAndMulWithScalar()
    {
        var y = Run("Sub", [Tensor.Scalar(10f), F([3], 1, 2, 3)]);
        Close([9, 8, 7], y);
        var m = Run("Mul", [F([2, 2], 1, 2, 3, 4), F([1, 2], 10, 100)]);
        Close([10, 200, 30, 400], m);
    }

    [Fact]
    public void IntegerDivTruncatesTowardZero()
    {
        var y = Run("Div", [L([4], 7, -7, 7, -7), L([4], 2, 2, -2, -2)]);
        Assert.Equal(DataType.Int64, y.Type);
        Assert.Equal([3L, -3, -3, 3], y.Int64s);
        var i32 = Run("Div", [new Tensor(DataType.Int32, [2], new[] { 9, -9 }), new Tensor(DataType.Int32, [], new[] { 4 })]);
        Assert.Equal([2, -2], i32.Int32s);
    }

    [Fact]
    public void IntegerDivisionByZeroIsAModelError()
    {
        var e = Assert.Throws<ModelException>(() => Run("Div", [L([1], 1), L([1], 0)]));
        Assert.Equal("Div", e.Node?.OpType);
    }

    [Fact]
    public void Int64ShapeArithmetic()
    {
        Assert.Equal([5L, 12], Run("Mul", [L([2], 1, 3), L([2], 5, 4)]).Int64s);
        Assert.Equal([-1L, 1], Run("Sub", [L([2], 1, 3), L([], 2)]).Int64s);
        Assert.Equal([8L], Run("Pow", [L([1], 2), L([1], 3)]).Int64s);
        Assert.Equal([1L, 3], Run("Min", [L([2], 1, 7), L([2], 4, 3)]).Int64s);
        Assert.Equal([4L, 7, 9], Run("Max", [L([3], 1, 7, 2), L([1], 4), L([3], 0, 0, 9)]).Int64s);
    }

    [Fact]
    public void VariadicSumMeanBroadcast()
    {
        var s = Run("Sum", [F([2], 1, 2), F([1], 10), F([2, 1], 100, 200)]);
        Shape([2, 2], s);
        Close([111, 112, 211, 212], s);
        var m = Run("Mean", [F([2], 1, 2), F([2], 3, 6)]);
        Close([2, 4], m);
    }

    [Fact]
    public void Comparisons()
    {
        Assert.Equal([true, true, false], Run("Less", [F([3], 1, 2, 3), F([1], 2.5f)]).Bools);
        Assert.Equal([false, false, true], Run("Greater", [F([3], 1, 2, 3), F([1], 2.5f)]).Bools);
        Assert.Equal([false, true], Run("Equal", [L([2], 1, 2), L([2], 2, 2)]).Bools);
        Assert.Equal([true, false], Run("LessOrEqual", [L([2], 2, 3), L([2], 2, 2)]).Bools);
        var p = new Tensor(DataType.Bool, [4], new[] { false, false, true, true });
        var q = new Tensor(DataType.Bool, [4], new[] { false, true, false, true });
        Assert.Equal([false, false, false, true], Run("And", [p, q]).Bools);
        Assert.Equal([false, true, true, true], Run("Or", [p, q]).Bools);
        Assert.Equal([false, true, true, false], Run("Xor", [p, q]).Bools);
        Assert.Equal([true, false], Run("GreaterOrEqual", [new Tensor(DataType.Int32, [2], new[] { 2, 1 }), new Tensor(DataType.Int32, [1], new[] { 2 })]).Bools);
        Assert.Equal([true, false], Run("Equal", [new Tensor(DataType.Double, [2], new[] { 0.5, 1 }), new Tensor(DataType.Double, [], new[] { 0.5 })]).Bools);
        Assert.Equal([true, false], Run("Not", [new Tensor(DataType.Bool, [2], new[] { false, true })]).Bools);
    }

    [Fact]
    public void WhereBroadcasts()
    {
        var cond = new Tensor(DataType.Bool, [2, 1], new[] { true, false });
        var y = Run("Where", [cond, F([2], 1, 2), F([1], -1)]);
        Shape([2, 2], y);
        Close([1, 2, -1, -1], y);
    }

    [Fact]
    public void UnaryMath()
    {
        Close([2, 3], Run("Sqrt", [F([2], 4, 9)]));
        Close([1, (float)Math.E], Run("Exp", [F([2], 0, 1)]));
        Close([0.5f, -0.25f], Run("Reciprocal", [F([2], 2, -4)]));
        Close([-2, 1], Run("Floor", [F([2], -1.5f, 1.5f)]));
        Close([-1, 2], Run("Ceil", [F([2], -1.5f, 1.5f)]));
        Assert.Equal([3L, 3], Run("Abs", [L([2], 3, -3)]).Int64s);
        Close([1.5f, 0], Run("Abs", [F([2], -1.5f, 0)]));
        Assert.Equal([3L, -3], Run("Neg", [L([2], -3, 3)]).Int64s);
    }

    [Theory]
    [InlineData(0.0, 0.0)]
    [InlineData(0.5, 0.5204998778130465)]
    [InlineData(1.0, 0.8427007929497149)]
    [InlineData(-2.0, -0.9953222650189527)]
    [InlineData(3.5, 0.9999992569016276)]
    [InlineData(5.0, 0.9999999999984626)]
    public void ErfMatchesTable(double x, double expected)
    {
        Assert.Equal(expected, AutoKernel.Build.Reference.Elementwise.Erf(x), 14);
    }

    [Fact]
    public void ActivationsFollowOnnxDefaults()
    {
        Close([0, 2], Run("Relu", [F([2], -1, 2)]));
        Assert.Equal([0L, 0, 5], Run("Relu", 14, [L([3], -5, 0, 5)]).Int64s);
        Close([-0.01f, 2], Run("LeakyRelu", [F([2], -1, 2)]));
        Close([-0.5f, 2], Run("LeakyRelu", [F([2], -1, 2)], Float("alpha", 0.5f)));
        Close([0.3f, 0.5f, 0.9f], Run("HardSigmoid", [F([3], -1, 0, 2)]));
        Close([0, 0, 2f * (2f / 6 + 0.5f)], Run("HardSwish", [F([3], -4, 0, 2)]));
        Close([(float)(Math.Exp(-1) - 1), 2], Run("Elu", [F([2], -1, 2)]));
        Close([0.5f, -0.5f], Run("Softsign", [F([2], 1, -1)]));
        Close([(float)Math.Log(2)], Run("Softplus", [F([1], 0)]));
        Close([1f / (1 + (float)Math.Exp(1))], Run("Sigmoid", [F([1], -1)]));
    }

    [Fact]
    public void ClipAttributesBeforeOpset11InputsAfter()
    {
        var x = F([4], -5, -1, 1, 5);
        Close([-2, -1, 1, 2], Run("Clip", 6, [x], Float("min", -2), Float("max", 2)));
        Close([-2, -1, 1, 2], Run("Clip", 11, [x, Tensor.Scalar(-2f), Tensor.Scalar(2f)]));
        Close([-5, -1, 1, 2], Run("Clip", 13, [x, null, Tensor.Scalar(2f)]));
        Assert.Equal([0L, 0, 1, 3], Run("Clip", 13, [L([4], -5, -1, 1, 5), L([], 0), L([], 3)]).Int64s);
    }

    [Fact]
    public void PReluSlopeBroadcastsPerChannel()
    {
        var y = Run("PRelu", [F([1, 2, 2], -1, 2, -3, 4), F([2, 1], 0.5f, 0.1f)]);
        Close([-0.5f, 2, -0.3f, 4], y);
    }

    [Fact]
    public void CastBetweenTypes()
    {
        var f = F([4], 1.7f, -1.7f, 0, 3);
        Assert.Equal([1L, -1, 0, 3], Run("Cast", [f], Int("to", 7)).Int64s);
        Assert.Equal([1, -1, 0, 3], Run("Cast", [f], Int("to", 6)).Int32s);
        Assert.Equal([true, true, false, true], Run("Cast", [f], Int("to", 9)).Bools);
        Assert.Equal([(sbyte)1, (sbyte)-1, (sbyte)0, (sbyte)3], (sbyte[])Run("Cast", [f], Int("to", 3)).Data);
        Assert.Equal([1.0, 0.0], Run("Cast", [new Tensor(DataType.Bool, [2], new[] { true, false })], Int("to", 11)).Doubles);
        Assert.Equal([(byte)200], (byte[])Run("Cast", [L([1], 200)], Int("to", 2)).Data);
        var e = Assert.Throws<ModelException>(() => Run("Cast", [f], Int("to", 10)));
        Assert.Contains("float16", e.Message, StringComparison.Ordinal);
    }
}
