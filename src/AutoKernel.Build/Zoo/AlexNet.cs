using AutoKernel.Build.Onnx.Proto;

namespace AutoKernel.Build.Zoo;

/// <summary>torchvision's alexnet: large-kernel strided convs with bias and a 6x6 adaptive pool.</summary>
internal static class AlexNet
{
    public static ModelProto Create(int batch, int imageSize, int seed)
    {
        const string name = "alexnet";
        int f = FeatureSize(imageSize);
        if (imageSize < 63 || f < 1 || (f != 1 && f % 6 != 0))
            throw new ArgumentException(
                $"alexnet ends in AdaptiveAvgPool2d((6, 6)), which exports to ONNX only when the final feature map is 1x1 " +
                $"or a multiple of 6 on a side (image size 63..94, 223..254, ...); image size {imageSize} gives {Math.Max(f, 0)}",
                nameof(imageSize));
        var n = new NetBuilder(name, seed);
        string x = n.Input(batch, imageSize);
        x = n.Conv("features.0", x, 3, 64, 11, stride: 4, pad: 2, bias: true);
        x = n.Relu("features.1", x);
        x = n.MaxPool("features.2", x, 3, 2);
        x = n.Conv("features.3", x, 64, 192, 5, pad: 2, bias: true);
        x = n.Relu("features.4", x);
        x = n.MaxPool("features.5", x, 3, 2);
        x = n.Conv("features.6", x, 192, 384, 3, pad: 1, bias: true);
        x = n.Relu("features.7", x);
        x = n.Conv("features.8", x, 384, 256, 3, pad: 1, bias: true);
        x = n.Relu("features.9", x);
        x = n.Conv("features.10", x, 256, 256, 3, pad: 1, bias: true);
        x = n.Relu("features.11", x);
        x = n.MaxPool("features.12", x, 3, 2);
        x = n.AdaptiveAvgPool("avgpool", x, f, 6);
        x = n.Flatten("flatten", x);
        x = n.Linear("classifier.1", x, 256 * 6 * 6, 4096, hidden: true);
        x = n.Relu("classifier.2", x);
        x = n.Linear("classifier.4", x, 4096, 4096, hidden: true);
        x = n.Relu("classifier.5", x);
        x = n.Linear("classifier.6", x, 4096, 1000, hidden: false, output: "output");
        n.Output(x, batch, 1000);
        return n.B.Build();
    }

    private static int FeatureSize(int imageSize)
    {
        int s = (imageSize + 4 - 11) / 4 + 1;
        for (int i = 0; i < 3; i++)
        {
            if (s < 3)
                return 0;
            s = (s - 3) / 2 + 1;
        }
        return s;
    }
}
