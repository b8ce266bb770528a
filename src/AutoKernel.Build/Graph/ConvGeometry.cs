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
        switch (autoPad)
        {
            case "NOTSET":
                int[] pads = Ints(node, "pads", 2 * rank, new int[2 * rank]);
                Array.Copy(pads, 0, begin, 0, rank);
                Array.Copy(pads, rank, end, 0, rank);
                break;
            case "VALID":
                break;
            case "SAME_UPPER":
            case "SAME_LOWER":
                for (int i = 0; i < rank; i++)
                {
                    int input = inputShape[i + 2];
                    int output = (input + strides[i] - 1) / strides[i];
                    int total = Math.Max(0, (output - 1) * strides[i] + dilations[i] * (kernel[i] - 1) + 1 - input);
                    int small = total / 2;
                    begin[i] = autoPad == "SAME_UPPER" ? small : total - small;
                    end[i] = total - begin[i];
                }
                break;
            default:
                throw new ModelException($"auto_pad '{autoPad}' is not supported") { Node = node };
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
