using System.Numerics;
using AutoKernel.Build.Graph;

namespace AutoKernel.Build.Reference;

/// <summary>A binary arithmetic rule over any numeric element type.</summary>
internal interface IArithmetic
{
    static abstract T Apply<T>(T a, T b) where T : INumber<T>;
}

/// <summary>A binary comparison rule over any numeric element type.</summary>
internal interface IComparison
{
    static abstract bool Apply<T>(T a, T b) where T : INumber<T>;
}

/// <summary>
/// Elementwise operators: broadcasting binary arithmetic and comparisons, unary math, the
/// activations (which use <see cref="Activations"/> for float so that fused epilogues match bit for
/// bit), variadic Sum/Min/Max/Mean, Where, logical ops and Cast.
/// </summary>
internal static class Elementwise
{
    private struct AddOp : IArithmetic { public static T Apply<T>(T a, T b) where T : INumber<T> => a + b; }
    private struct SubOp : IArithmetic { public static T Apply<T>(T a, T b) where T : INumber<T> => a - b; }
    private struct MulOp : IArithmetic { public static T Apply<T>(T a, T b) where T : INumber<T> => a * b; }

    /// <summary>
    /// Integer division truncates toward zero, as in C (and ONNX Runtime); int8/uint8 wrap
    /// (-128 / -1 is -128). An integer division by zero is an error (ArithmeticException, reported
    /// by <see cref="ReferenceKernels.Run"/> as a one-line model error); ONNX leaves it undefined.
    /// </summary>
    private struct DivOp : IArithmetic { public static T Apply<T>(T a, T b) where T : INumber<T> => a / b; }

    /// <summary>
    /// Mod with fmod = 0: the integer remainder with the sign of the divisor (Python's %), as
    /// ONNX Runtime computes it.
    /// </summary>
    private struct ModOp : IArithmetic
    {
        public static T Apply<T>(T a, T b) where T : INumber<T>
        {
            T r = a % b;
            return r != T.Zero && (T.IsNegative(r) != T.IsNegative(b)) ? r + b : r;
        }
    }

    /// <summary>Mod with fmod = 1: C's fmod, the remainder with the sign of the dividend.</summary>
    private struct FModOp : IArithmetic { public static T Apply<T>(T a, T b) where T : INumber<T> => a % b; }
    private struct MinOp : IArithmetic { public static T Apply<T>(T a, T b) where T : INumber<T> => T.Min(a, b); }
    private struct MaxOp : IArithmetic { public static T Apply<T>(T a, T b) where T : INumber<T> => T.Max(a, b); }
    private struct PReluOp : IArithmetic { public static T Apply<T>(T a, T b) where T : INumber<T> => a < T.Zero ? a * b : a; }

    private struct EqualOp : IComparison { public static bool Apply<T>(T a, T b) where T : INumber<T> => a == b; }
    private struct LessOp : IComparison { public static bool Apply<T>(T a, T b) where T : INumber<T> => a < b; }
    private struct GreaterOp : IComparison { public static bool Apply<T>(T a, T b) where T : INumber<T> => a > b; }
    private struct LessOrEqualOp : IComparison { public static bool Apply<T>(T a, T b) where T : INumber<T> => a <= b; }
    private struct GreaterOrEqualOp : IComparison { public static bool Apply<T>(T a, T b) where T : INumber<T> => a >= b; }

    public static Tensor[] Add(OpContext c) => [Arithmetic<AddOp>(c, c.Input(0), c.Input(1))];
    public static Tensor[] Sub(OpContext c) => [Arithmetic<SubOp>(c, c.Input(0), c.Input(1))];
    public static Tensor[] Mul(OpContext c) => [Arithmetic<MulOp>(c, c.Input(0), c.Input(1))];
    public static Tensor[] Div(OpContext c) => [Arithmetic<DivOp>(c, c.Input(0), c.Input(1))];

