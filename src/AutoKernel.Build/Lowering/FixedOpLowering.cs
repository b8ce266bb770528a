using AutoKernel.Build.Graph;
using AutoKernel.Generator.Kernels;

namespace AutoKernel.Build.Lowering;

/// <summary>
/// Maps an untuned graph node to the <see cref="FixedOp"/> whose generated kernel computes it, or
/// null when no fixed kernel covers that node yet (it then runs on the reference kernel).
/// </summary>
public static class FixedOpLowering
{
    public static FixedOp? Lower(ModelGraph graph, Node node, int block)
    {
        if (node.Domain.Length != 0 || node.Outputs.Count == 0)
            return null;
        var inputs = node.Inputs.Where(i => i.Length > 0).Select(graph.TypeOf).ToList();
        var output = graph.TypeOf(node.Outputs[0]);
        if (output is null || inputs.Any(t => t is null || t.ElementType != DataType.Float) || output.ElementType != DataType.Float)
            return null;
        int[][] shapes = [.. inputs.Select(t => t!.Shape)];
        FixedOp? op = node.OpType switch
        {
            "MaxPool" or "AveragePool" => Pool(node, shapes[0], output.Shape, block),
            "GlobalAveragePool" when shapes[0].Length == 4 => new FixedOp("GlobalAveragePool", shapes, output.Shape, block),
            "Add" or "Mul" when shapes.Length == 2 && shapes[0].SequenceEqual(shapes[1]) && !node.Inputs.Any(graph.Initializers.ContainsKey)
                => new FixedOp(node.OpType, shapes, output.Shape, 0, Activation: Epilogue.None),
            "Softmax" when IsLastAxis(node, shapes[0].Length, graph.Opset) => new FixedOp("Softmax", shapes, output.Shape, 0),
            "Concat" when shapes.All(s => s.Length == 4) && ShapeMath.NormalizeAxis(node.GetInt("axis", 1), 4) == 1
                => new FixedOp("Concat", shapes, output.Shape, block),
            _ when Activations.Fusable.Contains(node.OpType) && shapes.Length >= 1 && Activation(graph, node) is { } e
                => new FixedOp("Activation", [shapes[0]], output.Shape, 0, Activation: e),
            _ => null,
        };
        return op is not null && FixedKernels.Supports(op) ? op : null;
    }

    private static FixedOp? Pool(Node node, int[] x, int[] y, int block)
    {
        if (x.Length != 4 || node.Outputs.Count > 1 && node.Outputs[1].Length > 0)
            return null;
        long[] kernel = node.GetInts("kernel_shape") ?? [];
        long[] strides = node.GetInts("strides") ?? [1, 1];
        long[] dilations = node.GetInts("dilations") ?? [1, 1];
        long[] pads = node.GetInts("pads") ?? [0, 0, 0, 0];
        if (kernel.Length != 2 || strides.Length != 2 || dilations.Any(d => d != 1) || pads.Length != 4)
            return null;
        string autoPad = node.GetString("auto_pad", "NOTSET");
        var top = ConvGeometry.ResolveAxis(autoPad, x[2], (int)kernel[0], (int)strides[0], 1, (int)pads[0], (int)pads[2]);
        var left = ConvGeometry.ResolveAxis(autoPad, x[3], (int)kernel[1], (int)strides[1], 1, (int)pads[1], (int)pads[3]);
        return new FixedOp(node.OpType, [x], y, block, [(int)kernel[0], (int)kernel[1]], [(int)strides[0], (int)strides[1]],
            [top.PadBegin, left.PadBegin], node.GetInt("count_include_pad", 0) != 0);
    }

    /// <summary>Softmax normalizes the last axis: opset 13's axis, or the older 2-D coercion at axis 1 of a 2-D input.</summary>
    private static bool IsLastAxis(Node node, int rank, int opset) =>
        opset >= 13
            ? ShapeMath.NormalizeAxis(node.GetInt("axis", -1), rank) == rank - 1
            : ShapeMath.NormalizeAxis(node.GetInt("axis", 1), rank) == rank - 1;

    private static Epilogue? Activation(ModelGraph graph, Node node) =>
        Graph.Passes.EpilogueFusion.TryActivation(graph, node, out var a) ? new Epilogue(false, false, a.Kind, a.Alpha, a.Beta) : null;
}
