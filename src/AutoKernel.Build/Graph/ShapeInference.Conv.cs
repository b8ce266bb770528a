namespace AutoKernel.Build.Graph;

public static partial class ShapeInference
{
    private static void AddConvRules(Dictionary<string, Rule> r)
    {
        r["Conv"] = c => One(ConvShape(c));
        r["ConvTranspose"] = ConvTranspose;
        r["MaxPool"] = c => Pool(c, max: true);
        r["AveragePool"] = c => Pool(c, max: false);
        r["GlobalAveragePool"] = GlobalPool;
        r["GlobalMaxPool"] = GlobalPool;
        r["Gemm"] = c => One(GemmShape(c));
        r["MatMul"] = c =>
        {
            c.InputCount(2, 2);
            return One(MatMulShape(c));
        };
        r["BatchNormalization"] = BatchNormalization;
        r["InstanceNormalization"] = InstanceNormalization;
        r["LayerNormalization"] = LayerNormalization;
        r["RMSNormalization"] = RmsNormalization;
        r["LRN"] = Lrn;
    }

    /// <summary>Spatial window attributes shared by Conv, ConvTranspose and the pools.</summary>
    private sealed record Window(int[] Kernel, int[] Strides, int[] Dilations, int[] Pads, string AutoPad);

    private static readonly string[] AutoPadModes = ["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"];

    private static int[] PositiveInts(Ctx c, string name, int count, int defaultValue, int minimum = 1)
    {
        var v = c.Ints(name);
        if (v is null)
            return Enumerable.Repeat(defaultValue, count).ToArray();
        if (v.Length != count)
            throw c.Fail($"{c.Op} attribute {name} has {v.Length} values, expected {count}");
        var result = new int[count];
        for (int i = 0; i < count; i++)
        {
            if (v[i] < minimum || v[i] > int.MaxValue)
                throw c.Fail($"{c.Op} attribute {name} {Fmt(v)} must be {(minimum == 0 ? "non-negative" : "positive")}");
            result[i] = (int)v[i];
        }
        return result;
    }

    private static Window ReadWindow(Ctx c, int spatial, int[] kernel, bool dilations)
    {
        string autoPad = c.Str("auto_pad", "NOTSET");
        if (Array.IndexOf(AutoPadModes, autoPad) < 0)
            throw c.Fail($"attribute auto_pad '{autoPad}' is not supported");
        var strides = PositiveInts(c, "strides", spatial, 1);
        var dil = dilations ? PositiveInts(c, "dilations", spatial, 1) : Enumerable.Repeat(1, spatial).ToArray();
        var pads = PositiveInts(c, "pads", 2 * spatial, 0, minimum: 0);
        if (autoPad != "NOTSET" && Array.Exists(pads, p => p != 0))
            throw c.Fail($"{c.Op} cannot use pads {Fmt(pads)} together with auto_pad {autoPad}");
        return new Window(kernel, strides, dil, pads, autoPad);
    }

    /// <summary>Kernel size from the kernel_shape attribute, checked against the weight's spatial dims when there is a weight.</summary>
    private static int[] KernelShape(Ctx c, int spatial, int[]? weightSpatial)
    {
        var ks = c.Ints("kernel_shape");
        if (ks is null)
            return weightSpatial ?? throw c.Fail($"{c.Op} needs attribute kernel_shape");
        var k = PositiveInts(c, "kernel_shape", spatial, 1);
        if (weightSpatial is not null && !ShapeMath.SameShape(k, weightSpatial))
            throw c.Fail($"{c.Op} kernel_shape {Fmt(k)} does not match the weight's spatial shape {Fmt(weightSpatial)}");
        return k;
    }

    /// <summary>Conv / pooling output size along one axis (ONNX spec; ORT's last-window rule for ceil_mode).</summary>
    private static int WindowOutput(Ctx c, Window w, int axis, int input, bool ceilMode)
    {
        int spatial = w.Kernel.Length;
        var (begin, end, output) = ConvGeometry.ResolveAxis(
            w.AutoPad, input, w.Kernel[axis], w.Strides[axis], w.Dilations[axis], w.Pads[axis], w.Pads[axis + spatial], ceilMode);
        if (output < 1)
        {
            long extent = (long)w.Dilations[axis] * (w.Kernel[axis] - 1) + 1;
            throw c.Fail($"{c.Op} kernel extent {extent} is larger than the padded input {input + begin + end} on spatial axis {axis}");
        }
        return c.Dim(output, "output size");
    }

