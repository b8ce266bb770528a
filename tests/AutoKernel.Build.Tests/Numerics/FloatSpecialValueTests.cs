using AutoKernel.Build.Graph;
using static AutoKernel.Build.Tests.Numerics.OrtNumerics;

namespace AutoKernel.Build.Tests.Numerics;

/// <summary>
/// NaN, ±infinity, -0 and empty tensors through every float operator of the reference executor,
/// against ONNX Runtime on the same single-node model: NaN must propagate wherever ONNX Runtime
/// propagates it (the reference used to turn Relu's NaN into 0).
/// </summary>
public class FloatSpecialValueTests
{
    /// <summary>The special values, and a few ordinary ones around them.</summary>
    private static readonly double[] Special = [NaN, Inf, -Inf, -0.0, 0, 1.5, -2.5, 3, -0.25, 7];

    private static NumInput S() => F(Special);

    private static NumInput Empty(params int[] shape) => F(shape);

    private static readonly string[] Unary =
    [
        "Relu", "Sigmoid", "Tanh", "Softplus", "Softsign", "HardSwish", "Abs", "Neg", "Sqrt", "Exp", "Log",
        "Reciprocal", "Floor", "Ceil", "Erf",
    ];

    public static IEnumerable<NumCase> Cases()
    {
        foreach (string op in Unary)
        {
            yield return new NumCase(op, op, 17, [S()], DataType.Float);
            yield return new NumCase(op + " empty", op, 17, [Empty(2, 0)], DataType.Float);
        }
        yield return new NumCase("LeakyRelu", "LeakyRelu", 17, [S()], DataType.Float, a => a.Float("alpha", 0.1f));
        yield return new NumCase("Elu", "Elu", 17, [S()], DataType.Float, a => a.Float("alpha", 0.5f));
        yield return new NumCase("Selu", "Selu", 17, [S()], DataType.Float);
        yield return new NumCase("HardSigmoid", "HardSigmoid", 17, [S()], DataType.Float, a => a.Float("alpha", 0.3f).Float("beta", 0.4f));
        yield return new NumCase("PRelu", "PRelu", 17, [S(), F([1], 0.5)], DataType.Float);
        yield return new NumCase("PRelu NaN slope", "PRelu", 17, [S(), F([1], NaN)], DataType.Float);

        // Clip: opset 6 attributes, opset 13 inputs, absent bounds, and min > max (every value becomes max).
        yield return new NumCase("Clip-6", "Clip", 6, [S()], DataType.Float, a => a.Float("min", -1).Float("max", 2));
        yield return new NumCase("Clip-6 no bounds", "Clip", 6, [S()], DataType.Float);
        yield return new NumCase("Clip-13", "Clip", 13, [S(), F([], -1), F([], 2)], DataType.Float);
        yield return new NumCase("Clip-13 no bounds", "Clip", 13, [S()], DataType.Float);
        yield return new NumCase("Clip-13 min only", "Clip", 13, [S(), F([], 0.5)], DataType.Float);
        yield return new NumCase("Clip-13 min > max", "Clip", 13, [S(), F([], 2), F([], -1)], DataType.Float);
        yield return new NumCase("Clip-13 empty", "Clip", 13, [Empty(0), F([], -1), F([], 2)], DataType.Float);

        // Binary arithmetic, variadic folds and comparisons, NaN on either side.
        var a = F(NaN, 1, NaN, Inf, -Inf, Inf, 0, -0.0, 2, -3);
        var b = F(1, NaN, NaN, -Inf, 3, Inf, -0.0, 0, 0, 0);
        foreach (string op in new[] { "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean" })
        {
            yield return new NumCase(op, op, 17, [a, b], DataType.Float);
            yield return new NumCase(op + " empty", op, 17, [Empty(0, 3), F([1, 3], 1, NaN, 2)], DataType.Float);
        }
        foreach (string op in new[] { "Max", "Min", "Sum", "Mean" })
        {
            yield return new NumCase(op + " one input", op, 17, [a], DataType.Float);
            yield return new NumCase(op + " three inputs", op, 17, [a, b, F(5, 5, 5, 5, 5, 5, 5, 5, NaN, 5)], DataType.Float);
        }
        foreach (string op in new[] { "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual" })
            yield return new NumCase(op, op, 17, [a, b], DataType.Bool);
        yield return new NumCase("Where", "Where", 17,
            [Numerics.OrtNumerics.In(DataType.Bool, [10], 1, 0, 1, 0, 1, 0, 1, 0, 1, 0), a, b], DataType.Float);
        yield return new NumCase("Mod fmod", "Mod", 17, [F(5.5, -5.5, 5.5, NaN, Inf, 3, 0), F(2, 2, -2, 1, 1, Inf, 0)], DataType.Float,
            x => x.Int("fmod", 1));

        // Pools: NaN first, in the middle, last and alone in a window; infinities; the globals. ONNX
        // Runtime's MaxPool and GlobalMaxPool drop a NaN that is not first in its window (and so
        // disagree with its own Max); the reference propagates NaN as Max does.
        var plane = F([1, 1, 8], NaN, 1, 2, NaN, -Inf, -Inf, 3, Inf);
        yield return new NumCase("MaxPool", "MaxPool", 17, [plane], DataType.Float, x => x.Ints("kernel_shape", 2),
            Expected: [NaN, 2, NaN, NaN, -Inf, 3, Inf], OrtDiffers: true);
        yield return new NumCase("MaxPool strided", "MaxPool", 17, [plane], DataType.Float, x => x.Ints("kernel_shape", 3).Ints("strides", 2).Ints("pads", 1, 1),
            Expected: [NaN, NaN, NaN, Inf], OrtDiffers: true);
        // A window of -inf alone is -inf; ONNX Runtime starts from float.MinValue and answers that.
        yield return new NumCase("MaxPool infinities", "MaxPool", 17, [F([1, 1, 6], -Inf, -Inf, 1, Inf, -0.0, 0)], DataType.Float, x => x.Ints("kernel_shape", 2),
            Expected: [-Inf, 1, Inf, Inf, 0], OrtDiffers: true);
        yield return new NumCase("MaxPool ordinary", "MaxPool", 17, [F([1, 1, 6], -5, -7, 1, Inf, -0.0, 0)], DataType.Float, x => x.Ints("kernel_shape", 2));
        yield return new NumCase("AveragePool", "AveragePool", 17, [plane], DataType.Float, x => x.Ints("kernel_shape", 2));
        yield return new NumCase("AveragePool pads", "AveragePool", 17, [plane], DataType.Float,
            x => x.Ints("kernel_shape", 3).Ints("pads", 1, 1).Int("count_include_pad", 1));
        yield return new NumCase("GlobalMaxPool", "GlobalMaxPool", 17, [F([2, 1, 3], 1, NaN, 2, -Inf, -Inf, -Inf)], DataType.Float,
            Expected: [NaN, -Inf], OrtDiffers: true);
        yield return new NumCase("GlobalMaxPool NaN last", "GlobalMaxPool", 17, [F([1, 1, 3], 1, 2, NaN)], DataType.Float,
            Expected: [NaN], OrtDiffers: true);
        yield return new NumCase("GlobalMaxPool infinities", "GlobalMaxPool", 17, [F([2, 1, 2], -Inf, -Inf, 1, Inf)], DataType.Float,
            Expected: [-Inf, Inf], OrtDiffers: true);
        yield return new NumCase("GlobalMaxPool ordinary", "GlobalMaxPool", 17, [F([2, 1, 2], -3, -4, 1, Inf)], DataType.Float);
        yield return new NumCase("GlobalAveragePool", "GlobalAveragePool", 17, [F([2, 1, 3], 1, NaN, 2, Inf, 1, 1)], DataType.Float);
        yield return new NumCase("MaxPool 2-D", "MaxPool", 17, [F([1, 1, 2, 3], 1, 2, 3, 4, NaN, 6)], DataType.Float, x => x.Ints("kernel_shape", 2, 2),
            Expected: [NaN, NaN], OrtDiffers: true);

        // Reductions (opset 11: axes as an attribute). NaN anywhere in the group wins for Max and Min
        // (ONNX Runtime keeps it only when it comes first); Sum/Mean/Prod follow IEEE.
        var grid = F([2, 4], 1, NaN, 3, -Inf, 4, 2, NaN, 0);
        foreach (string op in new[] { "ReduceSum", "ReduceMean", "ReduceProd" })
        {
            yield return new NumCase(op + " axis 1", op, 11, [grid], DataType.Float, x => x.Ints("axes", 1).Int("keepdims", 0));
            yield return new NumCase(op + " axis 0", op, 11, [grid], DataType.Float, x => x.Ints("axes", 0));
            yield return new NumCase(op + " all", op, 11, [grid], DataType.Float);
        }
        yield return new NumCase("ReduceMax axis 1", "ReduceMax", 11, [grid], DataType.Float, x => x.Ints("axes", 1).Int("keepdims", 0), Expected: [NaN, NaN], OrtDiffers: true);
        yield return new NumCase("ReduceMax axis 0", "ReduceMax", 11, [grid], DataType.Float, x => x.Ints("axes", 0), Expected: [4, NaN, NaN, 0], OrtDiffers: true);
        yield return new NumCase("ReduceMax all", "ReduceMax", 11, [grid], DataType.Float, Expected: [NaN], OrtDiffers: true);
        yield return new NumCase("ReduceMin axis 1", "ReduceMin", 11, [grid], DataType.Float, x => x.Ints("axes", 1).Int("keepdims", 0), Expected: [NaN, NaN], OrtDiffers: true);
        yield return new NumCase("ReduceMin axis 0", "ReduceMin", 11, [grid], DataType.Float, x => x.Ints("axes", 0), Expected: [1, NaN, NaN, -Inf], OrtDiffers: true);
        yield return new NumCase("ReduceMin all", "ReduceMin", 11, [grid], DataType.Float, Expected: [NaN], OrtDiffers: true);
        yield return new NumCase("ReduceMax NaN first", "ReduceMax", 11, [F([1, 3], NaN, 1, 2)], DataType.Float, x => x.Ints("axes", 1));
        yield return new NumCase("ReduceMin infinities", "ReduceMin", 11, [F([2, 2], Inf, Inf, -Inf, 1)], DataType.Float, x => x.Ints("axes", 1));
        // Empty reductions: Sum 0, Prod 1, Max -inf, Min +inf (ReduceMean of nothing is undefined in the spec).
        foreach (string op in new[] { "ReduceSum", "ReduceProd", "ReduceMax", "ReduceMin" })
            yield return new NumCase(op + " of nothing", op, 11, [Empty(2, 0)], DataType.Float, x => x.Ints("axes", 1));
    }

    public static TheoryData<string> Names() => [.. Cases().Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public void Reference_matches_onnx_runtime(string name) => Check(Cases().Single(c => c.Name == name));

    /// <summary>Clip-6 with min &gt; max: ONNX Runtime refuses the model, and so does the reference, in one line.</summary>
    [Fact]
    public void Clip_6_with_min_above_max_is_refused_like_onnx_runtime()
    {
        var c = new NumCase("clip", "Clip", 6, [S()], DataType.Float, a => a.Float("min", 2).Float("max", -1));
        byte[] model = Model(c);
        Assert.Throws<ModelException>(() => AutoKernel.Build.Compare.OrtRunner.Run(model, Feeds(c)));
        var e = Assert.Throws<ModelException>(() => RunReference(model, Feeds(c)));
        Assert.Contains("greater than max", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Case_names_are_unique() =>
        Assert.Equal(Cases().Count(), Cases().Select(c => c.Name).Distinct().Count());
}
