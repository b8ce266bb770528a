using AutoKernel.Build.Compare;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Reference;
using static AutoKernel.Build.Tests.Numerics.OrtNumerics;
using Tensor = AutoKernel.Build.Graph.Tensor;

namespace AutoKernel.Build.Tests.Numerics;

/// <summary>
/// int8, uint8, int32 and int64 arithmetic, comparisons, Where, Relu, Clip and Cast against ONNX
/// Runtime: wrap-around (uint8 200 + 100 is 44), truncating division, Python-style Mod, and int8
/// read as signed everywhere (Cast of int8 [-1, -128, 5] used to read 255, 128, 5).
/// </summary>
public class IntegerArithmeticTests
{
    private static NumInput I8(params double[] v) => In(DataType.Int8, [v.Length], v);

    private static NumInput U8(params double[] v) => In(DataType.UInt8, [v.Length], v);

    private static NumInput I32(params double[] v) => In(DataType.Int32, [v.Length], v);

    private static NumInput I64(params double[] v) => In(DataType.Int64, [v.Length], v);

    public static IEnumerable<NumCase> Cases()
    {
        var i8a = I8(127, -128, -7, 7, -1, 100, -100, 0);
        var i8b = I8(1, -1, 2, -2, 3, 100, 100, 5);
        var u8a = U8(200, 255, 0, 7, 128, 1, 250, 3);
        var u8b = U8(100, 1, 0, 2, 128, 255, 10, 3);
        var i32a = I32(int.MaxValue, int.MinValue, -7, 7, -1, 46341, 3, 0);
        var i32b = I32(1, -1, 2, -2, 3, 46341, -3, 5);
        var i64a = I64(long.MaxValue, -7, 7, -1, 3, 0, 9, -9);
        var i64b = I64(1, 2, -2, 3, -3, 5, 4, 4);
        foreach (var (type, a, b) in new[] { ("int8", i8a, i8b), ("uint8", u8a, u8b), ("int32", i32a, i32b), ("int64", i64a, i64b) })
        {
            var t = a.Type;
            // (Sum and Mean are float-only in the spec and in ONNX Runtime; the reference also folds integers.)
            foreach (string op in new[] { "Add", "Sub", "Mul", "Max", "Min" })
                yield return new NumCase($"{op} {type}", op, 14, [a, b], t);
            foreach (string op in new[] { "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual" })
                yield return new NumCase($"{op} {type}", op, 17, [a, b], DataType.Bool);
            yield return new NumCase($"Abs {type}", "Abs", 14, [a], t);
            yield return new NumCase($"Where {type}", "Where", 17, [In(DataType.Bool, [8], 1, 0, 1, 0, 1, 1, 0, 0), a, b], t);
            yield return new NumCase($"Clip {type}", "Clip", 13, [a, In(t, [], 2), In(t, [], 100)], t);
            yield return new NumCase($"Clip {type} min > max", "Clip", 13, [a, In(t, [], 100), In(t, [], 2)], t);
            yield return new NumCase($"Clip {type} 0 to 3", "Clip", 13, [a, In(t, [], 0), In(t, [], 3)], t);
            yield return new NumCase($"Cast {type} to float", "Cast", 13, [a], DataType.Float, x => x.Int("to", (int)DataType.Float));
            yield return new NumCase($"Cast {type} to int64", "Cast", 13, [a], DataType.Int64, x => x.Int("to", (int)DataType.Int64));
            yield return new NumCase($"Cast {type} to int8", "Cast", 13, [a], DataType.Int8, x => x.Int("to", (int)DataType.Int8));
            yield return new NumCase($"Cast {type} to uint8", "Cast", 13, [a], DataType.UInt8, x => x.Int("to", (int)DataType.UInt8));
            yield return new NumCase($"Cast {type} to bool", "Cast", 13, [a], DataType.Bool, x => x.Int("to", (int)DataType.Bool));
            yield return new NumCase($"Cast {type} to double", "Cast", 13, [a], DataType.Double, x => x.Int("to", (int)DataType.Double));
            yield return new NumCase($"Add {type} empty", "Add", 14, [In(t, [0]), In(t, [1], 1)], t);
        }
        // Division: truncation toward zero, no division by zero (undefined in ONNX; the reference reports it).
        yield return new NumCase("Div int8", "Div", 14, [I8(-7, 7, -7, 127, -128, 0), I8(2, -2, -2, 3, 7, 5)], DataType.Int8);
        yield return new NumCase("Div uint8", "Div", 14, [U8(200, 255, 7, 0), U8(3, 16, 7, 9)], DataType.UInt8);
        yield return new NumCase("Div int32", "Div", 14, [I32(-7, 7, -7, int.MinValue), I32(2, -2, -2, 2)], DataType.Int32);
        yield return new NumCase("Div int64", "Div", 14, [I64(-7, 7, -7, 9), I64(2, -2, -2, 2)], DataType.Int64);
        // Mod: fmod = 0 takes the divisor's sign (Python), fmod = 1 the dividend's (C).
        foreach (var (type, a, b) in new[]
        {
            ("int8", I8(-7, 7, -7, 7, 0, -128), I8(3, 3, -3, -3, 5, 3)),
            ("uint8", U8(7, 200, 0, 255), U8(3, 7, 5, 16)),
            ("int32", I32(-7, 7, -7, 7, 0), I32(3, 3, -3, -3, 5)),
            ("int64", I64(-7, 7, -7, 7, 0), I64(3, 3, -3, -3, 5)),
        })
        {
            yield return new NumCase($"Mod {type}", "Mod", 13, [a, b], a.Type);
            yield return new NumCase($"Mod {type} fmod", "Mod", 13, [a, b], a.Type, x => x.Int("fmod", 1));
        }
        foreach (var (type, a) in new[] { ("int8", I8(127, -128, -7, 0)), ("int32", I32(int.MaxValue, int.MinValue, -7, 0)), ("int64", I64(long.MaxValue, -7, 0, 1)) })
        {
            yield return new NumCase($"Neg {type}", "Neg", 13, [a], a.Type);
            if (type != "int64")
                yield return new NumCase($"Relu {type}", "Relu", 14, [a], a.Type);
        }
        // Relu-14 allows int64; ONNX Runtime has no int64 Relu kernel.
        yield return new NumCase("Relu int64", "Relu", 14, [I64(long.MaxValue, -7, 0, 1)], DataType.Int64, Expected: [long.MaxValue, 0, 0, 1]);
        // Float to int8/uint8 within range (out of range is undefined in ONNX).
        yield return new NumCase("Cast float to int8", "Cast", 13, [F(-1.7, 1.7, -128, 127, 0)], DataType.Int8, x => x.Int("to", (int)DataType.Int8));
        yield return new NumCase("Cast float to uint8", "Cast", 13, [F(1.7, 254.9, 0, 3)], DataType.UInt8, x => x.Int("to", (int)DataType.UInt8));
        yield return new NumCase("Cast bool to int8", "Cast", 13, [In(DataType.Bool, [2], 1, 0)], DataType.Int8, x => x.Int("to", (int)DataType.Int8));
    }

