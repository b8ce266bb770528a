using AutoKernel.Build.Graph;

namespace AutoKernel.Build.Reference;

/// <summary>
/// ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2, ReduceLogSum,
/// ReduceLogSumExp, ReduceSumSquare, ArgMax and ArgMin.
/// </summary>
internal static class Reduction
{
    private enum Kind { Mean, Sum, Max, Min, Prod, L1, L2, LogSum, LogSumExp, SumSquare }

    public static Tensor[] ReduceMean(OpContext c) => [Reduce(c, Kind.Mean)];
    public static Tensor[] ReduceSum(OpContext c) => [Reduce(c, Kind.Sum)];
    public static Tensor[] ReduceMax(OpContext c) => [Reduce(c, Kind.Max)];
    public static Tensor[] ReduceMin(OpContext c) => [Reduce(c, Kind.Min)];
    public static Tensor[] ReduceProd(OpContext c) => [Reduce(c, Kind.Prod)];
    public static Tensor[] ReduceL1(OpContext c) => [Reduce(c, Kind.L1)];
    public static Tensor[] ReduceL2(OpContext c) => [Reduce(c, Kind.L2)];
    public static Tensor[] ReduceLogSum(OpContext c) => [Reduce(c, Kind.LogSum)];
    public static Tensor[] ReduceLogSumExp(OpContext c) => [Reduce(c, Kind.LogSumExp)];
    public static Tensor[] ReduceSumSquare(OpContext c) => [Reduce(c, Kind.SumSquare)];
    public static Tensor[] ArgMax(OpContext c) => [ArgExtreme(c, max: true)];
    public static Tensor[] ArgMin(OpContext c) => [ArgExtreme(c, max: false)];

    private static Tensor Reduce(OpContext c, Kind kind)
    {
        var x = c.Input(0, TensorOps.Arithmetic);
        int rank = x.Rank;
        // Axes moved from attribute to input in opset 13 for ReduceSum and 18 for the others.
        int inputSince = kind == Kind.Sum ? 13 : 18;
        c.Replaced("axes", inputSince);
        bool axesInput = c.Opset >= inputSince;
        long[]? axes;
        if (axesInput)
        {
            var t = c.Optional(1);
            axes = t is null ? null : c.Int64s(t, "axes");
        }
        else
        {
            axes = c.Ints("axes");
        }
        bool keepDims = c.Int("keepdims", 1) != 0;
        bool noopWithEmptyAxes = c.Int("noop_with_empty_axes", 0) != 0;
        var reduced = new bool[rank];
        if (axes is null || axes.Length == 0)
        {
            // With noop_with_empty_axes every element is its own group: the identity for most
            // reductions, but |x|, x^2 or log(x) for ReduceL1, ReduceSumSquare and ReduceLogSum, as in ONNX Runtime.
            if (!noopWithEmptyAxes)
                Array.Fill(reduced, true);
        }
        else
        {
            foreach (long a in axes)
            {
                int axis = c.Axis(a, rank);
                if (reduced[axis])
                    throw c.Fail($"{c.Op} axes repeat axis {a}");
                reduced[axis] = true;
            }
        }
        // The reduced shape with kept 1s; each input element maps to one output slot.
        var kept = new int[rank];
        var outShapeList = new List<int>();
        for (int i = 0; i < rank; i++)
        {
            kept[i] = reduced[i] ? 1 : x.Shape[i];
            if (!reduced[i])
                outShapeList.Add(x.Shape[i]);
            else if (keepDims)
                outShapeList.Add(1);
        }
        int[] outShape = [.. outShapeList];
        int outCount = (int)ShapeMath.ElementCount(kept);
        int groupSize = outCount == 0 ? 0 : x.Length / outCount;
        var slot = SlotMap(x.Shape, kept, reduced);
        if (x.Type is DataType.Int64 or DataType.Int32 or DataType.Int8 or DataType.UInt8 && kind is not (Kind.L2 or Kind.LogSum or Kind.LogSumExp))
        {
            var acc = new long[outCount];
            Array.Fill(acc, kind switch { Kind.Prod => 1L, Kind.Max => long.MinValue, Kind.Min => long.MaxValue, _ => 0L });
            for (int i = 0; i < x.Length; i++)
            {
                long v = x.GetInt64(i);
                ref long a = ref acc[slot[i]];
                a = kind switch
                {
                    Kind.Max => Math.Max(a, v),
                    Kind.Min => Math.Min(a, v),
                    Kind.Prod => a * v,
                    Kind.L1 => a + Math.Abs(v),
                    Kind.SumSquare => a + v * v,
                    _ => a + v,
                };
            }
            if (kind == Kind.Mean && groupSize > 0)
            {
                for (int i = 0; i < acc.Length; i++)
                    acc[i] /= groupSize;
            }
            Array data = x.Type switch
            {
                DataType.Int64 => acc,
                DataType.Int32 => Array.ConvertAll(acc, v => unchecked((int)v)),
                DataType.Int8 => Array.ConvertAll(acc, v => unchecked((sbyte)v)),
                _ => Array.ConvertAll(acc, v => unchecked((byte)v)),
            };
            return new Tensor(x.Type, outShape, data);
        }
        else
        {
            // LogSumExp subtracts each slot's maximum first, so large inputs do not overflow exp.
            double[]? shift = kind == Kind.LogSumExp ? Accumulate(x, slot, outCount, Kind.Max, null) : null;
            var acc = Accumulate(x, slot, outCount, kind, shift);
            for (int i = 0; i < acc.Length; i++)
            {
                acc[i] = kind switch
                {
                    // The mean of an empty set is undefined in ONNX; ONNX Runtime gives 0.
                    Kind.Mean => groupSize == 0 ? 0 : acc[i] / groupSize,
                    Kind.L2 => Math.Sqrt(acc[i]),
                    Kind.LogSum => Math.Log(acc[i]),
                    // An infinite (or NaN) maximum is the answer itself; exp(v - max) would be NaN.
                    Kind.LogSumExp => double.IsFinite(shift![i]) ? Math.Log(acc[i]) + shift[i] : shift[i],
                    _ => acc[i],
                };
            }
            return TensorOps.FromDoubles(x.Type, outShape, acc);
        }
    }

