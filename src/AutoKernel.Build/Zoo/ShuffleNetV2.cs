using AutoKernel.Build.Graph;
using AutoKernel.Build.Onnx.Proto;

namespace AutoKernel.Build.Zoo;

/// <summary>
/// torchvision's shufflenet_v2_x1_0: Split for the channel halves, Concat, channel shuffle as
/// Reshape-Transpose-Reshape, and ReduceMean over the spatial axes instead of a pooling layer.
/// </summary>
internal static class ShuffleNetV2
{
    private static readonly int[] Repeats = [4, 8, 4];
    private static readonly int[] Channels = [24, 116, 232, 464, 1024];

    public static ModelProto CreateX10(int batch, int imageSize, int seed)
    {
        const string name = "shufflenet_v2_x1_0";
        NetBuilder.CheckImageSize(name, imageSize, 32, 32);
        var n = new NetBuilder(name, seed);
        string x = n.Input(batch, imageSize);
        x = n.ConvBn("conv1.0", "conv1.1", x, 3, Channels[0], 3, 2, 1);
        x = n.Relu("conv1.2", x);
        x = n.MaxPool("maxpool", x, 3, 2, 1);
        int size = imageSize / 4;
        int input = Channels[0];
        for (int s = 0; s < Repeats.Length; s++)
        {
            int output = Channels[s + 1];
            size /= 2;
            for (int i = 0; i < Repeats[s]; i++)
            {
                x = Unit(n, $"stage{s + 2}.{i}", x, i == 0 ? input : output, output, i == 0 ? 2 : 1, size);
            }
            input = output;
        }
        x = n.ConvBn("conv5.0", "conv5.1", x, input, Channels[4], 1);
        x = n.Relu("conv5.2", x);
        x = n.B.Node("ReduceMean", [x], a => a.Ints("axes", 2, 3).Int("keepdims", 0), name: "mean/ReduceMean");
        x = n.Linear("fc", x, Channels[4], 1000, hidden: false, output: "output");
        n.Output(x, batch, 1000);
        return n.B.Build();
    }

    private static string Unit(NetBuilder n, string p, string x, int inp, int oup, int stride, int size)
    {
        int half = oup / 2;
        string left, right;
        if (stride == 1)
        {
            string split = n.B.Has("split.sizes." + half) ? "split.sizes." + half : n.B.Initializer("split.sizes." + half, Tensor.Vector(half, half));
            string[] parts = n.B.Node("Split", [x, split], outputs: 2, a => a.Int("axis", 1), name: p + "/Split");
            left = parts[0];
            right = Branch2(n, p, parts[1], half, half, 1);
        }
        else
        {
            left = n.ConvBn($"{p}.branch1.0", $"{p}.branch1.1", x, inp, inp, 3, stride, 1, groups: inp, gain: 1.0f);
            left = n.ConvBn($"{p}.branch1.2", $"{p}.branch1.3", left, inp, half, 1, gain: 1.0f);
            left = n.Relu($"{p}.branch1.4", left);
            right = Branch2(n, p, x, inp, half, stride);
        }
        string joined = n.Concat(p, [left, right]);
        // channel_shuffle(x, 2): view(b, 2, c / 2, h, w), transpose(1, 2), view(b, c, h, w).
        string shape5 = Shape(n, $"shuffle.{oup}.{size}.grouped", 0, 2, half, size, size);
        string shape4 = Shape(n, $"shuffle.{oup}.{size}.flat", 0, -1, size, size);
        string r = n.B.Node("Reshape", [joined, shape5], name: p + "/Reshape");
        r = n.B.Node("Transpose", [r], a => a.Ints("perm", 0, 2, 1, 3, 4), name: p + "/Transpose");
        return n.B.Node("Reshape", [r, shape4], name: p + "/Reshape_1");
    }

    private static string Branch2(NetBuilder n, string p, string x, int inp, int half, int stride)
    {
        string o = n.ConvBn($"{p}.branch2.0", $"{p}.branch2.1", x, inp, half, 1);
        o = n.Relu($"{p}.branch2.2", o);
        o = n.ConvBn($"{p}.branch2.3", $"{p}.branch2.4", o, half, half, 3, stride, 1, groups: half, gain: 1.0f);
        o = n.ConvBn($"{p}.branch2.5", $"{p}.branch2.6", o, half, half, 1);
        return n.Relu($"{p}.branch2.7", o);
    }

    private static string Shape(NetBuilder n, string name, params long[] dims) =>
        n.B.Has(name) ? name : n.B.Initializer(name, Tensor.Vector(dims));
}
