using System.Globalization;
using AutoKernel.Build.Graph;

namespace AutoKernel.Build.Reference;

/// <summary>
/// Resize (opsets 10 to 19+) and Upsample, nearest and (multi-)linear. The interpolation is
/// separable, so the input is resized one axis at a time; for each resized axis the output
/// coordinate is mapped back to the input by the coordinate transformation mode.
/// </summary>
internal static class Resize
{
    public static Tensor[] ResizeOp(OpContext c)
    {
        var x = c.Input(0);
        int rank = x.Rank;
        bool legacy = c.Opset < 11;
        string mode = c.String("mode", "nearest");
        if (mode is not ("nearest" or "linear"))
            throw c.Fail($"Resize mode '{mode}' is not supported");
        if (c.Int("antialias", 0) != 0)
            throw c.Fail("Resize antialias=1 is not supported");
        string coordMode = legacy ? "asymmetric" : c.String("coordinate_transformation_mode", "half_pixel");
        string nearestMode = legacy ? "legacy" : c.String("nearest_mode", "round_prefer_floor");
        string policy = c.String("keep_aspect_ratio_policy", "stretch");

        int[] axes;
        if (c.Opset >= 18 && c.Ints("axes") is long[] axesAttr)
        {
            axes = new int[axesAttr.Length];
            for (int i = 0; i < axes.Length; i++)
                axes[i] = c.Axis(axesAttr[i], rank);
        }
        else
        {
            axes = TensorOps.Iota(rank);
        }

        Tensor? scalesT, sizesT;
        if (legacy)
        {
            scalesT = c.Input(1);
            sizesT = null;
        }
        else
        {
            scalesT = c.Optional(2);
            sizesT = c.Optional(3);
            if (scalesT is not null && scalesT.Length == 0)
                scalesT = null;
            if (sizesT is not null && sizesT.Length == 0)
                sizesT = null;
        }
        var scales = new double[rank];
        var outShape = (int[])x.Shape.Clone();
        Array.Fill(scales, 1.0);
        if (scalesT is not null && sizesT is not null)
            throw c.Fail("Resize takes scales or sizes, not both");
        if (scalesT is not null)
        {
            if (scalesT.Type != DataType.Float || scalesT.Length != axes.Length)
                throw c.Fail($"Resize scales must be {axes.Length} floats, got {scalesT}");
            for (int i = 0; i < axes.Length; i++)
            {
                float s = scalesT.Floats[i];
                if (!(s > 0))
                    throw c.Fail(string.Create(CultureInfo.InvariantCulture, $"Resize scale {s} must be positive"));
                scales[axes[i]] = s;
                outShape[axes[i]] = c.Dim((long)Math.Floor((double)s * x.Shape[axes[i]]), "output size");
            }
        }
        else if (sizesT is not null)
        {
            long[] sizes = c.Int64s(sizesT, "sizes");
            if (sizes.Length != axes.Length)
                throw c.Fail($"Resize sizes has {sizes.Length} values for {axes.Length} axes");
            if (policy == "stretch")
            {
                for (int i = 0; i < axes.Length; i++)
                {
                    int a = axes[i];
                    outShape[a] = c.Dim(sizes[i], "output size");
                    scales[a] = x.Shape[a] == 0 ? 1 : (float)outShape[a] / (float)x.Shape[a];
                }
            }
            else if (policy is "not_larger" or "not_smaller")
            {
                float scale = policy == "not_larger" ? float.PositiveInfinity : float.NegativeInfinity;
                for (int i = 0; i < axes.Length; i++)
                {
                    float s = (float)sizes[i] / x.Shape[axes[i]];
                    scale = policy == "not_larger" ? Math.Min(scale, s) : Math.Max(scale, s);
                }
                foreach (int a in axes)
                {
                    scales[a] = scale;
                    outShape[a] = c.Dim((long)MathF.Floor(scale * x.Shape[a] + 0.5f), "output size");
                }
            }
            else
            {
                throw c.Fail($"Resize keep_aspect_ratio_policy '{policy}' is not supported");
            }
        }
        else
        {
            throw c.Fail("Resize needs scales or sizes");
        }
        return [Apply(c, x, outShape, scales, mode, coordMode, nearestMode)];
    }

