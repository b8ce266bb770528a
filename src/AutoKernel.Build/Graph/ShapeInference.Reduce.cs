namespace AutoKernel.Build.Graph;

public static partial class ShapeInference
{
    private static void AddReduceRules(Dictionary<string, Rule> r)
    {
        foreach (var op in new[] { "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare" })
            r[op] = Reduce;
        r["ArgMax"] = ArgExtreme;
        r["ArgMin"] = ArgExtreme;
        r["Softmax"] = Softmax;
        r["LogSoftmax"] = Softmax;
        r["Resize"] = Resize;
        r["Upsample"] = Upsample;
    }

    private static TensorType?[] Reduce(Ctx c)
    {
        int axesInputFrom = c.Op == "ReduceSum" ? 13 : 18;
        bool axesInput = c.Opset >= axesInputFrom;
        c.InputCount(1, axesInput ? 2 : 1);
        var x = c.In(0);
        c.Numeric(x);
        if (axesInput && c.Node.Has("axes"))
            throw c.Fail($"{c.Op} attribute axes is not allowed from opset {axesInputFrom}; axes is an input");
        long[]? axes = axesInput ? (c.Has(1) ? c.ConstInts(1, "axes") : null) : c.Ints("axes");
        bool keep = c.Flag("keepdims", true);
        bool noop = axesInput && c.Flag("noop_with_empty_axes", false);
        var reduce = new bool[x.Rank];
        if (axes is null || axes.Length == 0)
        {
            if (noop)
                return One(x);
            Array.Fill(reduce, true);
        }
        else
        {
            foreach (int a in c.Axes(axes, x.Rank))
                reduce[a] = true;
        }
        var shape = new List<int>(x.Rank);
        for (int i = 0; i < x.Rank; i++)
        {
            if (!reduce[i])
                shape.Add(x.Shape[i]);
            else if (keep)
                shape.Add(1);
        }
        return One(T(x.ElementType, [.. shape]));
    }

    /// <summary>ArgMax / ArgMin: int64 indices along 'axis', that axis kept as 1 or dropped.</summary>
    private static TensorType?[] ArgExtreme(Ctx c)
    {
        c.InputCount(1, 1);
        var x = c.In(0);
        c.Numeric(x);
        if (x.Rank == 0)
            throw c.Fail($"{c.Op} needs an input of rank at least 1");
        int axis = c.Axis(c.Int("axis", 0), x.Rank);
        if (x.Shape[axis] == 0)
            throw c.Fail($"{c.Op} over the empty axis {axis} has no answer");
        bool keep = c.Flag("keepdims", true);
        int[] shape = keep ? [.. x.Shape[..axis], 1, .. x.Shape[(axis + 1)..]] : [.. x.Shape[..axis], .. x.Shape[(axis + 1)..]];
        return One(T(DataType.Int64, shape));
    }

    private static TensorType?[] Softmax(Ctx c)
    {
        c.InputCount(1, 1);
        var x = c.In(0);
        c.FloatingPoint(x);
        if (x.Rank == 0)
            throw c.Fail($"{c.Op} needs an input of rank at least 1");
        c.Axis(c.Int("axis", c.Opset >= 13 ? -1 : 1), x.Rank);
        return One(x);
    }

    private static readonly string[] CoordinateModes =
        ["half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn"];

    private static readonly string[] NearestModes = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"];

    /// <summary>floor(input * scale) with the scale in single precision, as ONNX Runtime computes it.</summary>
    private static int ScaledSize(Ctx c, int input, double scale, int axis)
    {
        float scaled = (float)scale * input;
        double size = Math.Floor(scaled);
        if (size < 1 && input > 0)
            throw c.Fail($"{c.Op} scale {scale} makes axis {axis} of size {input} empty");
        return c.Dim((long)size, "output size");
    }

