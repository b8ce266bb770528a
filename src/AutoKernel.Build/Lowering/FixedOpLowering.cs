using System.Globalization;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Reference;
using AutoKernel.Generator.Kernels;

namespace AutoKernel.Build.Lowering;

/// <summary>A fixed kernel for one node: Operands[i] is the graph value (computed or a float initializer) feeding kernel input i.</summary>
public sealed record LoweredOp(FixedOp Op, IReadOnlyList<string> Operands);

/// <summary>
/// Maps a graph node to the <see cref="FixedOp"/> whose generated kernel computes it. Every operator
/// of the default domain that can run on float32 tensors has one, and so do the fused operators;
/// only nodes with a non-float tensor computed at run time (or a constant the importer keeps as a
/// node) have none, and <see cref="WhyNot"/> says so. Opset-dependent attributes are resolved here,
/// so kernels see plain normalized attributes; data-movement operators become index maps found by
/// running the reference kernel on an input that holds each element's own index.
/// </summary>
public static class FixedOpLowering
{
    /// <summary>
    /// <paramref name="block"/>: the channel block of the node's first activation input's layout
    /// (0 = standard; b &gt;= 1 = NCHW[b]c, 4-D only). Ops that run on blocked buffers use it; others return Block 0.
    /// </summary>
    public static LoweredOp? Lower(ModelGraph graph, Node node, int block) => Core(graph, node, block).Op;

    /// <summary>One line saying why <see cref="Lower"/> returns null for this node, or null when it does not.</summary>
    public static string? WhyNot(ModelGraph graph, Node node) => Core(graph, node, 0).Why;

