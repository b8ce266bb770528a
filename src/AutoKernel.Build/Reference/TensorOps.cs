using AutoKernel.Build.Graph;

namespace AutoKernel.Build.Reference;

/// <summary>
/// Type-agnostic helpers the kernels share: broadcasting index maps and "gather by index map",
/// which every pure data-movement operator (Transpose, Slice, Pad, Gather, Tile, Expand, ...) is
/// expressed with.
/// </summary>
internal static class TensorOps
{
    public static readonly DataType[] Numeric = [DataType.Float, DataType.Double, DataType.Int64, DataType.Int32];
    /// <summary>The types of ONNX's arithmetic and comparison operators that AutoKernel holds: Numeric plus int8 and uint8.</summary>
    public static readonly DataType[] Arithmetic = [DataType.Float, DataType.Double, DataType.Int64, DataType.Int32, DataType.Int8, DataType.UInt8];

    /// <summary>The signed types among <see cref="Arithmetic"/> (Neg, Relu).</summary>
    public static readonly DataType[] Signed = [DataType.Float, DataType.Double, DataType.Int64, DataType.Int32, DataType.Int8];

    public static readonly DataType[] FloatingPoint = [DataType.Float, DataType.Double];
    public static readonly DataType[] All = [DataType.Float, DataType.Double, DataType.Int64, DataType.Int32, DataType.Int8, DataType.UInt8, DataType.Bool];

    /// <summary>
    /// For each element of <paramref name="outShape"/> (row-major), the flat index of the element of a
    /// tensor of <paramref name="inShape"/> that numpy broadcasting reads. Null when the shapes are
    /// equal (the identity map). The caller has checked that <paramref name="inShape"/> broadcasts.
    /// </summary>
    public static int[]? BroadcastMap(int[] inShape, int[] outShape)
    {
        if (ShapeMath.SameShape(inShape, outShape))
            return null;
        int rank = outShape.Length;
        int offset = rank - inShape.Length;
        var inStrides = ShapeMath.Strides(inShape);
        // Stride of each output axis within the input: 0 where the input is broadcast.
        var strides = new int[rank];
        for (int i = 0; i < rank; i++)
            strides[i] = i < offset || inShape[i - offset] == 1 ? 0 : inStrides[i - offset];
        int count = (int)ShapeMath.ElementCount(outShape);
        var map = new int[count];
        var index = new int[rank];
        int src = 0;
        for (int o = 0; o < count; o++)
        {
            map[o] = src;
            // Odometer increment of the output index, tracking the input offset.
            for (int axis = rank - 1; axis >= 0; axis--)
            {
                index[axis]++;
                src += strides[axis];
                if (index[axis] < outShape[axis])
                    break;
                src -= strides[axis] * index[axis];
                index[axis] = 0;
            }
        }
        return map;
    }

    /// <summary>True when <paramref name="from"/> broadcasts to exactly <paramref name="to"/> (unidirectional).</summary>
    public static bool BroadcastsTo(int[] from, int[] to)
    {
        if (from.Length > to.Length)
            return false;
        int offset = to.Length - from.Length;
        for (int i = 0; i < from.Length; i++)
        {
            if (from[i] != 1 && from[i] != to[i + offset])
                return false;
        }
        return true;
    }

    /// <summary>
    /// A new tensor of <paramref name="shape"/> whose element i is <c>src[map[i]]</c>, or
    /// <paramref name="fill"/> (element 0, converted to the source type) where map[i] is negative.
    /// </summary>
    /// <remarks>
    /// Dispatches on the element type, not on the array's type: the runtime lets an sbyte[] pass as
    /// a byte[] and a byte[] as an sbyte[], so a <c>byte[] a</c> pattern matches int8 storage too.
    /// </remarks>
    public static Tensor Take(Tensor src, int[] shape, int[] map, double fill = 0) => src.Type switch
    {
        DataType.Float => new Tensor(src.Type, shape, TakeT(src.Floats, map, (float)fill)),
        DataType.Double => new Tensor(src.Type, shape, TakeT(src.Doubles, map, fill)),
        DataType.Int64 => new Tensor(src.Type, shape, TakeT(src.Int64s, map, (long)fill)),
        DataType.Int32 => new Tensor(src.Type, shape, TakeT(src.Int32s, map, (int)fill)),
        DataType.Bool => new Tensor(src.Type, shape, TakeT(src.Bools, map, fill != 0)),
        DataType.UInt8 => new Tensor(src.Type, shape, TakeT(src.UInt8s, map, (byte)fill)),
        DataType.Int8 => new Tensor(src.Type, shape, TakeT(src.Int8s, map, (sbyte)fill)),
        _ => throw new InvalidOperationException("unknown tensor storage"),
    };