    private static TensorType ConvShape(Ctx c)
    {
        c.InputCount(2, 3);
        var x = c.In(0);
        var w = c.In(1);
        c.Rank(x, 3, 5);
        c.FloatingPoint(x);
        c.SameType(x, w, "weight");
        if (w.Rank != x.Rank)
            throw c.Fail($"{c.Op} weight has rank {w.Rank} but the input has rank {x.Rank}");
        int spatial = x.Rank - 2;
        long group = c.Int("group", 1);
        if (group < 1)
            throw c.Fail($"{c.Op} attribute group must be positive, got {group}");
        int channels = x.Shape[1], outChannels = w.Shape[0];
        if (channels != (long)w.Shape[1] * group)
            throw c.Fail($"{c.Op} input has {channels} channels but weight expects {(long)w.Shape[1] * group} (group {group})");
        if (outChannels % group != 0)
            throw c.Fail($"{c.Op} weight has {outChannels} output channels, not divisible by group {group}");
        if (c.Opt(2) is { } bias)
        {
            c.SameType(x, bias, "bias");
            if (bias.Rank != 1 || bias.Shape[0] != outChannels)
                throw c.Fail($"{c.Op} bias has shape {Fmt(bias.Shape)}, expected [{outChannels}]");
        }
        var kernel = KernelShape(c, spatial, w.Shape[2..]);
        var win = ReadWindow(c, spatial, kernel, dilations: true);
        var shape = new int[x.Rank];
        shape[0] = x.Shape[0];
        shape[1] = outChannels;
        for (int i = 0; i < spatial; i++)
            shape[i + 2] = WindowOutput(c, win, i, x.Shape[i + 2], ceilMode: false);
        return T(x.ElementType, shape);
    }

    private static TensorType?[] ConvTranspose(Ctx c)
    {
        c.InputCount(2, 3);
        var x = c.In(0);
        var w = c.In(1);
        c.Rank(x, 3, 5);
        c.FloatingPoint(x);
        c.SameType(x, w, "weight");
        if (w.Rank != x.Rank)
            throw c.Fail($"{c.Op} weight has rank {w.Rank} but the input has rank {x.Rank}");
        int spatial = x.Rank - 2;
        long group = c.Int("group", 1);
        if (group < 1)
            throw c.Fail($"{c.Op} attribute group must be positive, got {group}");
        int channels = x.Shape[1];
        if (channels != w.Shape[0])
            throw c.Fail($"{c.Op} input has {channels} channels but weight expects {w.Shape[0]} (group {group})");
        if (channels % group != 0)
            throw c.Fail($"{c.Op} input has {channels} channels, not divisible by group {group}");
        int outChannels = c.Dim((long)w.Shape[1] * group, "output channel count");
        if (c.Opt(2) is { } bias)
        {
            c.SameType(x, bias, "bias");
            if (bias.Rank != 1 || bias.Shape[0] != outChannels)
                throw c.Fail($"{c.Op} bias has shape {Fmt(bias.Shape)}, expected [{outChannels}]");
        }
        var kernel = KernelShape(c, spatial, w.Shape[2..]);
        var win = ReadWindow(c, spatial, kernel, dilations: true);
        var outputPadding = PositiveInts(c, "output_padding", spatial, 0, minimum: 0);
        var outputShape = c.Ints("output_shape");
        if (outputShape is not null && outputShape.Length != spatial && outputShape.Length != spatial + 2)
            throw c.Fail($"{c.Op} output_shape {Fmt(outputShape)} has {outputShape.Length} values, expected {spatial}");

        var shape = new int[x.Rank];
        shape[0] = x.Shape[0];
        shape[1] = outChannels;
        for (int i = 0; i < spatial; i++)
        {
            long input = x.Shape[i + 2], s = win.Strides[i];
            long extent = (long)win.Dilations[i] * (kernel[i] - 1) + 1;
            long output;
            if (outputShape is not null)
            {
                output = outputShape[outputShape.Length - spatial + i];
                if (output < 1)
                    throw c.Fail($"{c.Op} output_shape {Fmt(outputShape)} must be positive");
                // As ONNX Runtime: padding is clamped at 0, and the output may then exceed the full
                // output by less than one stride; anything larger does not match this input size.
                long full = s * (input - 1) + outputPadding[i] + extent;
                if (output - full >= s)
                    throw c.Fail($"{c.Op} output_shape {Fmt(outputShape)} is inconsistent with input size {input} on spatial axis {i} (at most {full + s - 1})");
            }
            else if (win.AutoPad is "SAME_UPPER" or "SAME_LOWER")
            {
                // ONNX: input * stride. ONNX Runtime clamps the total padding at 0, so when the full
                // output is smaller than that (kernel < stride) it keeps the full output instead.
                long full = s * (input - 1) + outputPadding[i] + extent;
                output = Math.Min(input * s, full);
            }
            else
            {
                long pads = win.AutoPad == "VALID" ? 0 : (long)win.Pads[i] + win.Pads[i + spatial];
                output = s * (input - 1) + outputPadding[i] + extent - pads;
                if (output < 1)
                    throw c.Fail($"{c.Op} output size on spatial axis {i} would be {output} (pads too large)");
            }
            shape[i + 2] = c.Dim(output, "output size");
        }
        return One(T(x.ElementType, shape));
    }