    private static readonly HashSet<string> CopyOps = new(StringComparer.Ordinal)
    { "Identity", "Dropout", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Cast" };

    private static readonly HashSet<string> ElementwiseOps = new(StringComparer.Ordinal)
    {
        "Add", "Sub", "Mul", "Div", "Pow", "Mod", "Min", "Max", "Sum", "Mean", "PRelu",
        "Neg", "Abs", "Sqrt", "Exp", "Log", "Reciprocal", "Floor", "Ceil", "Erf", "Softsign",
    };

    private static readonly HashSet<string> IndexMapOps = new(StringComparer.Ordinal)
    { "Transpose", "Slice", "Gather", "Expand", "Tile", "Pad", "DepthToSpace", "SpaceToDepth" };

    private static readonly HashSet<string> Logical = new(StringComparer.Ordinal)
    { "Not", "And", "Or", "Xor", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual" };

    private static readonly HashSet<string> ShapeOps = new(StringComparer.Ordinal)
    { "Shape", "Size", "Range", "ConstantOfShape" };

    private sealed class Fail(string why) : Exception(why);

    private static (LoweredOp? Op, string? Why) Core(ModelGraph graph, Node node, int block)
    {
        try
        {
            var op = LowerNode(graph, node, block);
            if (op is null)
                return (null, $"{node.OpType} has no fixed kernel");
            if (!FixedKernels.Supports(op.Op))
                return (null, $"{node.OpType}: no fixed kernel for {op.Op}");
            return (op, null);
        }
        catch (Fail f)
        {
            return (null, f.Message);
        }
        catch (ModelException e)
        {
            return (null, $"{node.OpType}: {e.Message}");
        }
    }

    private static LoweredOp? LowerNode(ModelGraph graph, Node node, int block)
    {
        bool fused = node.Domain == FusedOps.Domain;
        if (node.Domain is not ("" or "ai.onnx") && !fused)
            throw new Fail($"operator domain '{node.Domain}' has no fixed kernels");
        string opType = node.OpType;
        if (node.OpType == "Constant")
            throw new Fail("Constant produces a constant; constant folding turns it into an initializer");
        if (ShapeOps.Contains(opType))
            throw new Fail($"{opType} computes an int64 tensor at run time; only constant folding can remove it");
        if (Logical.Contains(opType))
            throw new Fail($"{opType} computes a bool tensor at run time; only constant folding can remove it");
        // Every computed value read or written must be float32.
        foreach (string v in node.Inputs.Where(v => v.Length > 0))
        {
            var type = graph.TypeOf(v) ?? throw new Fail($"value '{v}' has no known type");
            if (!type.IsStatic)
                throw new Fail($"value '{v}' has a dynamic shape");
            if (type.ElementType != DataType.Float && !graph.Initializers.ContainsKey(v))
                throw new Fail($"{type.ElementType.Name()} tensor '{v}' computed at run time");
        }
        var outputs = node.Outputs.Where(o => o.Length > 0).ToList();
        if (outputs.Count == 0)
            throw new Fail("node has no outputs");
        foreach (string o in outputs)
        {
            var type = graph.TypeOf(o) ?? throw new Fail($"value '{o}' has no known type");
            if (type.ElementType != DataType.Float)
                throw new Fail($"{type.ElementType.Name()} tensor '{o}' computed at run time");
        }
        if (outputs.Count > 1 && opType != "Split")
            throw new Fail($"{opType} with {outputs.Count} outputs has no fixed kernel");
        int[] y = graph.TypeOf(node.Outputs[0])!.Shape;
        string x0 = node.Input(0);
        int[] xs = x0.Length > 0 ? graph.TypeOf(x0)!.Shape : [];
        int opset = graph.Opset;

        if (CopyOps.Contains(opType))
            return Make("Copy", [x0], graph, [xs], y, 0);
        if (Activations.Fusable.Contains(opType))
        {
            if (Graph.Passes.EpilogueFusion.TryActivation(graph, node, out var act))
                return Blockable(graph, "Activation", [x0], y, block, Act(act.Kind, act.Alpha, act.Beta));
            if (opType == "Clip" && node.HasInput(1) && node.HasInput(2))
                return Blockable(graph, "Clip", [x0, node.Input(1), node.Input(2)], y, block, []);
            throw new Fail("Clip with a computed bound and a missing one has no fixed kernel");
        }
        if (ElementwiseOps.Contains(opType))
            return Blockable(graph, opType, [.. node.Inputs.Where(v => v.Length > 0)], y, block, []);
        switch (opType)
        {
            case "Where":
            {
                string cond = node.Input(0);
                if (!graph.Initializers.TryGetValue(cond, out var c))
                    throw new Fail("Where's bool condition is computed at run time");
                var values = Enumerable.Range(0, c.Length).Select(i => c.GetDouble(i) != 0 ? 1f : 0f);
                return Blockable(graph, "Where", [node.Input(1), node.Input(2)], y, 0,
                    [new("condition", FixedOp.Floats(values)), new("condition_shape", FixedOp.Ints(c.Shape))]);
            }
            case "BatchNormalization":
            {
                int rank = xs.Length;
                int[] param = [.. Enumerable.Range(0, rank).Select(d => d == 1 ? xs[1] : 1)];
                var operands = new[] { x0, node.Input(1), node.Input(2), node.Input(3), node.Input(4) };
                var shapes = new List<int[]> { xs, param, param, param, param };
                var attrs = new List<KeyValuePair<string, string>> { new("epsilon", FixedOp.Float(node.GetFloat("epsilon", 1e-5f))) };
                return BlockableShapes(graph, "BatchNormalization", operands, shapes, y, block, attrs);
            }
            case "MaxPool":
            case "AveragePool":
                return Pool(graph, node, xs, y, block);
            case "GlobalAveragePool":
            case "GlobalMaxPool":
                return Blockable(graph, opType, [x0], y, xs.Length == 4 ? block : 0, []);
            case "ReduceSum":
            case "ReduceMean":
            case "ReduceMax":
            case "ReduceMin":
            case "ReduceProd":
            case "ReduceL1":
            case "ReduceL2":
            case "ReduceSumSquare":
            case "ReduceLogSum":
            case "ReduceLogSumExp":
                return Reduce(graph, node, xs, y, block);
            case "Softmax":
            case "LogSoftmax":
            {
                var attrs = new List<KeyValuePair<string, string>>();
                if (opset >= 13)
                {
                    attrs.Add(new("axis", Str(Axis(node.GetInt("axis", -1), xs.Length))));
                }
                else
                {
                    long a = node.GetInt("axis", 1);
                    attrs.Add(new("axis", Str(a == xs.Length ? xs.Length : Axis(a, xs.Length))));
                    attrs.Add(new("coerce", "1"));
                }
                return Make(opType, [x0], graph, [xs], y, 0, attrs);
            }
            case "LayerNormalization":
            {
                var ops = node.Inputs.Take(3).Where(v => v.Length > 0).ToArray();
                return Make(opType, ops, graph, [.. ops.Select(v => graph.TypeOf(v)!.Shape)], y, 0,
                    [new("axis", Str(Axis(node.GetInt("axis", -1), xs.Length))), new("epsilon", FixedOp.Float(node.GetFloat("epsilon", 1e-5f)))]);
            }
            case "RMSNormalization":
                return Make(opType, [x0, node.Input(1)], graph, [xs, graph.TypeOf(node.Input(1))!.Shape], y, 0,
                    [new("axis", Str(Axis(node.GetInt("axis", -1), xs.Length))), new("epsilon", FixedOp.Float(node.GetFloat("epsilon", 1e-5f)))]);
            case "InstanceNormalization":
                return Make(opType, [x0, node.Input(1), node.Input(2)], graph, [xs, graph.TypeOf(node.Input(1))!.Shape, graph.TypeOf(node.Input(2))!.Shape], y, 0,
                    [new("epsilon", FixedOp.Float(node.GetFloat("epsilon", 1e-5f)))]);
            case "LRN":
                return Make(opType, [x0], graph, [xs], y, 0,
                [
                    new("size", Str((int)node.GetInt("size", 1))), new("alpha", FixedOp.Float(node.GetFloat("alpha", 1e-4f))),
                    new("beta", FixedOp.Float(node.GetFloat("beta", 0.75f))), new("bias", FixedOp.Float(node.GetFloat("bias", 1f))),
                ]);
            case "Concat":
            {
                var ops = node.Inputs.Where(v => v.Length > 0).ToArray();
                var shapes = ops.Select(v => graph.TypeOf(v)!.Shape).ToList();
                var attrs = new List<KeyValuePair<string, string>> { new("axis", Str(Axis(node.GetInt("axis", 0), y.Length))) };
                if (block > 0 && !ops.Any(graph.Initializers.ContainsKey))
                {
                    var blocked = Make("Concat", ops, graph, shapes, y, block, attrs);
                    if (FixedKernels.Supports(blocked.Op))
                        return blocked;
                }
                return Make("Concat", ops, graph, shapes, y, 0, attrs);
            }
            case "Split":
            {
                int axis = Axis(node.GetInt("axis", 0), xs.Length);
                var sizes = node.Outputs.Select(o => o.Length > 0 ? graph.TypeOf(o)!.Shape[axis] : throw new Fail("Split with an unnamed output has no fixed kernel")).ToArray();
                return Make("Split", [x0], graph, [xs], [checked((int)ShapeMath.ElementCount(xs))], 0,
                    [new("axis", Str(axis)), new("split", FixedOp.Ints(sizes))]);
            }
            case "Resize":
            case "Upsample":
            {
                string mode = node.GetString("mode", "nearest");
                if (mode is "linear" or "bilinear")
                    return LinearResize(graph, node, xs, y);
                return IndexMap(graph, node, xs, y, block);
            }
            case "Gemm":
            case "FusedGemm":
            {
                var attrs = new List<KeyValuePair<string, string>>
                {
                    new("transA", Str((int)node.GetInt("transA", 0))), new("transB", Str((int)node.GetInt("transB", 0))),
                    new("alpha", FixedOp.Float(node.GetFloat("alpha", 1f))), new("beta", FixedOp.Float(node.GetFloat("beta", 1f))),
                };
                return Product(graph, node, "Gemm", y, attrs);
            }
            case "MatMul":
            case "FusedMatMul":
                return Product(graph, node, "MatMul", y, []);
            case "Conv":
            case "FusedConv":
                return Conv(graph, node, xs, y);
            case "ConvTranspose":
                return ConvTranspose(graph, node, xs, y);
        }
        if (IndexMapOps.Contains(opType))
            return IndexMap(graph, node, xs, y, block);
        return null;
    }

    private static string Str(int v) => v.ToString(CultureInfo.InvariantCulture);

    private static int Axis(long axis, int rank)
    {
        int a = ShapeMath.NormalizeAxis(axis, rank);
        return a >= 0 ? a : throw new Fail($"axis {axis} is out of range for rank {rank}");
    }

    private static List<KeyValuePair<string, string>> Act(string kind, float alpha, float beta) =>
    [
        new(FusedOps.ActivationAttribute, kind), new(FusedOps.AlphaAttribute, FixedOp.Float(alpha)), new(FusedOps.BetaAttribute, FixedOp.Float(beta)),
    ];

    private static LoweredOp Make(string opType, IReadOnlyList<string> operands, ModelGraph graph, IReadOnlyList<int[]> shapes, int[] y, int block,
        IEnumerable<KeyValuePair<string, string>>? attrs = null)
    {
        var list = (attrs ?? []).ToList();
        if (block > 0)
        {
            var constants = operands.Select((v, i) => (v, i)).Where(p => graph.Initializers.ContainsKey(p.v)).Select(p => p.i).ToList();
            if (constants.Count > 0)
                list.Add(new("constant_inputs", FixedOp.Ints(constants)));
        }
        foreach (string v in operands)
        {
            if (graph.Initializers.TryGetValue(v, out var t) && t.Type != DataType.Float)
                throw new Fail($"{t.Type.Name()} initializer '{v}' feeds a float kernel input");
        }
        return new LoweredOp(new FixedOp(opType, shapes, y, block, list), operands);
    }

    /// <summary>Blocked when asked and the kernel supports it, else standard.</summary>
    private static LoweredOp Blockable(ModelGraph graph, string opType, IReadOnlyList<string> operands, int[] y, int block, IEnumerable<KeyValuePair<string, string>> attrs) =>
        BlockableShapes(graph, opType, operands, [.. operands.Select(v => graph.TypeOf(v)!.Shape)], y, block, attrs);

    private static LoweredOp BlockableShapes(ModelGraph graph, string opType, IReadOnlyList<string> operands, IReadOnlyList<int[]> shapes, int[] y, int block,
        IEnumerable<KeyValuePair<string, string>> attrs)
    {
        var list = attrs.ToList();
        if (block > 0 && y.Length == 4 && operands.Any(v => !graph.Initializers.ContainsKey(v)))
        {
            var blocked = Make(opType, operands, graph, shapes, y, block, list);
            if (FixedKernels.Supports(blocked.Op))
                return blocked;
        }
        return Make(opType, operands, graph, shapes, y, 0, list);
    }

    private static LoweredOp Pool(ModelGraph graph, Node node, int[] xs, int[] y, int block)
    {
        if (node.Outputs.Count > 1 && node.Outputs[1].Length > 0)
            throw new Fail("MaxPool's Indices output is int64");
        long[] ks = node.GetInts("kernel_shape") ?? throw new Fail($"{node.OpType} needs kernel_shape");
        var c = new OpContext(node, graph.Opset, []);
        var w = Window.Compute(c, xs[2..], [.. ks.Select(k => (int)k)], node.GetInt("ceil_mode", 0) != 0);
        int r = xs.Length - 2, o = Window.Axes - r;
        var attrs = new List<KeyValuePair<string, string>>
        {
            new("kernel_shape", FixedOp.Ints(w.Kernel.Skip(o))), new("strides", FixedOp.Ints(w.Stride.Skip(o))),
            new("dilations", FixedOp.Ints(w.Dilation.Skip(o))), new("pads_begin", FixedOp.Ints(w.PadBegin.Skip(o))),
            new("pads_end", FixedOp.Ints(w.PadEnd.Skip(o))),
        };
        if (node.OpType == "AveragePool")
            attrs.Add(new("count_include_pad", Str((int)node.GetInt("count_include_pad", 0))));
        return BlockableShapes(graph, node.OpType, [node.Input(0)], [xs], y, xs.Length == 4 ? block : 0, attrs);
    }

    private static LoweredOp Reduce(ModelGraph graph, Node node, int[] xs, int[] y, int block)
    {
        bool axesInput = node.OpType == "ReduceSum" ? graph.Opset >= 13 : graph.Opset >= 18;
        long[]? axes;
        if (axesInput)
        {
            axes = null;
            if (node.HasInput(1))
            {
                if (!graph.Initializers.TryGetValue(node.Input(1), out var t))
                    throw new Fail($"{node.OpType} axes are an int64 tensor computed at run time");
                axes = t.ToInt64Array();
            }
        }
        else
        {
            axes = node.GetInts("axes");
        }
        int[] normalized;
        if (axes is null || axes.Length == 0)
        {
            // With noop_with_empty_axes nothing is reduced: a copy, except that ReduceL1,
            // ReduceSumSquare and ReduceLogSum still map each element (|x|, x^2, log x).
            if (node.GetInt("noop_with_empty_axes", 0) != 0)
            {
                return node.OpType is "ReduceSum" or "ReduceMean" or "ReduceMax" or "ReduceMin" or "ReduceProd" or "ReduceLogSumExp"
                    ? Make("Copy", [node.Input(0)], graph, [xs], y, 0)
                    : Make(node.OpType, [node.Input(0)], graph, [xs], y, 0, [new("axes", FixedOp.Ints([]))]);
            }
            normalized = [.. Enumerable.Range(0, xs.Length)];
        }
        else
        {
            normalized = [.. axes.Select(a => Axis(a, xs.Length)).Distinct().Order()];
        }
        // A mean or max over H and W of a 4-D tensor with kept dims is a global pool, which also runs blocked.
        if (node.OpType is "ReduceMean" or "ReduceMax" && xs.Length == 4 && y.Length == 4 && normalized.SequenceEqual([2, 3]))
            return Blockable(graph, node.OpType == "ReduceMean" ? "GlobalAveragePool" : "GlobalMaxPool", [node.Input(0)], y, block, []);
        return Make(node.OpType, [node.Input(0)], graph, [xs], y, 0, [new("axes", FixedOp.Ints(normalized))]);
    }

    private static LoweredOp Product(ModelGraph graph, Node node, string opType, int[] y, List<KeyValuePair<string, string>> attrs)
    {
        var operands = new List<string> { node.Input(0), node.Input(1) };
        bool bias = node.HasInput(2);
        bool residual = FusedOps.IsFused(node) && node.HasInput(FusedOps.ResidualInput);
        if (bias)
            operands.Add(node.Input(2));
        if (residual)
            operands.Add(node.Input(FusedOps.ResidualInput));
        attrs.Add(new("bias", bias ? "1" : "0"));
        attrs.Add(new("residual", residual ? "1" : "0"));
        if (FusedOps.IsFused(node))
        {
            var a = FusedOps.ActivationOf(node);
            if (!a.IsNone)
                attrs.AddRange(Act(a.Kind, a.Alpha, a.Beta));
        }
        return Make(opType, operands, graph, [.. operands.Select(v => graph.TypeOf(v)!.Shape)], y, 0, attrs);
    }

    private static LoweredOp Conv(ModelGraph graph, Node node, int[] xs, int[] y)
    {
        int[] ws = graph.TypeOf(node.Input(1))!.Shape;
        var geo = ConvGeometry.Of(node, xs, ws);
        var attrs = new List<KeyValuePair<string, string>>
        {
            new("strides", FixedOp.Ints(geo.Strides)), new("dilations", FixedOp.Ints(geo.Dilations)),
            new("pads_begin", FixedOp.Ints(geo.PadsBegin)), new("pads_end", FixedOp.Ints(geo.PadsEnd)), new("group", Str(geo.Groups)),
        };
        return Product(graph, node, "Conv", y, attrs);
    }

    private static LoweredOp ConvTranspose(ModelGraph graph, Node node, int[] xs, int[] y)
    {
        int r = xs.Length - 2;
        int[] ws = graph.TypeOf(node.Input(1))!.Shape;
        long[] strides = node.GetInts("strides") ?? [.. Enumerable.Repeat(1L, r)];
        long[] dilations = node.GetInts("dilations") ?? [.. Enumerable.Repeat(1L, r)];
        long[] pads = node.GetInts("pads") ?? new long[2 * r];
        long[] outputPadding = node.GetInts("output_padding") ?? new long[r];
        long[]? outputShape = node.GetInts("output_shape");
        if (outputShape is not null && outputShape.Length == r + 2)
            outputShape = outputShape[2..];
        string autoPad = node.GetString("auto_pad", "NOTSET");
        var begin = new int[r];
        for (int i = 0; i < r; i++)
        {
            long full = strides[i] * (xs[2 + i] - 1) + outputPadding[i] + (ws[2 + i] - 1) * dilations[i] + 1;
            if (outputShape is not null || autoPad is "SAME_UPPER" or "SAME_LOWER")
            {
                long target = outputShape is not null ? outputShape[i] : xs[2 + i] * strides[i];
                long total = full - target;
                begin[i] = (int)(autoPad == "SAME_UPPER" ? total / 2 : total - total / 2);
            }
            else
            {
                begin[i] = autoPad == "VALID" ? 0 : (int)pads[i];
            }
        }
        var attrs = new List<KeyValuePair<string, string>>
        {
            new("strides", FixedOp.Ints(strides.Select(v => (int)v))), new("dilations", FixedOp.Ints(dilations.Select(v => (int)v))),
            new("pads_begin", FixedOp.Ints(begin)), new("group", Str((int)node.GetInt("group", 1))),
        };
        return Product(graph, node, "ConvTranspose", y, attrs);
    }

    /// <summary>The node's inputs for a probe run: <paramref name="data"/> for input 0, initializers for the rest.</summary>
    private static Tensor?[] ProbeInputs(ModelGraph graph, Node node, Tensor data)
    {
        var inputs = new Tensor?[node.Inputs.Count];
        for (int i = 0; i < inputs.Length; i++)
        {
            string v = node.Inputs[i];
            if (v.Length == 0)
                continue;
            if (i == 0)
                inputs[i] = data;
            else if (graph.Initializers.TryGetValue(v, out var t))
                inputs[i] = t;
            else
                throw new Fail($"{node.OpType} input {i} ('{v}', {graph.TypeOf(v)?.ElementType.Name()}) is computed at run time; its values must be constant");
        }
        return inputs;
    }

    /// <summary>
    /// A data-movement node as an index map: the reference kernel moves a probe whose elements
    /// are their own index + 1 (pad value 0), and the map is factored into one table per output axis.
    /// </summary>
    private static LoweredOp IndexMap(ModelGraph graph, Node node, int[] xs, int[] y, int block)
    {
        long count = ShapeMath.ElementCount(xs);
        if (count >= 1 << 24)
            throw new Fail($"{node.OpType} input has {count} elements, too many for an index map");
        var probe = Tensor.FromFloats(xs, [.. Enumerable.Range(1, (int)count).Select(i => (float)i)]);
        var probeNode = node;
        var inputs = ProbeInputs(graph, node, probe);
        float padValue = 0f;
        if (node.OpType == "Pad" && node.GetString("mode", "constant") == "constant")
        {
            if (graph.Opset < 11)
            {
                padValue = node.GetFloat("value", 0f);
                probeNode = node.Clone();
                probeNode.Set(NodeAttribute.Float("value", 0f));
            }
            else if (inputs.Length > 2 && inputs[2] is { Length: > 0 } v)
            {
                padValue = (float)v.GetDouble(0);
                inputs[2] = Tensor.Scalar(0f);
            }
        }
        var result = ReferenceKernels.Run(probeNode, graph.Opset, inputs)[0].Floats;
        var map = result.Select(v => v == 0 ? int.MinValue : (int)v - 1).ToArray();
        var attrs = new List<KeyValuePair<string, string>>();
        if (padValue != 0f)
            attrs.Add(new("pad_value", FixedOp.Float(padValue)));
        if (Factor(map, y) is { } factored)
        {
            attrs.Add(new("map_base", Str(factored.Base)));
            for (int d = 0; d < y.Length; d++)
                attrs.Add(new(string.Create(CultureInfo.InvariantCulture, $"map.{d}"), FixedOp.Ints(factored.Tables[d])));
            if (block > 0 && y.Length == 4 && xs.Length == 4)
            {
                var blocked = Make(node.OpType, [node.Input(0)], graph, [xs], y, block, attrs);
                if (FixedKernels.Supports(blocked.Op))
                    return blocked;
            }
            return Make(node.OpType, [node.Input(0)], graph, [xs], y, 0, attrs);
        }
        if (map.Length > 1 << 20)
            throw new Fail($"{node.OpType} moves {map.Length} elements in a pattern that does not factor per axis");
        attrs.Add(new("map_base", "0"));
        attrs.Add(new("map_flat", "1"));
        attrs.Add(new("map.0", FixedOp.Ints(map)));
        return Make(node.OpType, [node.Input(0)], graph, [xs], y, 0, attrs);
    }

    /// <summary>Tables t_d with map[c] = base + sum t_d[c_d] (int.MinValue entries: padding), checked on every element.</summary>
    private static (int Base, int[][] Tables)? Factor(int[] map, int[] shape)
    {
        int rank = shape.Length;
        if (map.Length == 0)
            return (0, [.. shape.Select(d => new int[d])]);
        int first = Array.FindIndex(map, v => v != int.MinValue);
        if (first < 0)
            return (0, [.. shape.Select(d => Enumerable.Repeat(int.MinValue, d).ToArray())]);
        int[] strides = new int[rank];
        int acc = 1;
        for (int d = rank - 1; d >= 0; d--)
        {
            strides[d] = acc;
            acc *= shape[d];
        }
        var refc = new int[rank];
        for (int d = 0, rem = first; d < rank; d++)
        {
            refc[d] = rem / strides[d];
            rem %= strides[d];
        }
        int baseValue = map[first];
        var tables = new int[rank][];
        for (int d = 0; d < rank; d++)
        {
            tables[d] = new int[shape[d]];
            for (int o = 0; o < shape[d]; o++)
            {
                int v = map[first + (o - refc[d]) * strides[d]];
                tables[d][o] = v == int.MinValue ? int.MinValue : v - baseValue;
            }
        }
        var c = new int[rank];
        for (int i = 0; i < map.Length; i++)
        {
            long predicted = baseValue;
            bool pad = false;
            for (int d = 0; d < rank; d++)
            {
                int t = tables[d][c[d]];
                if (t == int.MinValue)
                    pad = true;
                else
                    predicted += t;
            }
            if (pad ? map[i] != int.MinValue : map[i] != predicted)
                return null;
            for (int d = rank - 1; d >= 0; d--)
            {
                if (++c[d] < shape[d])
                    break;
                c[d] = 0;
            }
        }
        return (baseValue, tables);
    }

    /// <summary>Linear Resize: per resized axis, the clamped source coordinate read back from a probe holding each element's coordinate on that axis.</summary>
    private static LoweredOp LinearResize(ModelGraph graph, Node node, int[] xs, int[] y)
    {
        int r = xs.Length;
        if (r < 2 || Enumerable.Range(0, r - 2).Any(d => xs[d] != y[d]))
            throw new Fail("linear Resize of axes other than the last two has no fixed kernel");
        var attrs = new List<KeyValuePair<string, string>> { new("mode", "linear") };
        foreach (var (axis, name) in new[] { (r - 2, "h"), (r - 1, "w") })
        {
            int[] strides = ShapeMath.Strides(xs);
            var data = new float[ShapeMath.ElementCount(xs)];
            for (int i = 0; i < data.Length; i++)
                data[i] = i / strides[axis] % xs[axis];
            var result = ReferenceKernels.Run(node, graph.Opset, ProbeInputs(graph, node, Tensor.FromFloats(xs, data)))[0].Floats;
            int[] ys = ShapeMath.Strides(y);
            var i0 = new int[y[axis]];
            var i1 = new int[y[axis]];
            var wt = new float[y[axis]];
            for (int o = 0; o < y[axis]; o++)
            {
                float pos = Math.Clamp(result[o * ys[axis]], 0, xs[axis] - 1);
                i0[o] = (int)MathF.Floor(pos);
                i1[o] = Math.Min(i0[o] + 1, xs[axis] - 1);
                wt[o] = pos - i0[o];
            }
            attrs.Add(new(name + "0", FixedOp.Ints(i0)));
            attrs.Add(new(name + "1", FixedOp.Ints(i1)));
            attrs.Add(new(name + "w", FixedOp.Floats(wt)));
        }
        return Make(node.OpType, [node.Input(0)], graph, [xs], y, 0, attrs);
    }
}