    public static Tensor[] Upsample(OpContext c)
    {
        var x = c.Input(0);
        string mode = c.String("mode", "nearest");
        if (mode == "bilinear")
            mode = "linear";
        if (mode is not ("nearest" or "linear"))
            throw c.Fail($"Upsample mode '{mode}' is not supported");
        double[] scales;
        c.Replaced("scales", 9);
        if (c.Opset >= 9)
        {
            var t = c.Input(1, DataType.Float);
            scales = Array.ConvertAll(t.Floats, f => (double)f);
        }
        else if (c.Opset >= 7)
        {
            scales = Array.ConvertAll(c.Node.GetFloats("scales") ?? throw c.Fail("Upsample needs scales"), f => (double)f);
        }
        else
        {
            // Upsample-1: NCHW input with height_scale and width_scale.
            c.CheckRank(x, 4);
            scales = [1, 1, c.FloatAttr("height_scale", 0f), c.FloatAttr("width_scale", 0f)];
        }
        if (scales.Length != x.Rank)
            throw c.Fail($"Upsample scales has {scales.Length} values for rank {x.Rank}");
        var outShape = new int[x.Rank];
        for (int i = 0; i < x.Rank; i++)
        {
            if (!(scales[i] > 0))
                throw c.Fail("Upsample scales must be positive");
            outShape[i] = c.Dim((long)Math.Floor(scales[i] * x.Shape[i]), "output size");
        }
        return [Apply(c, x, outShape, scales, mode, "asymmetric", "legacy")];
    }

    private static Tensor Apply(OpContext c, Tensor x, int[] outShape, double[] scales, string mode, string coordMode, string nearestMode)
    {
        if (coordMode is not ("half_pixel" or "pytorch_half_pixel" or "align_corners" or "asymmetric" or "tf_half_pixel_for_nn" or "half_pixel_symmetric"))
            throw c.Fail($"Resize coordinate_transformation_mode '{coordMode}' is not supported");
        if (nearestMode is not ("round_prefer_floor" or "round_prefer_ceil" or "floor" or "ceil" or "legacy"))
            throw c.Fail($"Resize nearest_mode '{nearestMode}' is not supported");
        if (mode == "linear" && x.Type != DataType.Float)
            throw c.Fail($"Resize linear mode does not support {x.Type.Name()}");
        var axes = new List<int>();
        for (int axis = 0; axis < x.Rank; axis++)
        {
            if (outShape[axis] == x.Shape[axis] && scales[axis] == 1.0)
                continue;
            if (x.Shape[axis] == 0)
                throw c.Fail("Resize cannot resize an empty axis");
            axes.Add(axis);
        }
        if (ShapeMath.ElementCountSaturated(outShape) > Array.MaxLength)
            throw c.Fail($"Resize output {ShapeMath.Format(outShape)} has more elements than a tensor can hold");
        // Axis by axis, an intermediate can be larger than input and output (one axis grown before
        // another shrinks). Axes are taken in order, as ONNX Runtime does, unless an intermediate
        // would be too large to hold: then shrinking axes go first (the result is the same up to rounding).
        if (LargestIntermediate(x.Shape, outShape, axes) > Array.MaxLength)
            axes = [.. axes.OrderBy(a => (double)outShape[a] / x.Shape[a])];
        var current = x;
        foreach (int axis in axes)
        {
            var coords = new float[outShape[axis]];
            for (int o = 0; o < coords.Length; o++)
                coords[o] = Coordinate(coordMode, o, (float)scales[axis], x.Shape[axis], outShape[axis]);
            current = mode == "nearest"
                ? NearestAxis(current, axis, coords, nearestMode, scales[axis] < 1)
                : LinearAxis(current, axis, coords);
        }
        return ReferenceEquals(current, x) ? TensorOps.Copy(x) : current;
    }

    /// <summary>The largest element count of the tensors resizing <paramref name="axes"/> one after another makes.</summary>
    private static long LargestIntermediate(int[] inShape, int[] outShape, List<int> axes)
    {
        var shape = (int[])inShape.Clone();
        long largest = 0;
        foreach (int a in axes)
        {
            shape[a] = outShape[a];
            largest = Math.Max(largest, ShapeMath.ElementCountSaturated(shape));
        }
        return largest;
    }