    public static Tensor[] Mod(OpContext c)
    {
        var a = c.Input(0, TensorOps.Arithmetic);
        bool fmod = c.Int("fmod", 0) switch
        {
            0 => false,
            1 => true,
            var v => throw c.Fail($"Mod attribute 'fmod' must be 0 or 1, got {v}"),
        };
        if (!fmod && a.Type.IsFloatingPoint())
            throw c.Fail($"Mod of {a.Type.Name()} needs fmod = 1");
        return [fmod ? Arithmetic<FModOp>(c, a, c.Input(1)) : Arithmetic<ModOp>(c, a, c.Input(1))];
    }
    public static Tensor[] Equal(OpContext c) => [Compare<EqualOp>(c, c.Input(0), c.Input(1))];
    public static Tensor[] Less(OpContext c) => [Compare<LessOp>(c, c.Input(0), c.Input(1))];
    public static Tensor[] Greater(OpContext c) => [Compare<GreaterOp>(c, c.Input(0), c.Input(1))];
    public static Tensor[] LessOrEqual(OpContext c) => [Compare<LessOrEqualOp>(c, c.Input(0), c.Input(1))];
    public static Tensor[] GreaterOrEqual(OpContext c) => [Compare<GreaterOrEqualOp>(c, c.Input(0), c.Input(1))];

    public static Tensor[] Sum(OpContext c) => [Fold<AddOp>(c)];
    public static Tensor[] Min(OpContext c) => [Fold<MinOp>(c)];
    public static Tensor[] Max(OpContext c) => [Fold<MaxOp>(c)];

    public static Tensor[] Mean(OpContext c)
    {
        for (int i = 0; i < c.InputCount; i++)
            c.Input(i, TensorOps.FloatingPoint);
        var sum = Fold<AddOp>(c);
        int n = c.InputCount;
        if (sum.Data is float[] f)
        {
            for (int i = 0; i < f.Length; i++)
                f[i] /= n;
        }
        else
        {
            var d = sum.Doubles;
            for (int i = 0; i < d.Length; i++)
                d[i] /= n;
        }
        return [sum];
    }

    /// <summary>Adds two tensors with numpy broadcasting (used by the fused epilogues too).</summary>
    public static Tensor AddTensors(OpContext c, Tensor a, Tensor b) => Arithmetic<AddOp>(c, a, b);

    public static Tensor[] PRelu(OpContext c)
    {
        var x = c.Input(0, TensorOps.Numeric);
        var slope = c.Input(1);
        if (!TensorOps.BroadcastsTo(slope.Shape, x.Shape))
            throw c.Fail($"PRelu slope {ShapeMath.Format(slope.Shape)} does not broadcast to input {ShapeMath.Format(x.Shape)}");
        return [Arithmetic<PReluOp>(c, x, slope)];
    }

    /// <summary>Broadcast shape of two inputs, or a ModelException.</summary>
    public static int[] BroadcastShape(OpContext c, int[] a, int[] b) =>
        ShapeMath.Broadcast(a, b) ?? throw c.Fail($"{c.Op} cannot broadcast {ShapeMath.Format(a)} with {ShapeMath.Format(b)}");

    private static void SameType(OpContext c, Tensor a, Tensor b)
    {
        if (a.Type != b.Type)
            throw c.Fail($"{c.Op} input types differ: {a.Type.Name()} and {b.Type.Name()}");
    }

    public static Tensor Arithmetic<TOp>(OpContext c, Tensor a, Tensor b) where TOp : IArithmetic
    {
        c.CheckType(a, 0, TensorOps.Arithmetic);
        SameType(c, a, b);
        var shape = BroadcastShape(c, a.Shape, b.Shape);
        var ma = TensorOps.BroadcastMap(a.Shape, shape);
        var mb = TensorOps.BroadcastMap(b.Shape, shape);
        int n = c.Count(shape);
        return a.Data switch
        {
            float[] x => new Tensor(a.Type, shape, Arith<float, TOp>(x, ma, b.Floats, mb, n)),
            double[] x => new Tensor(a.Type, shape, Arith<double, TOp>(x, ma, b.Doubles, mb, n)),
            long[] x => new Tensor(a.Type, shape, Arith<long, TOp>(x, ma, b.Int64s, mb, n)),
            int[] x => new Tensor(a.Type, shape, Arith<int, TOp>(x, ma, b.Int32s, mb, n)),
            // Checked by type, not by pattern: an sbyte[] also matches a byte[] pattern.
            _ when a.Type == DataType.Int8 => new Tensor(a.Type, shape, Arith<sbyte, TOp>(a.Int8s, ma, b.Int8s, mb, n)),
            _ when a.Type == DataType.UInt8 => new Tensor(a.Type, shape, Arith<byte, TOp>(a.UInt8s, ma, b.UInt8s, mb, n)),
            _ => throw c.Fail($"{c.Op} does not support {a.Type.Name()}"),
        };
    }

