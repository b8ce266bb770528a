using AutoKernel.Build.Onnx.Proto;

namespace AutoKernel.Build.Zoo;

/// <summary>torchvision's vgg16 (configuration D, no batch norm).</summary>
internal static class Vgg
{
    private static readonly int[] Config16 = [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0];

    public static ModelProto Create16(int batch, int imageSize, int seed)
    {
        const string name = "vgg16";
        NetBuilder.CheckImageSize(name, imageSize, 32, 32);
        int s = imageSize / 32;
        if (s != 1 && s % 7 != 0)
            throw new ArgumentException(
                $"vgg16 ends in AdaptiveAvgPool2d((7, 7)), which exports to ONNX only when the final feature map " +
                $"(image size / 32 = {s}) is 1 or a multiple of 7: use image size 32, 224, 448, 672, ...; got {imageSize}",
                nameof(imageSize));

        var n = new NetBuilder(name, seed);
        string x = n.Input(batch, imageSize);
        int cin = 3;
        int index = 0;
        foreach (int v in Config16)
        {
            if (v == 0)
            {
                x = n.MaxPool($"features.{index++}", x, 2, 2);
            }
            else
            {
                x = n.Conv($"features.{index++}", x, cin, v, 3, stride: 1, pad: 1, bias: true);
                x = n.Relu($"features.{index++}", x);
                cin = v;
            }
        }
        x = n.AdaptiveAvgPool("avgpool", x, s, 7);
        x = n.Flatten("flatten", x);
        x = n.Linear("classifier.0", x, 512 * 7 * 7, 4096, hidden: true);
        x = n.Relu("classifier.1", x);
        x = n.Linear("classifier.3", x, 4096, 4096, hidden: true);
        x = n.Relu("classifier.4", x);
        x = n.Linear("classifier.6", x, 4096, 1000, hidden: false, output: "output");
        n.Output(x, batch, 1000);
        return n.B.Build();
    }
}
