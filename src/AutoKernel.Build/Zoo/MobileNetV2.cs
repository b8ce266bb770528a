using AutoKernel.Build.Onnx.Proto;

namespace AutoKernel.Build.Zoo;

/// <summary>torchvision's mobilenet_v2 (width multiplier 1.0): inverted residuals with ReLU6 as Clip(0, 6).</summary>
internal static class MobileNetV2
{
    private static readonly int[][] Settings =
    [
        // t, c, n, s
        [1, 16, 1, 1],
        [6, 24, 2, 2],
        [6, 32, 3, 2],
        [6, 64, 4, 2],
        [6, 96, 3, 1],
        [6, 160, 3, 2],
        [6, 320, 1, 1],
    ];

    public static ModelProto Create(int batch, int imageSize, int seed)
    {
        const string name = "mobilenet_v2";
        NetBuilder.CheckImageSize(name, imageSize, 32, 32);
        var n = new NetBuilder(name, seed);
        string x = n.Input(batch, imageSize);
        x = n.ConvBn("features.0.0", "features.0.1", x, 3, 32, 3, 2, 1);
        x = n.Relu6("features.0.2", x);
        int input = 32;
        int index = 1;
        foreach (int[] s in Settings)
        {
            int t = s[0], c = s[1], count = s[2], stride = s[3];
            for (int i = 0; i < count; i++)
            {
                x = InvertedResidual(n, $"features.{index}", x, input, c, i == 0 ? stride : 1, t);
                input = c;
                index++;
            }
        }
        x = n.ConvBn($"features.{index}.0", $"features.{index}.1", x, input, 1280, 1);
        x = n.Relu6($"features.{index}.2", x);
        x = n.GlobalAveragePool("adaptive_avg_pool2d", x);
        x = n.Flatten("flatten", x);
        x = n.Linear("classifier.1", x, 1280, 1000, hidden: false, output: "output");
        n.Output(x, batch, 1000);
        return n.B.Build();
    }

    private static string InvertedResidual(NetBuilder n, string p, string x, int inp, int oup, int stride, int expand)
    {
        int hidden = inp * expand;
        string o = x;
        int layer = 0;
        if (expand != 1)
        {
            o = n.ConvBn($"{p}.conv.0.0", $"{p}.conv.0.1", o, inp, hidden, 1);
            o = n.Relu6($"{p}.conv.0.2", o);
            layer = 1;
        }
        o = n.ConvBn($"{p}.conv.{layer}.0", $"{p}.conv.{layer}.1", o, hidden, hidden, 3, stride, 1, groups: hidden);
        o = n.Relu6($"{p}.conv.{layer}.2", o);
        bool residual = stride == 1 && inp == oup;
        o = n.ConvBn($"{p}.conv.{layer + 1}", $"{p}.conv.{layer + 2}", o, hidden, oup, 1, gain: 1.0f,
            gammaScale: residual ? 0.5f : 1.0f);
        return residual ? n.Add(p, x, o) : o;
    }
}