    /// <summary>Integer arithmetic wraps around (unchecked), as in ONNX Runtime: uint8 200 + 100 is 44.</summary>
    private static T[] Arith<T, TOp>(T[] a, int[]? ma, T[] b, int[]? mb, int n) where T : INumber<T> where TOp : IArithmetic
    {
        var r = new T[n];
        for (int i = 0; i < n; i++)
            r[i] = TOp.Apply(a[ma is null ? i : ma[i]], b[mb is null ? i : mb[i]]);
        return r;
    }

    private static Tensor Compare<TOp>(OpContext c, Tensor a, Tensor b) where TOp : IComparison
    {
        SameType(c, a, b);
        var shape = BroadcastShape(c, a.Shape, b.Shape);
        var ma = TensorOps.BroadcastMap(a.Shape, shape);
        var mb = TensorOps.BroadcastMap(b.Shape, shape);
        int n = c.Count(shape);
        bool[] r = a.Data switch
        {
            float[] x => Cmp<float, TOp>(x, ma, b.Floats, mb, n),
            double[] x => Cmp<double, TOp>(x, ma, b.Doubles, mb, n),
            long[] x => Cmp<long, TOp>(x, ma, b.Int64s, mb, n),
            int[] x => Cmp<int, TOp>(x, ma, b.Int32s, mb, n),
            _ when a.Type == DataType.Int8 => Cmp<sbyte, TOp>(a.Int8s, ma, b.Int8s, mb, n),
            _ when a.Type == DataType.UInt8 => Cmp<byte, TOp>(a.UInt8s, ma, b.UInt8s, mb, n),
            bool[] x when typeof(TOp) == typeof(EqualOp) => Logical(x, ma, b.Bools, mb, n, (p, q) => p == q),
            _ => throw c.Fail($"{c.Op} does not support {a.Type.Name()}"),
        };
        return new Tensor(DataType.Bool, shape, r);
    }

    private static bool[] Cmp<T, TOp>(T[] a, int[]? ma, T[] b, int[]? mb, int n) where T : INumber<T> where TOp : IComparison
    {
        var r = new bool[n];
        for (int i = 0; i < n; i++)
            r[i] = TOp.Apply(a[ma is null ? i : ma[i]], b[mb is null ? i : mb[i]]);
        return r;
    }

    private static bool[] Logical(bool[] a, int[]? ma, bool[] b, int[]? mb, int n, Func<bool, bool, bool> f)
    {
        var r = new bool[n];
        for (int i = 0; i < n; i++)
            r[i] = f(a[ma is null ? i : ma[i]], b[mb is null ? i : mb[i]]);
        return r;
    }

    private static Tensor Fold<TOp>(OpContext c) where TOp : IArithmetic
    {
        if (c.InputCount == 0)
            throw c.Fail($"{c.Op} needs at least one input");
        var acc = c.Input(0, TensorOps.Arithmetic);
        if (c.InputCount == 1)
            return TensorOps.Copy(acc);
        for (int i = 1; i < c.InputCount; i++)
            acc = Arithmetic<TOp>(c, acc, c.Input(i));
        return acc;
    }

    public static Tensor[] Pow(OpContext c)
    {
        var a = c.Input(0, TensorOps.Numeric);
        var b = c.Input(1, TensorOps.Numeric);
        var shape = BroadcastShape(c, a.Shape, b.Shape);
        var ma = TensorOps.BroadcastMap(a.Shape, shape);
        var mb = TensorOps.BroadcastMap(b.Shape, shape);
        int n = c.Count(shape);
        var r = new double[n];
        for (int i = 0; i < n; i++)
            r[i] = Math.Pow(a.GetDouble(ma is null ? i : ma[i]), b.GetDouble(mb is null ? i : mb[i]));
        return [TensorOps.FromDoubles(a.Type, shape, r)];
    }

    // ---- logical ----

    public static Tensor[] Not(OpContext c)
    {
        var x = c.Input(0, DataType.Bool).Bools;
        var r = new bool[x.Length];
        for (int i = 0; i < r.Length; i++)
            r[i] = !x[i];
        return [new Tensor(DataType.Bool, c.Input(0).Shape, r)];
    }

    public static Tensor[] And(OpContext c) => [LogicalOp(c, (p, q) => p && q)];
    public static Tensor[] Or(OpContext c) => [LogicalOp(c, (p, q) => p || q)];
    public static Tensor[] Xor(OpContext c) => [LogicalOp(c, (p, q) => p ^ q)];

