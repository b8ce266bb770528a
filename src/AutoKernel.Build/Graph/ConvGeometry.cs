namespace AutoKernel.Build.Graph;

/// <summary>
/// The explicit geometry of a Conv (or FusedConv) node: kernel, strides, dilations and the
/// begin/end padding per spatial axis, with auto_pad resolved as the ONNX spec defines it.
/// </summary>
public sealed record ConvGeometry(int[] Kernel, int[] Strides, int[] Dilations, int[] PadsBegin, int[] PadsEnd, int Groups)
{
    public int SpatialRank => Kernel.Length;

    /// <summary>Output size of spatial axis <paramref name="axis"/> for an input of size <paramref name="input"/>.</summary>
    public int OutputSize(int axis, int input) =>
        (input + PadsBegin[axis] + PadsEnd[axis] - (Dilations[axis] * (Kernel[axis] - 1) + 1)) / Strides[axis] + 1;

    /// <summary>
    /// One spatial axis of a Conv or pooling window, as ONNX defines it: the begin/end padding
    /// (auto_pad resolved) and the output size; ceil_mode follows ONNX Runtime in dropping a last
    /// window that would start in the end padding. <c>Output</c> is below 1 when the window does not
    /// fit; callers report that with their own context. Unknown auto_pad values throw.
    /// </summary>
    public static (int PadBegin, int PadEnd, long Output) ResolveAxis(
        string autoPad, int input, int kernel, int stride, int dilation, int padBegin, int padEnd, bool ceilMode = false)
    {
        long extent = (long)dilation * (kernel - 1) + 1;
        switch (autoPad)
        {
            case "NOTSET":
            {
                long span = input + padBegin + padEnd - extent;
                if (span < 0)
                    return (padBegin, padEnd, 0);
                long output = span / stride + 1;
                if (ceilMode && span % stride != 0)
                {
                    output++;
                    if ((output - 1) * stride >= input + padBegin)
                        output--;
                }
                return (padBegin, padEnd, output);
            }
            case "VALID":
                return ResolveAxis("NOTSET", input, kernel, stride, dilation, 0, 0, ceilMode);
            case "SAME_UPPER":
            case "SAME_LOWER":
            {
                long output = ((long)input + stride - 1) / stride;
                long total = Math.Max(0, (output - 1) * stride + extent - input);
                int small = (int)(total / 2);
                int begin = autoPad == "SAME_UPPER" ? small : (int)total - small;
                return (begin, (int)total - begin, output);
            }
            default:
                throw new ArgumentException($"auto_pad '{autoPad}' is not supported", nameof(autoPad));
        }
    }

    /// <summary>Reads the node's attributes for input shape [N, C, spatial...] and weight [M, C/g, k...].</summary>
    public static ConvGeometry Of(Node node, int[] inputShape, int[] weightShape)
    {
        int rank = inputShape.Length - 2;
        if (rank < 1 || weightShape.Length != inputShape.Length)
            throw new ModelException($"Conv input {ShapeMath.Format(inputShape)} and weight {ShapeMath.Format(weightShape)} do not match") { Node = node };
        int[] kernel = Ints(node, "kernel_shape", rank, weightShape[2..]);
        int[] strides = Ints(node, "strides", rank, Enumerable.Repeat(1, rank).ToArray());
        int[] dilations = Ints(node, "dilations", rank, Enumerable.Repeat(1, rank).ToArray());
        var begin = new int[rank];
        var end = new int[rank];
        string autoPad = node.GetString("auto_pad", "NOTSET");
        int[] pads = autoPad == "NOTSET" ? Ints(node, "pads", 2 * rank, new int[2 * rank]) : new int[2 * rank];
        for (int i = 0; i < rank; i++)
        {
            try
            {
                (begin[i], end[i], _) = ResolveAxis(autoPad, inputShape[i + 2], kernel[i], strides[i], dilations[i], pads[i], pads[i + rank]);
            }
            catch (ArgumentException e)
            {
                throw new ModelException(e.Message.Split(" (Parameter")[0]) { Node = node };
            }
        }
        return new ConvGeometry(kernel, strides, dilations, begin, end, (int)node.GetInt("group", 1));
    }

    private static int[] Ints(Node node, string name, int count, int[] defaults)
    {
        long[]? values = node.GetInts(name);
        if (values is null)
            return defaults;
        if (values.Length != count)
            throw new ModelException($"attribute {name} has {values.Length} values, expected {count}") { Node = node };
        return [.. values.Select(v => checked((int)v))];
    }
}
