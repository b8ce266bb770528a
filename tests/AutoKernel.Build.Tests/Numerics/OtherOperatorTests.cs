using AutoKernel.Build.Graph;
using static AutoKernel.Build.Tests.Numerics.OrtNumerics;

namespace AutoKernel.Build.Tests.Numerics;

/// <summary>
/// Special values and empty tensors through the remaining operators (casts, softmax, matrix
/// products, convolution, data movement), against ONNX Runtime.
/// </summary>
public class OtherOperatorTests
{
    private static readonly double[] Special = [NaN, Inf, -Inf, -0.0, 0, 1.5, -2.5, 3];

    public static IEnumerable<NumCase> Cases()
    {
        var s = F(Special);
        yield return new NumCase("Cast float to double", "Cast", 13, [s], DataType.Double, x => x.Int("to", (int)DataType.Double));
        yield return new NumCase("Cast double to float", "Cast", 13, [In(DataType.Double, [4], NaN, Inf, -Inf, 1e300)], DataType.Float, x => x.Int("to", (int)DataType.Float));
        yield return new NumCase("Cast float to bool", "Cast", 13, [s], DataType.Bool, x => x.Int("to", (int)DataType.Bool));
        yield return new NumCase("Cast empty", "Cast", 13, [F([0, 2])], DataType.Int8, x => x.Int("to", (int)DataType.Int8));
        yield return new NumCase("Softmax", "Softmax", 13, [F([2, 4], 1, 2, NaN, 3, 1, Inf, 2, 3)], DataType.Float);
        yield return new NumCase("Softmax -inf", "Softmax", 13, [F([2, 3], -Inf, 0, 1, -Inf, -Inf, 2)], DataType.Float);
        yield return new NumCase("LogSoftmax", "LogSoftmax", 13, [F([2, 3], 1, NaN, 3, -Inf, 0, 1)], DataType.Float);
        yield return new NumCase("Softmax empty", "Softmax", 13, [F([0, 3])], DataType.Float);
        yield return new NumCase("MatMul NaN", "MatMul", 13, [F([2, 2], NaN, 1, 2, 3), F([2, 2], 1, 0, Inf, 1)], DataType.Float);
        yield return new NumCase("MatMul empty inner", "MatMul", 13, [F([2, 0]), F([0, 3])], DataType.Float);
        yield return new NumCase("MatMul empty outer", "MatMul", 13, [F([0, 2]), F([2, 3], 1, 2, 3, 4, 5, 6)], DataType.Float);
        yield return new NumCase("Conv NaN", "Conv", 13, [F([1, 1, 3, 3], 1, 2, 3, 4, NaN, 6, 7, 8, 9), F([1, 1, 2, 2], 1, 1, 1, 1)], DataType.Float);
        yield return new NumCase("Transpose int8", "Transpose", 13, [In(DataType.Int8, [2, 2], -1, -128, 127, 5)], DataType.Int8);
        yield return new NumCase("Transpose uint8", "Transpose", 13, [In(DataType.UInt8, [2, 2], 255, 128, 0, 5)], DataType.UInt8);
        yield return new NumCase("Concat int8", "Concat", 13, [In(DataType.Int8, [2], -1, -128), In(DataType.Int8, [1], 7)], DataType.Int8, x => x.Int("axis", 0));
        yield return new NumCase("Identity int8", "Identity", 13, [In(DataType.Int8, [3], -1, -128, 5)], DataType.Int8);
        yield return new NumCase("GlobalAveragePool empty", "GlobalAveragePool", 13, [F([0, 1, 2, 2])], DataType.Float);
        yield return new NumCase("GlobalMaxPool empty", "GlobalMaxPool", 13, [F([0, 2, 2, 2])], DataType.Float);
        yield return new NumCase("Relu empty batch", "Relu", 13, [F([0, 3, 2])], DataType.Float);
        var nchw = F([1, 2, 2, 2], NaN, 1, Inf, -Inf, 2, 3, -0.0, 4);
        yield return new NumCase("BatchNormalization", "BatchNormalization", 15, [nchw, F([2], 1, 2), F([2], 0, 1), F([2], 0.5, 1), F([2], 1, 4)], DataType.Float);
        yield return new NumCase("InstanceNormalization", "InstanceNormalization", 13, [nchw, F([2], 1, 2), F([2], 0, 1)], DataType.Float);
        yield return new NumCase("InstanceNormalization finite", "InstanceNormalization", 13, [F([1, 2, 2, 2], 1, 2, 3, 4, 5, 5, 5, 5), F([2], 1, 2), F([2], 0, 1)], DataType.Float);
        yield return new NumCase("LayerNormalization", "LayerNormalization", 17, [F([2, 3], 1, NaN, 3, 1, 2, Inf), F([3], 1, 1, 1), F([3], 0, 0, 0)], DataType.Float);
        yield return new NumCase("LRN", "LRN", 13, [nchw], DataType.Float, x => x.Int("size", 3));
        yield return new NumCase("Gemm NaN", "Gemm", 13, [F([2, 2], NaN, 1, 2, 3), F([2, 2], 1, 0, Inf, 1), F([2], 1, -Inf)], DataType.Float);
        yield return new NumCase("ConvTranspose NaN", "ConvTranspose", 13, [F([1, 1, 2, 2], 1, NaN, 3, 4), F([1, 1, 2, 2], 1, 1, 1, 1)], DataType.Float);
        yield return new NumCase("Resize nearest NaN", "Resize", 13, [F([1, 1, 2, 2], NaN, 1, Inf, -Inf), F([0]).Const(), F([4], 1, 1, 2, 2).Const()], DataType.Float, x => x.String("mode", "nearest"));
        yield return new NumCase("Resize linear NaN", "Resize", 13, [F([1, 1, 2, 2], NaN, 1, 2, 3), F([0]).Const(), F([4], 1, 1, 2, 2).Const()], DataType.Float, x => x.String("mode", "linear"));
        yield return new NumCase("Pad NaN value", "Pad", 13, [F([2], 1, 2), In(DataType.Int64, [2], 1, 1).Const(), F([], NaN).Const()], DataType.Float);
        yield return new NumCase("Erf inf", "Erf", 13, [F(Inf, -Inf, NaN, 10, -10)], DataType.Float);
    }

    public static TheoryData<string> Names() => [.. Cases().Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public void Reference_matches_onnx_runtime(string name) => Check(Cases().Single(c => c.Name == name));
}