    /// <summary>Per-slot accumulation in double; NaN propagates through Max and Min as in ONNX Runtime.</summary>
    private static double[] Accumulate(Tensor x, int[] slot, int outCount, Kind kind, double[]? shift)
    {
        var acc = new double[outCount];
        Array.Fill(acc, kind switch { Kind.Prod => 1.0, Kind.Max => double.NegativeInfinity, Kind.Min => double.PositiveInfinity, _ => 0.0 });
        for (int i = 0; i < x.Length; i++)
        {
            double v = x.GetDouble(i);
            ref double a = ref acc[slot[i]];
            a = kind switch
            {
                Kind.Max => double.IsNaN(v) || v > a ? v : a,
                Kind.Min => double.IsNaN(v) || v < a ? v : a,
                Kind.Prod => a * v,
                Kind.L1 => a + Math.Abs(v),
                Kind.L2 or Kind.SumSquare => a + v * v,
                Kind.LogSumExp => a + Math.Exp(v - shift![slot[i]]),
                _ => a + v,
            };
        }
        return acc;
    }

    /// <summary>
    /// ArgMax / ArgMin: the int64 index of the first (or, with select_last_index, the last)
    /// extreme along 'axis'. A NaN counts as the extreme, as in ONNX Runtime.
    /// </summary>
    private static Tensor ArgExtreme(OpContext c, bool max)
    {
        var x = c.Input(0, TensorOps.Arithmetic);
        int rank = x.Rank;
        if (rank == 0)
            throw c.Fail($"{c.Op} needs an input of rank at least 1");
        int axis = c.Axis(c.Int("axis", 0), rank);
        bool keepDims = c.Int("keepdims", 1) != 0;
        bool last = c.Int("select_last_index", 0) != 0;
        int[] shape = x.Shape;
        int extent = shape[axis];
        if (extent == 0)
            throw c.Fail($"{c.Op} over an empty axis {axis} has no answer");
        int outer = TensorOps.Product(shape, 0, axis), inner = TensorOps.Product(shape, axis + 1, rank);
        var result = new long[outer * inner];
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                int best = 0;
                double bestValue = x.GetDouble(o * extent * inner + i);
                for (int k = 1; k < extent && !double.IsNaN(bestValue); k++)
                {
                    double v = x.GetDouble((o * extent + k) * inner + i);
                    bool better = double.IsNaN(v) || (max ? v > bestValue : v < bestValue) || (last && v == bestValue);
                    if (better)
                    {
                        best = k;
                        bestValue = v;
                    }
                }
                result[o * inner + i] = best;
            }
        }
        int[] outShape = keepDims ? [.. shape[..axis], 1, .. shape[(axis + 1)..]] : [.. shape[..axis], .. shape[(axis + 1)..]];
        return new Tensor(DataType.Int64, outShape, result);
    }

    /// <summary>For each input element, the flat index of its slot in the reduced (kept-dims) shape.</summary>
    private static int[] SlotMap(int[] shape, int[] kept, bool[] reduced)
    {
        int rank = shape.Length;
        var keptStrides = ShapeMath.Strides(kept);
        var strides = new int[rank];
        for (int i = 0; i < rank; i++)
            strides[i] = reduced[i] ? 0 : keptStrides[i];
        int count = (int)ShapeMath.ElementCount(shape);
        var map = new int[count];
        var index = new int[rank];
        int dst = 0;
        for (int o = 0; o < count; o++)
        {
            map[o] = dst;
            for (int axis = rank - 1; axis >= 0; axis--)
            {
                index[axis]++;
                dst += strides[axis];
                if (index[axis] < shape[axis])
                    break;
                dst -= strides[axis] * index[axis];
                index[axis] = 0;
            }
        }
        return map;
    }

}