    private static Tensor LogicalOp(OpContext c, Func<bool, bool, bool> f)
    {
        var a = c.Input(0, DataType.Bool);
        var b = c.Input(1, DataType.Bool);
        var shape = BroadcastShape(c, a.Shape, b.Shape);
        return new Tensor(DataType.Bool, shape,
            Logical(a.Bools, TensorOps.BroadcastMap(a.Shape, shape), b.Bools, TensorOps.BroadcastMap(b.Shape, shape), c.Count(shape), f));
    }

    public static Tensor[] Where(OpContext c)
    {
        var cond = c.Input(0, DataType.Bool);
        var x = c.Input(1);
        var y = c.Input(2);
        SameType(c, x, y);
        var shape = BroadcastShape(c, BroadcastShape(c, cond.Shape, x.Shape), y.Shape);
        int n = c.Count(shape);
        var mc = TensorOps.BroadcastMap(cond.Shape, shape);
        var mx = TensorOps.BroadcastMap(x.Shape, shape);
        var my = TensorOps.BroadcastMap(y.Shape, shape);
        // Build one index map over the concatenation [x, y] and gather from it.
        var map = new int[n];
        var cb = cond.Bools;
        for (int i = 0; i < n; i++)
            map[i] = cb[mc is null ? i : mc[i]] ? (mx is null ? i : mx[i]) : x.Length + (my is null ? i : my[i]);
        var both = Array.CreateInstance(Tensor.StorageType(x.Type), x.Length + y.Length);
        Array.Copy(x.Data, 0, both, 0, x.Length);
        Array.Copy(y.Data, 0, both, x.Length, y.Length);
        return [TensorOps.Take(new Tensor(x.Type, [both.Length], both), shape, map)];
    }

    // ---- unary math ----

    /// <summary>A float/double unary operator computed in double precision.</summary>
    public static Tensor[] UnaryMath(OpContext c, Func<double, double> f)
    {
        var x = c.Input(0, TensorOps.FloatingPoint);
        if (x.Data is float[] xf)
        {
            var r = new float[xf.Length];
            for (int i = 0; i < r.Length; i++)
                r[i] = (float)f(xf[i]);
            return [new Tensor(DataType.Float, x.Shape, r)];
        }
        var xd = x.Doubles;
        var rd = new double[xd.Length];
        for (int i = 0; i < rd.Length; i++)
            rd[i] = f(xd[i]);
        return [new Tensor(DataType.Double, x.Shape, rd)];
    }

    private interface IUnary
    {
        static abstract T Apply<T>(T x) where T : INumber<T>;
    }

    private struct NegOp : IUnary { public static T Apply<T>(T x) where T : INumber<T> => -x; }
    /// <summary>|x|, wrapping for integers as ONNX Runtime does (Abs of int8 -128 is -128; T.Abs would throw).</summary>
    private struct AbsOp : IUnary { public static T Apply<T>(T x) where T : INumber<T> => T.IsNegative(x) ? -x : x; }

    /// <summary>max(x, 0) with NaN kept: NaN &lt; 0 is false.</summary>
    private struct ReluOp : IUnary { public static T Apply<T>(T x) where T : INumber<T> => x < T.Zero ? T.Zero : x; }

    /// <summary>Neg takes the signed types only (ONNX has no uint8 Neg); -(-128) wraps to -128.</summary>
    public static Tensor[] Neg(OpContext c) => [UnaryNumeric<NegOp>(c, c.Input(0, TensorOps.Signed))];
    public static Tensor[] Abs(OpContext c) => [UnaryNumeric<AbsOp>(c, c.Input(0, TensorOps.Arithmetic))];

    private static Tensor UnaryNumeric<TOp>(OpContext c, Tensor x) where TOp : IUnary => x.Type switch
    {
        DataType.Float => new Tensor(x.Type, x.Shape, MapT<float, TOp>(x.Floats)),
        DataType.Double => new Tensor(x.Type, x.Shape, MapT<double, TOp>(x.Doubles)),
        DataType.Int64 => new Tensor(x.Type, x.Shape, MapT<long, TOp>(x.Int64s)),
        DataType.Int32 => new Tensor(x.Type, x.Shape, MapT<int, TOp>(x.Int32s)),
        DataType.Int8 => new Tensor(x.Type, x.Shape, MapT<sbyte, TOp>(x.Int8s)),
        DataType.UInt8 => new Tensor(x.Type, x.Shape, MapT<byte, TOp>(x.UInt8s)),
        _ => throw c.Fail($"{c.Op} does not support {x.Type.Name()}"),
    };

