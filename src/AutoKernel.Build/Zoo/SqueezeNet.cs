using AutoKernel.Build.Onnx.Proto;

namespace AutoKernel.Build.Zoo;

/// <summary>torchvision's squeezenet1_1: fire modules joined by Concat, a conv classifier and global pooling.</summary>
internal static class SqueezeNet
{
    public static ModelProto Create11(int batch, int imageSize, int seed)
    {
        const string name = "squeezenet1_1";
        NetBuilder.CheckImageSize(name, imageSize, 32, 1);
        var n = new NetBuilder(name, seed);
        string x = n.Input(batch, imageSize);
        x = n.Conv("features.0", x, 3, 64, 3, stride: 2, bias: true);
        x = n.Relu("features.1", x);
        x = n.MaxPool("features.2", x, 3, 2, ceil: true);
        x = Fire(n, "features.3", x, 64, 16, 64, 64);
        x = Fire(n, "features.4", x, 128, 16, 64, 64);
        x = n.MaxPool("features.5", x, 3, 2, ceil: true);
        x = Fire(n, "features.6", x, 128, 32, 128, 128);
        x = Fire(n, "features.7", x, 256, 32, 128, 128);
        x = n.MaxPool("features.8", x, 3, 2, ceil: true);
        x = Fire(n, "features.9", x, 256, 48, 192, 192);
        x = Fire(n, "features.10", x, 384, 48, 192, 192);
        x = Fire(n, "features.11", x, 384, 64, 256, 256);
        x = Fire(n, "features.12", x, 512, 64, 256, 256);
        x = n.Conv("classifier.1", x, 512, 1000, 1, bias: true, gain: 1.0f);
        x = n.Relu("classifier.2", x);
        x = n.GlobalAveragePool("classifier.3", x);
        x = n.Flatten("flatten", x, output: "output");
        n.Output(x, batch, 1000);
        return n.B.Build();
    }

    private static string Fire(NetBuilder n, string p, string x, int inplanes, int squeeze, int expand1, int expand3)
    {
        string s = n.Relu(p + ".squeeze_activation", n.Conv(p + ".squeeze", x, inplanes, squeeze, 1, bias: true));
        string e1 = n.Relu(p + ".expand1x1_activation", n.Conv(p + ".expand1x1", s, squeeze, expand1, 1, bias: true));
        string e3 = n.Relu(p + ".expand3x3_activation", n.Conv(p + ".expand3x3", s, squeeze, expand3, 3, pad: 1, bias: true));
        return n.B.Node("Concat", [e1, e3], a => a.Int("axis", 1), name: p + "/Concat");
    }
}