    public static TheoryData<string> Names() => [.. Cases().Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public void Reference_matches_onnx_runtime(string name) => Check(Cases().Single(c => c.Name == name));

    [Fact]
    public void Case_names_are_unique() =>
        Assert.Equal(Cases().Count(), Cases().Select(c => c.Name).Distinct().Count());

    [Fact]
    public void Cast_from_int8_reads_signed_values()
    {
        var c = new NumCase("cast", "Cast", 13, [I8(-1, -128, 5)], DataType.Float, x => x.Int("to", (int)DataType.Float));
        var y = RunReference(Model(c), Feeds(c));
        Assert.Equal(new float[] { -1, -128, 5 }, y.Floats);
        Assert.Equal(-124, y.Floats.Sum());
    }

    [Fact]
    public void Integer_division_by_zero_is_one_clear_error()
    {
        foreach (var (a, b) in new[] { (I8(1, 2), I8(1, 0)), (U8(1, 2), U8(0, 1)), (I32(1, 2), I32(1, 0)), (I64(1, 2), I64(0, 1)) })
        {
            foreach (string op in new[] { "Div", "Mod" })
            {
                var c = new NumCase("div0", op, 13, [a, b], a.Type);
                var e = Assert.Throws<ModelException>(() => RunReference(Model(c), Feeds(c)));
                Assert.Contains("divide by zero", e.Message, StringComparison.OrdinalIgnoreCase);
                Assert.Equal(op, e.Node?.OpType);
            }
        }
    }

    [Fact]
    public void Uint8_has_no_neg_or_relu()
    {
        foreach (string op in new[] { "Neg", "Relu" })
        {
            var c = new NumCase("u8", op, 14, [U8(1, 2)], DataType.UInt8);
            Assert.Throws<ModelException>(() => RunReference(Model(c), Feeds(c)));
        }
    }

    /// <summary>
    /// Every element type crosses into and out of ONNX Runtime unchanged (Identity), including the
    /// extremes: int8 used to be handed over as uint8.
    /// </summary>
    [Theory]
    [InlineData(DataType.Float, new double[] { -1.5, 3.25, double.NaN, double.NegativeInfinity })]
    [InlineData(DataType.Double, new double[] { -1.5, 1e300, double.NaN, double.PositiveInfinity })]
    [InlineData(DataType.Int64, new double[] { -1, -9007199254740992, 5, 0 })]
    [InlineData(DataType.Int32, new double[] { -1, int.MinValue, int.MaxValue, 0 })]
    [InlineData(DataType.Int8, new double[] { -1, -128, 127, 5 })]
    [InlineData(DataType.UInt8, new double[] { 255, 128, 0, 5 })]
    [InlineData(DataType.Bool, new double[] { 1, 0, 1, 1 })]
    public void Every_type_round_trips_through_onnx_runtime(DataType type, double[] values)
    {
        var b = new ModelBuilder("identity", 17);
        b.Input("x", type, [2, 2]);
        b.Node("Identity", ["x"], name: "n", output: "y");
        b.Output("y", type);
        var x = TensorOps.FromDoubles(type, [2, 2], values);
        var y = OrtRunner.Run(b.ToBytes(), new Dictionary<string, Tensor> { ["x"] = x })["y"];
        Assert.Equal(type, y.Type);
        Assert.Equal(x.Shape, y.Shape);
        for (int i = 0; i < values.Length; i++)
            Assert.Equal(x.GetDouble(i), y.GetDouble(i));
        // And int8 arithmetic in ONNX Runtime sees the signed values: -1 + -128 wraps to 127.
        if (type == DataType.Int8)
        {
            var c = new NumCase("add", "Add", 14, [I8(-1, -2), I8(-128, 3)], DataType.Int8);
            var sum = OrtRunner.Run(Model(c), Feeds(c))["y"];
            Assert.Equal(new sbyte[] { 127, 1 }, sum.Int8s);
        }
    }

    [Fact]
    public void Comparison_holds_integers_exact_and_types_equal()
    {
        var a = Tensor.FromInt64s([2], [1L << 60, 5]);
        var b = Tensor.FromInt64s([2], [(1L << 60) + 1, 5]);
        var r = TensorComparison.Compare(a, b);
        Assert.False(r.Passed);
        Assert.Equal(1, r.Mismatches);
        Assert.True(TensorComparison.Compare(a, Tensor.FromInt64s([2], [1L << 60, 5])).Passed);
        var i8 = TensorOps.FromDoubles(DataType.Int8, [2], [1, 2]);
        var u8 = TensorOps.FromDoubles(DataType.UInt8, [2], [1, 2]);
        var typed = TensorComparison.Compare(i8, u8);
        Assert.False(typed.Passed);
        Assert.Equal("type int8 differs from expected uint8", typed.ToString());
    }

    [Fact]
    public void Int8_tensors_copy_and_compare_as_signed()
    {
        var t = TensorOps.FromDoubles(DataType.Int8, [3], [-1, -128, 5]);
        var copy = TensorOps.Copy(t);
        Assert.Equal(new sbyte[] { -1, -128, 5 }, copy.Int8s);
        Assert.Equal(-1, t.GetDouble(0));
        Assert.Equal(-128, t.GetInt64(1));
        var u = TensorOps.FromDoubles(DataType.UInt8, [3], [255, 128, 5]);
        Assert.Equal(255, u.GetDouble(0));
        // The comparison sees -1 and 255 as different.
        Assert.False(TensorComparison.Compare(t, u).Passed);
        Assert.True(TensorComparison.Compare(t, TensorOps.Copy(t)).Passed);
    }
}