    private static TensorType?[] Pool(Ctx c, bool max)
    {
        c.InputCount(1, 1);
        var x = c.In(0);
        c.Rank(x, 3, 5);
        if (max)
            c.Numeric(x);
        else
            c.FloatingPoint(x);
        int spatial = x.Rank - 2;
        var kernel = KernelShape(c, spatial, null);
        bool dilations = max ? c.Opset >= 10 : c.Opset >= 19;
        if (!dilations && c.Node.Has("dilations"))
            throw c.Fail($"{c.Op} attribute dilations is not allowed before opset {(max ? 10 : 19)}");
        var win = ReadWindow(c, spatial, kernel, dilations);
        bool ceil = c.Flag("ceil_mode", false);
        if (max)
            c.Flag("storage_order", false);
        else
            c.Flag("count_include_pad", false);
        for (int i = 0; i < spatial; i++)
        {
            // ONNX Runtime rejects a pad as large as the kernel: such a window would see only padding.
            if (win.AutoPad == "NOTSET" && (win.Pads[i] >= kernel[i] || win.Pads[i + spatial] >= kernel[i]))
                throw c.Fail($"{c.Op} pads {Fmt(win.Pads)} must be smaller than the kernel {Fmt(kernel)}");
        }
        var shape = new int[x.Rank];
        shape[0] = x.Shape[0];
        shape[1] = x.Shape[1];
        for (int i = 0; i < spatial; i++)
            shape[i + 2] = WindowOutput(c, win, i, x.Shape[i + 2], ceil);
        var y = T(x.ElementType, shape);
        return max ? [y, T(DataType.Int64, shape)] : [y];
    }

    private static TensorType?[] GlobalPool(Ctx c)
    {
        c.InputCount(1, 1);
        var x = c.In(0);
        c.Rank(x, 3, int.MaxValue);
        if (c.Op == "GlobalAveragePool")
            c.FloatingPoint(x);
        else
            c.Numeric(x);
        var shape = new int[x.Rank];
        shape[0] = x.Shape[0];
        shape[1] = x.Shape[1];
        for (int i = 2; i < shape.Length; i++)
            shape[i] = 1;
        return One(T(x.ElementType, shape));
    }

    private static TensorType GemmShape(Ctx c)
    {
        c.InputCount(c.Opset >= 11 ? 2 : 3, 3);
        var a = c.In(0);
        var b = c.In(1);
        c.Numeric(a);
        c.SameType(a, b, "B");
        c.Rank(a, 2, 2, "A");
        c.Rank(b, 2, 2, "B");
        bool transA = c.Flag("transA", false), transB = c.Flag("transB", false);
        int m = transA ? a.Shape[1] : a.Shape[0], k = transA ? a.Shape[0] : a.Shape[1];
        int kb = transB ? b.Shape[1] : b.Shape[0], n = transB ? b.Shape[0] : b.Shape[1];
        if (k != kb)
            throw c.Fail($"{c.Op} inner dimensions differ: A{(transA ? "ᵀ" : "")} is {m}x{k} but B{(transB ? "ᵀ" : "")} is {kb}x{n}");
        int[] shape = [m, n];
        if (c.Opt(2) is { } bias)
        {
            c.SameType(a, bias, "C");
            var bc = ShapeMath.Broadcast(bias.Shape, shape);
            if (bias.Rank > 2 || bc is null || !ShapeMath.SameShape(bc, shape))
                throw c.Fail($"{c.Op} C {Fmt(bias.Shape)} does not broadcast to the output {Fmt(shape)}");
        }
        return T(a.ElementType, shape);
    }