    private static T[] TakeT<T>(T[] src, int[] map, T fill)
    {
        var dst = new T[map.Length];
        for (int i = 0; i < dst.Length; i++)
        {
            int s = map[i];
            dst[i] = s >= 0 ? src[s] : fill;
        }
        return dst;
    }

    /// <summary>
    /// The index map of a strided view: output axis i reads input axis <paramref name="axisOf"/>[i]
    /// at <c>start[i] + k * step[i]</c>. Used by Transpose and Slice.
    /// </summary>
    public static int[] StridedMap(int[] inShape, int[] outShape, int[] axisOf, int[] start, int[] step)
    {
        var inStrides = ShapeMath.Strides(inShape);
        int rank = outShape.Length;
        int count = (int)ShapeMath.ElementCount(outShape);
        var map = new int[count];
        if (count == 0)
            return map;
        int base0 = 0;
        var strides = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            base0 += start[i] * inStrides[axisOf[i]];
            strides[i] = step[i] * inStrides[axisOf[i]];
        }
        var index = new int[rank];
        int src = base0;
        for (int o = 0; o < count; o++)
        {
            map[o] = src;
            for (int axis = rank - 1; axis >= 0; axis--)
            {
                index[axis]++;
                src += strides[axis];
                if (index[axis] < outShape[axis])
                    break;
                src -= strides[axis] * index[axis];
                index[axis] = 0;
            }
        }
        return map;
    }

    /// <summary>[0, 1, ..., n-1]: the identity index map, or the axes of a rank-n tensor.</summary>
    public static int[] Iota(int n)
    {
        var r = new int[n];
        for (int i = 0; i < n; i++)
            r[i] = i;
        return r;
    }

    /// <summary>n ones: unit steps.</summary>
    public static int[] Ones(int n)
    {
        var r = new int[n];
        Array.Fill(r, 1);
        return r;
    }

    /// <summary>A copy of <paramref name="t"/> with its own storage.</summary>
    public static Tensor Copy(Tensor t) => Take(t, t.Shape, Iota(t.Length));

    /// <summary>Product of <paramref name="shape"/>[from..to).</summary>
    public static int Product(int[] shape, int from, int to)
    {
        int p = 1;
        for (int i = from; i < to; i++)
            p *= shape[i];
        return p;
    }

    /// <summary>A tensor's values as doubles (a fresh array).</summary>
    public static double[] ToDoubles(Tensor t)
    {
        var r = new double[t.Length];
        for (int i = 0; i < r.Length; i++)
            r[i] = t.GetDouble(i);
        return r;
    }

    /// <summary>A tensor of <paramref name="type"/> from double values (C-style truncation for integers).</summary>
    public static Tensor FromDoubles(DataType type, int[] shape, double[] values)
    {
        Array data = type switch
        {
            DataType.Float => Convert(values, v => (float)v),
            DataType.Double => values,
            DataType.Int64 => Convert(values, v => (long)v),
            DataType.Int32 => Convert(values, v => (int)v),
            DataType.Int8 => Convert(values, v => (sbyte)v),
            DataType.UInt8 => Convert(values, v => (byte)v),
            DataType.Bool => Convert(values, v => v != 0),
            _ => throw new InvalidOperationException("unknown tensor type"),
        };
        return new Tensor(type, shape, data);
    }

    private static T[] Convert<T>(double[] values, Func<double, T> f)
    {
        var r = new T[values.Length];
        for (int i = 0; i < r.Length; i++)
            r[i] = f(values[i]);
        return r;
    }
}