    private static T[] MapT<T, TOp>(T[] a) where T : INumber<T> where TOp : IUnary
    {
        var r = new T[a.Length];
        for (int i = 0; i < r.Length; i++)
            r[i] = TOp.Apply(a[i]);
        return r;
    }

    // ---- activations ----

    /// <summary>
    /// The activation operators. Float tensors go through <see cref="Activations.Apply"/>, the same
    /// function fused epilogues use; double tensors use the same formulas in double precision.
    /// Relu (signed types) and Clip (all numeric types) also accept integers. NaN propagates through
    /// every activation, and Clip with min &gt; max makes every value max (the ONNX spec, and ONNX Runtime).
    /// </summary>
    public static Tensor[] Activation(OpContext c)
    {
        var x = c.Input(0, c.Op == "Relu" ? TensorOps.Signed : TensorOps.Arithmetic);
        string kind = c.Op;
        // An absent Clip bound is the type's lowest or highest finite value (the spec's
        // numeric_limits defaults, as in ONNX Runtime): Clip with no max turns +inf into float.MaxValue.
        double lo = x.Type == DataType.Double ? double.MinValue : float.MinValue;
        double hi = x.Type == DataType.Double ? double.MaxValue : float.MaxValue;
        (float alpha, float beta) = Activations.DefaultParameters(c.Node);
        if (kind == "Clip")
        {
            c.Replaced("min", 11);
            c.Replaced("max", 11);
            if (c.Opset >= 11)
            {
                var min = c.Optional(1);
                var max = c.Optional(2);
                if (min is not null)
                {
                    if (min.Type != x.Type)
                        throw c.Fail($"Clip min is {min.Type.Name()}, input is {x.Type.Name()}");
                    lo = c.ScalarValue(min, "min");
                }
                if (max is not null)
                {
                    if (max.Type != x.Type)
                        throw c.Fail($"Clip max is {max.Type.Name()}, input is {x.Type.Name()}");
                    hi = c.ScalarValue(max, "max");
                }
            }
            else
            {
                lo = alpha;
                hi = beta;
            }
            alpha = (float)lo;
            beta = (float)hi;
        }
        switch (x.Data)
        {
            case float[] xf:
            {
                var r = new float[xf.Length];
                for (int i = 0; i < r.Length; i++)
                    r[i] = Activations.Apply(kind, alpha, beta, xf[i]);
                return [new Tensor(DataType.Float, x.Shape, r)];
            }
            case double[] xd:
            {
                var r = new double[xd.Length];
                for (int i = 0; i < r.Length; i++)
                    r[i] = ActivationDouble(kind, alpha, beta, lo, hi, xd[i]);
                return [new Tensor(DataType.Double, x.Shape, r)];
            }
            case not null when kind == "Relu":
                return [UnaryNumeric<ReluOp>(c, x)];
            case not null when kind == "Clip" && c.Opset >= 11:
                return [x.Type switch
                {
                    DataType.Int64 => new Tensor(x.Type, x.Shape, ClipInteger(c, x.Int64s)),
                    DataType.Int32 => new Tensor(x.Type, x.Shape, ClipInteger(c, x.Int32s)),
                    DataType.Int8 => new Tensor(x.Type, x.Shape, ClipInteger(c, x.Int8s)),
                    _ => new Tensor(x.Type, x.Shape, ClipInteger(c, x.UInt8s)),
                }];
            default:
                throw c.Fail($"{kind} does not support {x.Type.Name()}");
        }
    }

    /// <summary>
    /// Integer Clip, min(max(x, lo), hi), in the input's own type (the bounds are inputs of that
    /// type, read exactly, not through double); an absent bound is the type's extreme.
    /// </summary>
    private static T[] ClipInteger<T>(OpContext c, T[] x) where T : INumber<T>, IMinMaxValue<T>
    {
        T lo = c.Optional(1) is { } min ? T.CreateTruncating(min.GetInt64(0)) : T.MinValue;
        T hi = c.Optional(2) is { } max ? T.CreateTruncating(max.GetInt64(0)) : T.MaxValue;
        var r = new T[x.Length];
        for (int i = 0; i < r.Length; i++)
        {
            T v = x[i] < lo ? lo : x[i];
            r[i] = v > hi ? hi : v;
        }
        return r;
    }