    private static TensorType MatMulShape(Ctx c)
    {
        var a = c.In(0);
        var b = c.In(1);
        c.Numeric(a);
        c.SameType(a, b, "input 1");
        if (a.Rank == 0 || b.Rank == 0)
            throw c.Fail($"{c.Op} does not accept scalar operands ({a} x {b})");
        int[] sa = a.Rank == 1 ? [1, a.Shape[0]] : a.Shape;
        int[] sb = b.Rank == 1 ? [b.Shape[0], 1] : b.Shape;
        int m = sa[^2], k = sa[^1], kb = sb[^2], n = sb[^1];
        if (k != kb)
            throw c.Fail($"{c.Op} inner dimensions differ: {Fmt(a.Shape)} x {Fmt(b.Shape)}");
        var batchA = sa[..^2];
        var batchB = sb[..^2];
        var batch = ShapeMath.Broadcast(batchA, batchB)
            ?? throw c.Fail($"{c.Op} cannot broadcast batch dimensions {Fmt(batchA)} with {Fmt(batchB)}");
        var shape = new List<int>(batch);
        if (a.Rank > 1)
            shape.Add(m);
        if (b.Rank > 1)
            shape.Add(n);
        return T(a.ElementType, [.. shape]);
    }

    private static TensorType?[] BatchNormalization(Ctx c)
    {
        c.InputCount(5, 5);
        var x = c.In(0);
        c.Rank(x, 2, int.MaxValue);
        c.FloatingPoint(x);
        if (c.Opset < 9 && c.Int("spatial", 1) != 1)
            throw c.Fail($"{c.Op} spatial={c.Int("spatial", 1)} is not supported");
        if (c.Opset >= 14 && c.Flag("training_mode", false))
            throw c.Fail($"{c.Op} training_mode 1 is not supported");
        int channels = x.Shape[1];
        string[] names = ["scale", "B", "mean", "var"];
        for (int i = 1; i <= 4; i++)
        {
            var p = c.In(i);
            if (!p.ElementType.IsFloatingPoint())
                throw c.Fail($"{c.Op} {names[i - 1]} must be floating-point, got {p.ElementType.Name()}");
            if (p.Rank != 1 || p.Shape[0] != channels)
                throw c.Fail($"{c.Op} {names[i - 1]} has shape {Fmt(p.Shape)}, expected [{channels}]");
        }
        for (int i = 1; i < c.Node.Outputs.Count; i++)
        {
            if (c.Node.Outputs[i].Length > 0)
                throw c.Fail($"{c.Op} training outputs (running mean/variance) are not supported");
        }
        return One(x);
    }

    private static TensorType?[] InstanceNormalization(Ctx c)
    {
        c.InputCount(3, 3);
        var x = c.In(0);
        c.Rank(x, 3, int.MaxValue);
        c.FloatingPoint(x);
        int channels = x.Shape[1];
        for (int i = 1; i <= 2; i++)
        {
            var p = c.In(i);
            c.SameType(x, p, i == 1 ? "scale" : "B");
            if (p.Rank != 1 || p.Shape[0] != channels)
                throw c.Fail($"{c.Op} {(i == 1 ? "scale" : "B")} has shape {Fmt(p.Shape)}, expected [{channels}]");
        }
        return One(x);
    }

    /// <summary>LayerNormalization (opset 17): Y has X's shape; Scale and B broadcast over the normalized axes; optional Mean and InvStdDev.</summary>
    private static TensorType?[] LayerNormalization(Ctx c)
    {
        c.InputCount(2, 3);
        var x = c.In(0);
        c.FloatingPoint(x);
        long axis = c.Int("axis", -1);
        if (axis < -x.Rank || axis >= x.Rank)
            throw c.Fail($"{c.Op} axis {axis} is out of range for rank {x.Rank}");
        int first = (int)(axis < 0 ? axis + x.Rank : axis);
        int[] normalized = x.Shape[first..];
        for (int i = 1; i < 3; i++)
        {
            if (c.Node.Input(i).Length == 0)
                continue;
            var p = c.In(i);
            c.SameType(x, p, i == 1 ? "Scale" : "B");
            if (ShapeMath.Broadcast(normalized, p.Shape) is not { } joined || !ShapeMath.SameShape(joined, normalized))
                throw c.Fail($"{c.Op} {(i == 1 ? "Scale" : "B")} {Fmt(p.Shape)} does not broadcast to the normalized shape {Fmt(normalized)}");
        }
        if (c.Int("stash_type", 1) != 1)
            throw c.Fail($"{c.Op} stash_type {c.Int("stash_type", 1)} is not supported (only 1, float)");
        // Mean and InvStdDev keep the leading axes and set the normalized ones to 1, in the stash type.
        int[] stats = [.. x.Shape[..first], .. Enumerable.Repeat(1, x.Rank - first)];
        return [x, T(DataType.Float, stats), T(DataType.Float, stats)];
    }

