using AutoKernel.Build.Graph;

namespace AutoKernel.Build.Reference;

/// <summary>ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceProd.</summary>
internal static class Reduction
{
    private enum Kind { Mean, Sum, Max, Min, Prod }

    public static Tensor[] ReduceMean(OpContext c) => [Reduce(c, Kind.Mean)];
    public static Tensor[] ReduceSum(OpContext c) => [Reduce(c, Kind.Sum)];
    public static Tensor[] ReduceMax(OpContext c) => [Reduce(c, Kind.Max)];
    public static Tensor[] ReduceMin(OpContext c) => [Reduce(c, Kind.Min)];
    public static Tensor[] ReduceProd(OpContext c) => [Reduce(c, Kind.Prod)];

    private static Tensor Reduce(OpContext c, Kind kind)
    {
        var x = c.Input(0, TensorOps.Numeric);
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
            if (noopWithEmptyAxes)
                return TensorOps.Copy(x);
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
        if (x.Type is DataType.Int64 or DataType.Int32)
        {
            var acc = new long[outCount];
            Array.Fill(acc, kind switch { Kind.Prod => 1L, Kind.Max => long.MinValue, Kind.Min => long.MaxValue, _ => 0L });
            for (int i = 0; i < x.Length; i++)
            {
                long v = x.GetInt64(i);
                ref long a = ref acc[slot[i]];
                a = kind switch { Kind.Max => Math.Max(a, v), Kind.Min => Math.Min(a, v), Kind.Prod => a * v, _ => a + v };
            }
            if (kind == Kind.Mean && groupSize > 0)
            {
                for (int i = 0; i < acc.Length; i++)
                    acc[i] /= groupSize;
            }
            var data = x.Type == DataType.Int64 ? (Array)acc : Array.ConvertAll(acc, v => unchecked((int)v));
            return new Tensor(x.Type, outShape, data);
        }
        else
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
                    _ => a + v,
                };
            }
            if (kind == Kind.Mean)
            {
                for (int i = 0; i < acc.Length; i++)
                    acc[i] /= groupSize;
            }
            return TensorOps.FromDoubles(x.Type, outShape, acc);
        }
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