    /// <summary>
    /// The input coordinate that output coordinate <paramref name="o"/> samples. Computed in single
    /// precision with the float scale, as ONNX Runtime does: exact ties such as 8.5 / 1.7 - 0.5 = 4.5
    /// then round the way the formula intends (in double, 1.7f is not 1.7 and the tie is lost).
    /// </summary>
    public static float Coordinate(string mode, int o, float scale, int inSize, int outSize)
    {
        float x = o, length = outSize, original = inSize;
        return mode switch
        {
            "half_pixel" => (x + 0.5f) / scale - 0.5f,
            "pytorch_half_pixel" => length > 1 ? (x + 0.5f) / scale - 0.5f : 0f,
            "align_corners" => length == 1 ? 0f : x * (original - 1) / (length - 1),
            "asymmetric" => x / scale,
            "tf_half_pixel_for_nn" => (x + 0.5f) / scale,
            "half_pixel_symmetric" => original / 2 * (1 - length / (scale * original)) + (x + 0.5f) / scale - 0.5f,
            _ => throw new InvalidOperationException("unknown coordinate mode " + mode),
        };
    }

    private static int Nearest(string mode, float x, bool downsampling) => mode switch
    {
        "round_prefer_floor" => x == MathF.Floor(x) + 0.5f ? (int)MathF.Floor(x) : (int)MathF.Round(x, MidpointRounding.AwayFromZero),
        "round_prefer_ceil" => (int)MathF.Round(x, MidpointRounding.AwayFromZero),
        "floor" => (int)MathF.Floor(x),
        "ceil" => (int)MathF.Ceiling(x),
        // Resize-10 and Upsample as ONNX Runtime runs them: truncate when upsampling, ceil when downsampling.
        "legacy" => downsampling ? (int)MathF.Ceiling(x) : (int)x,
        _ => throw new InvalidOperationException("unknown nearest mode " + mode),
    };

    private static Tensor NearestAxis(Tensor x, int axis, float[] coords, string mode, bool downsampling)
    {
        int inSize = x.Shape[axis], outSize = coords.Length;
        int outer = TensorOps.Product(x.Shape, 0, axis), inner = TensorOps.Product(x.Shape, axis + 1, x.Rank);
        var src = new int[outSize];
        for (int o = 0; o < outSize; o++)
            src[o] = Math.Clamp(Nearest(mode, coords[o], downsampling), 0, inSize - 1);
        var shape = (int[])x.Shape.Clone();
        shape[axis] = outSize;
        var map = new int[checked(outer * outSize * inner)];
        int k = 0;
        for (int a = 0; a < outer; a++)
            for (int o = 0; o < outSize; o++)
                for (int b = 0; b < inner; b++)
                    map[k++] = (a * inSize + src[o]) * inner + b;
        return TensorOps.Take(x, shape, map);
    }

    private static Tensor LinearAxis(Tensor x, int axis, float[] coords)
    {
        int inSize = x.Shape[axis], outSize = coords.Length;
        int outer = TensorOps.Product(x.Shape, 0, axis), inner = TensorOps.Product(x.Shape, axis + 1, x.Rank);
        var shape = (int[])x.Shape.Clone();
        shape[axis] = outSize;
        var xd = x.Floats;
        var y = new float[checked(outer * outSize * inner)];
        for (int o = 0; o < outSize; o++)
        {
            double pos = Math.Clamp((double)coords[o], 0, inSize - 1);
            int i0 = (int)Math.Floor(pos), i1 = Math.Min(i0 + 1, inSize - 1);
            double w1 = pos - i0, w0 = 1 - w1;
            for (int a = 0; a < outer; a++)
                for (int b = 0; b < inner; b++)
                    y[(a * outSize + o) * inner + b] = (float)(w0 * xd[(a * inSize + i0) * inner + b] + w1 * xd[(a * inSize + i1) * inner + b]);
        }
        return new Tensor(DataType.Float, shape, y);
    }
}
