using AutoKernel.Build.Onnx.Proto;

namespace AutoKernel.Build.Zoo;

/// <summary>
/// torchvision's mobilenet_v3_small: HardSwish, squeeze-excitation (GlobalAveragePool, 1x1 convs,
/// HardSigmoid, Mul) and BatchNorm with eps 0.001, momentum 0.01.
/// </summary>
internal static class MobileNetV3
{
    private const float Eps = 0.001f;
    private const float Momentum = 0.01f;

    // input, kernel, expanded, output, squeeze-excitation, hardswish, stride
    private static readonly (int In, int Kernel, int Expanded, int Out, bool Se, bool HardSwish, int Stride)[] Small =
    [
        (16, 3, 16, 16, true, false, 2),
        (16, 3, 72, 24, false, false, 2),
        (24, 3, 88, 24, false, false, 1),
        (24, 5, 96, 40, true, true, 2),
        (40, 5, 240, 40, true, true, 1),
        (40, 5, 240, 40, true, true, 1),
        (40, 5, 120, 48, true, true, 1),
        (48, 5, 144, 48, true, true, 1),
        (48, 5, 288, 96, true, true, 2),
        (96, 5, 576, 96, true, true, 1),
        (96, 5, 576, 96, true, true, 1),
    ];

    public static ModelProto CreateSmall(int batch, int imageSize, int seed)
    {
        const string name = "mobilenet_v3_small";
        NetBuilder.CheckImageSize(name, imageSize, 32, 32);
        var n = new NetBuilder(name, seed);
        string x = n.Input(batch, imageSize);
        x = n.ConvBn("features.0.0", "features.0.1", x, 3, 16, 3, 2, 1, epsilon: Eps, momentum: Momentum);
        x = n.HardSwish("features.0.2", x);
        int index = 1;
        foreach (var c in Small)
            x = Block(n, $"features.{index++}", x, c);
        x = n.ConvBn($"features.{index}.0", $"features.{index}.1", x, 96, 576, 1, epsilon: Eps, momentum: Momentum);
        x = n.HardSwish($"features.{index}.2", x);
        x = n.GlobalAveragePool("avgpool", x);
        x = n.Flatten("flatten", x);
        x = n.Linear("classifier.0", x, 576, 1024, hidden: true);
        x = n.HardSwish("classifier.1", x);
        x = n.Linear("classifier.3", x, 1024, 1000, hidden: false, output: "output");
        n.Output(x, batch, 1000);
        return n.B.Build();
    }

    private static string Block(NetBuilder n, string p, string x,
        (int In, int Kernel, int Expanded, int Out, bool Se, bool HardSwish, int Stride) c)
    {
        string Act(string module, string v) => c.HardSwish ? n.HardSwish(module, v) : n.Relu(module, v);
        string o = x;
        int j = 0;
        if (c.Expanded != c.In)
        {
            o = n.ConvBn($"{p}.block.{j}.0", $"{p}.block.{j}.1", o, c.In, c.Expanded, 1, epsilon: Eps, momentum: Momentum);
            o = Act($"{p}.block.{j}.2", o);
            j++;
        }
        o = n.ConvBn($"{p}.block.{j}.0", $"{p}.block.{j}.1", o, c.Expanded, c.Expanded, c.Kernel, c.Stride, (c.Kernel - 1) / 2,
            groups: c.Expanded, epsilon: Eps, momentum: Momentum);
        o = Act($"{p}.block.{j}.2", o);
        j++;
        if (c.Se)
        {
            string se = $"{p}.block.{j}";
            int squeeze = MakeDivisible(c.Expanded / 4, 8);
            string s = n.GlobalAveragePool(se + ".avgpool", o);
            s = n.Conv(se + ".fc1", s, c.Expanded, squeeze, 1, bias: true);
            s = n.Relu(se + ".relu", s);
            s = n.Conv(se + ".fc2", s, squeeze, c.Expanded, 1, bias: true, gain: 1.0f);
            s = n.HardSigmoid(se + ".scale_activation", s);
            o = n.Mul(se, s, o);
            j++;
        }
        bool residual = c.Stride == 1 && c.In == c.Out;
        o = n.ConvBn($"{p}.block.{j}.0", $"{p}.block.{j}.1", o, c.Expanded, c.Out, 1, gain: 1.0f,
            gammaScale: residual ? 0.5f : 1.0f, epsilon: Eps, momentum: Momentum);
        return residual ? n.Add(p, o, x) : o;
    }

    private static int MakeDivisible(int v, int divisor)
    {
        int result = Math.Max(divisor, (v + divisor / 2) / divisor * divisor);
        return result < 0.9 * v ? result + divisor : result;
    }
}