    private static double ActivationDouble(string kind, double alpha, double beta, double lo, double hi, double x) => kind switch
    {
        "Relu" => x < 0 ? 0 : x,
        "Clip" => Activations.Clip(x, lo, hi),
        "LeakyRelu" => x >= 0 ? x : alpha * x,
        "Sigmoid" => 1 / (1 + Math.Exp(-x)),
        "HardSigmoid" => Math.Clamp(alpha * x + beta, 0, 1),
        "HardSwish" => x * Math.Clamp(x / 6 + 0.5, 0, 1),
        "Tanh" => Math.Tanh(x),
        "Elu" => x >= 0 ? x : alpha * (Math.Exp(x) - 1),
        "Selu" => x > 0 ? beta * x : beta * (alpha * Math.Exp(x) - alpha),
        "Softplus" => Math.Max(x, 0) + Math.Log(1 + Math.Exp(-Math.Abs(x))),
        // Swish (opset 24): x * sigmoid(alpha * x).
        "Swish" => x / (1 + Math.Exp(-alpha * x)),
        _ => throw new InvalidOperationException("unknown activation " + kind),
    };

    // ---- Cast ----

    public static Tensor[] Cast(OpContext c)
    {
        var x = c.Input(0, TensorOps.All);
        long to = c.Int("to", 0);
        if (!DataTypes.IsSupported((int)to))
            throw c.Fail($"Cast to {DataTypes.OnnxName((int)to)} is not supported");
        var type = (DataType)to;
        int n = x.Length;
        bool integral = !x.Type.IsFloatingPoint();
        Array r = type switch
        {
            DataType.Float => Fill(n, i => (float)x.GetDouble(i)),
            DataType.Double => Fill(n, x.GetDouble),
            DataType.Int64 => Fill(n, i => integral ? x.GetInt64(i) : (long)x.GetDouble(i)),
            DataType.Int32 => Fill(n, i => integral ? unchecked((int)x.GetInt64(i)) : (int)x.GetDouble(i)),
            DataType.Int8 => Fill(n, i => integral ? unchecked((sbyte)x.GetInt64(i)) : (sbyte)x.GetDouble(i)),
            DataType.UInt8 => Fill(n, i => integral ? unchecked((byte)x.GetInt64(i)) : (byte)x.GetDouble(i)),
            DataType.Bool => Fill(n, i => x.GetDouble(i) != 0),
            _ => throw c.Fail($"Cast to {type.Name()} is not supported"),
        };
        return [new Tensor(type, x.Shape, r)];
    }

    private static T[] Fill<T>(int n, Func<int, T> f)
    {
        var r = new T[n];
        for (int i = 0; i < n; i++)
            r[i] = f(i);
        return r;
    }

    // ---- Erf ----

    /// <summary>
    /// The error function in double precision: its Maclaurin series for |x| &lt; 3, and
    /// 1 - erfc(x) with erfc's continued fraction (evaluated by the modified Lentz method) beyond.
    /// </summary>
    public static double Erf(double x)
    {
        if (double.IsNaN(x))
            return x;
        double ax = Math.Abs(x);
        double r;
        if (ax < 3)
        {
            // erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
            double term = ax, sum = ax, x2 = ax * ax;
            for (int n = 1; n < 200; n++)
            {
                term *= -x2 / n;
                double t = term / (2 * n + 1);
                sum += t;
                if (Math.Abs(t) < 1e-17 * Math.Abs(sum))
                    break;
            }
            r = 2 / Math.Sqrt(Math.PI) * sum;
        }
        else if (ax > 6)
        {
            r = 1;
        }
        else
        {
            // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), a_k = k/2.
            const double tiny = 1e-300;
            double f = ax, cc = ax, d = 0;
            for (int k = 1; k < 300; k++)
            {
                double a = k / 2.0;
                d = ax + a * d;
                d = Math.Abs(d) < tiny ? tiny : d;
                cc = ax + a / cc;
                cc = Math.Abs(cc) < tiny ? tiny : cc;
                d = 1 / d;
                double delta = cc * d;
                f *= delta;
                if (Math.Abs(delta - 1) < 1e-16)
                    break;
            }
            r = 1 - Math.Exp(-ax * ax) / Math.Sqrt(Math.PI) / f;
        }
        return x < 0 ? -r : r;
    }
}