    /// <summary>RMSNormalization (opset 23): Y has X's shape; Scale broadcasts over the normalized axes.</summary>
    private static TensorType?[] RmsNormalization(Ctx c)
    {
        if (c.Opset < 23)
            throw c.Fail($"{c.Op} is an operator from opset 23; this model imports opset {c.Opset}");
        c.InputCount(2, 2);
        var x = c.In(0);
        c.FloatingPoint(x);
        int first = c.Axis(c.Int("axis", -1), x.Rank);
        int[] normalized = x.Shape[first..];
        var scale = c.In(1);
        c.SameType(x, scale, "scale");
        if (ShapeMath.Broadcast(normalized, scale.Shape) is not { } joined || !ShapeMath.SameShape(joined, normalized))
            throw c.Fail($"{c.Op} scale {Fmt(scale.Shape)} does not broadcast to the normalized shape {Fmt(normalized)}");
        if (c.Int("stash_type", 1) != 1)
            throw c.Fail($"{c.Op} stash_type {c.Int("stash_type", 1)} is not supported (only 1, float)");
        return One(x);
    }

    private static TensorType?[] Lrn(Ctx c)
    {
        c.InputCount(1, 1);
        var x = c.In(0);
        c.Rank(x, 3, int.MaxValue);
        c.FloatingPoint(x);
        if (!c.Node.Has("size"))
            throw c.Fail($"{c.Op} needs attribute size");
        long size = c.Int("size", 0);
        if (size < 1)
            throw c.Fail($"{c.Op} attribute size must be positive, got {size}");
        return One(x);
    }

    // ---- fused ops ----

    private static void CheckActivation(Ctx c)
    {
        string act = c.Str(FusedOps.ActivationAttribute, "");
        if (act.Length > 0 && !Activations.Fusable.Contains(act))
            throw c.Fail($"{c.Op} activation '{act}' is not supported");
        c.Node.GetFloat(FusedOps.AlphaAttribute, 0f);
        c.Node.GetFloat(FusedOps.BetaAttribute, 0f);
    }

    private static TensorType?[] WithResidual(Ctx c, TensorType output)
    {
        CheckActivation(c);
        if (c.Opt(FusedOps.ResidualInput) is { } residual)
        {
            c.SameType(output, residual, "residual");
            if (!ShapeMath.SameShape(residual.Shape, output.Shape))
                throw c.Fail($"{c.Op} residual has shape {Fmt(residual.Shape)} but the output is {Fmt(output.Shape)}");
        }
        return One(output);
    }

    /// <summary>Runs a base-op rule on the first three inputs of a fused node (the residual is checked separately).</summary>
    private static TensorType BaseOf(Ctx c, Func<Ctx, TensorType> rule)
    {
        c.InputCount(2, 4);
        var baseNode = new Node(c.Node.Name, c.Op, c.Node.Inputs.Take(3), c.Node.Outputs.Take(1), c.Node.Domain);
        foreach (var (k, v) in c.Node.Attributes)
            baseNode.Attributes[k] = v;
        var inputs = Enumerable.Range(0, 3).Select(i => c.Has(i) ? c.In(i) : null).ToArray();
        var consts = Enumerable.Range(0, 3).Select(c.ConstOrNull).ToArray();
        try
        {
            return rule(new Ctx(baseNode, c.Opset, inputs, consts));
        }
        catch (ModelException e)
        {
            e.Node = c.Node;
            throw;
        }
    }

    private static TensorType?[] FusedConv(Ctx c) => WithResidual(c, BaseOf(c, ConvShape));

    private static TensorType?[] FusedGemm(Ctx c) => WithResidual(c, BaseOf(c, GemmShape));

    private static TensorType?[] FusedMatMul(Ctx c)
    {
        c.InputCount(2, 4);
        var y = MatMulShape(c);
        if (c.Opt(2) is { } bias)
        {
            c.SameType(y, bias, "bias");
            int n = y.Rank > 0 ? y.Shape[^1] : 1;
            if (bias.Rank != 1 || bias.Shape[0] != n)
                throw c.Fail($"{c.Op} bias has shape {Fmt(bias.Shape)}, expected [{n}]");
        }
        return WithResidual(c, y);
    }
}