    private static TensorType?[] Resize(Ctx c)
    {
        c.InputCount(c.Opset >= 13 ? 1 : c.Opset >= 11 ? 3 : 2, c.Opset >= 11 ? 4 : 2);
        var x = c.In(0);
        if (x.Rank == 0)
            throw c.Fail($"{c.Op} needs an input of rank at least 1");
        string mode = c.Str("mode", "nearest");
        if (mode is not ("nearest" or "linear"))
            throw c.Fail($"{c.Op} mode '{mode}' is not supported");
        string policy = "stretch";
        int[] axes = Enumerable.Range(0, x.Rank).ToArray();
        if (c.Opset >= 11)
        {
            string coord = c.Str("coordinate_transformation_mode", "half_pixel");
            if (Array.IndexOf(CoordinateModes, coord) < 0)
                throw c.Fail($"{c.Op} coordinate_transformation_mode '{coord}' is not supported");
            string nearest = c.Str("nearest_mode", "round_prefer_floor");
            if (Array.IndexOf(NearestModes, nearest) < 0)
                throw c.Fail($"{c.Op} nearest_mode '{nearest}' is not supported");
            c.Flag("exclude_outside", false);
        }
        if (c.Opset >= 18)
        {
            if (c.Flag("antialias", false))
                throw c.Fail($"{c.Op} antialias is not supported");
            policy = c.Str("keep_aspect_ratio_policy", "stretch");
            if (policy is not ("stretch" or "not_larger" or "not_smaller"))
                throw c.Fail($"{c.Op} keep_aspect_ratio_policy '{policy}' is not supported");
            if (c.Ints("axes") is { } a)
                axes = c.Axes(a, x.Rank);
        }

        int scalesIndex = c.Opset >= 11 ? 2 : 1, sizesIndex = c.Opset >= 11 ? 3 : -1;
        var scalesType = c.Opt(scalesIndex);
        var sizesType = sizesIndex > 0 ? c.Opt(sizesIndex) : null;
        bool hasScales = scalesType is { ElementCount: > 0 }, hasSizes = sizesType is { ElementCount: > 0 };
        if (hasScales && hasSizes)
            throw c.Fail($"{c.Op} takes scales or sizes, not both");
        if (!hasScales && !hasSizes)
            throw c.Fail($"{c.Op} needs non-empty scales or sizes");

        var shape = (int[])x.Shape.Clone();
        if (hasScales)
        {
            var scales = c.ConstFloats(scalesIndex, "scales");
            if (scales.Length != axes.Length)
                throw c.Fail($"{c.Op} has {scales.Length} scales but {axes.Length} axes to resize");
            for (int k = 0; k < axes.Length; k++)
            {
                if (!(scales[k] > 0) || double.IsInfinity(scales[k]))
                    throw c.Fail($"{c.Op} scale {scales[k]} on axis {axes[k]} must be positive");
                shape[axes[k]] = ScaledSize(c, x.Shape[axes[k]], scales[k], axes[k]);
            }
            return One(T(x.ElementType, shape));
        }

        var sizes = c.ConstInts(sizesIndex, "sizes");
        if (sizes.Length != axes.Length)
            throw c.Fail($"{c.Op} has {sizes.Length} sizes but {axes.Length} axes to resize");
        for (int k = 0; k < axes.Length; k++)
        {
            if (sizes[k] < 1)
                throw c.Fail($"{c.Op} sizes {Fmt(sizes)} must be positive");
        }
        if (policy == "stretch")
        {
            for (int k = 0; k < axes.Length; k++)
                shape[axes[k]] = c.Dim(sizes[k], "output size");
        }
        else
        {
            float scale = policy == "not_larger" ? float.MaxValue : float.MinValue;
            for (int k = 0; k < axes.Length; k++)
            {
                int input = x.Shape[axes[k]];
                if (input == 0)
                    throw c.Fail($"{c.Op} cannot keep the aspect ratio of an empty axis {axes[k]}");
                float s = (float)sizes[k] / input;
                scale = policy == "not_larger" ? Math.Min(scale, s) : Math.Max(scale, s);
            }
            for (int k = 0; k < axes.Length; k++)
            {
                double size = Math.Round((double)(scale * x.Shape[axes[k]]), MidpointRounding.AwayFromZero);
                shape[axes[k]] = c.Dim((long)size, "output size");
            }
        }
        return One(T(x.ElementType, shape));
    }

    private static TensorType?[] Upsample(Ctx c)
    {
        c.InputCount(c.Opset >= 9 ? 2 : 1, c.Opset >= 9 ? 2 : 1);
        var x = c.In(0);
        string mode = c.Str("mode", "nearest");
        if (mode is not ("nearest" or "linear" or "bilinear"))
            throw c.Fail($"{c.Op} mode '{mode}' is not supported");
        double[] scales = c.Opset >= 9
            ? c.ConstFloats(1, "scales")
            : (c.Floats("scales") ?? throw c.Fail($"{c.Op} needs attribute scales")).Select(f => (double)f).ToArray();
        if (scales.Length != x.Rank)
            throw c.Fail($"{c.Op} has {scales.Length} scales but the input has rank {x.Rank}");
        var shape = new int[x.Rank];
        for (int i = 0; i < shape.Length; i++)
        {
            if (!(scales[i] >= 1) || double.IsInfinity(scales[i]))
                throw c.Fail($"{c.Op} scale {scales[i]} on axis {i} must be at least 1");
            shape[i] = ScaledSize(c, x.Shape[i], scales[i], i);
        }
        return One(T(x.ElementType, shape));
    }
}
