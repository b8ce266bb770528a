using AutoKernel.Build.Onnx.Proto;

namespace AutoKernel.Build.Zoo;

/// <summary>
/// A deliberately small classifier (not from torchvision) for examples and build tests that must
/// tune in seconds: two Conv-BatchNorm-ReLU blocks, global pooling and a Linear layer, so three
/// tunable tasks (two conv2d, one dense) and a handful of other operators. Output [batch, 10].
/// </summary>
internal static class TinyCnn
{
    public const int Classes = 10;

    public static ModelProto Create(int batch, int imageSize, int seed)
    {
        const string name = "tiny_cnn";
        NetBuilder.CheckImageSize(name, imageSize, 8, 1);
        var n = new NetBuilder(name, seed);
        string x = n.Input(batch, imageSize);
        x = n.Relu("features.2", n.ConvBn("features.0", "features.1", x, 3, 16, 3, stride: 2, pad: 1));
        x = n.MaxPool("features.3", x, 2, 2);
        x = n.Relu("features.6", n.ConvBn("features.4", "features.5", x, 16, 32, 3, pad: 1));
        x = n.GlobalAveragePool("avgpool", x);
        x = n.Flatten("flatten", x);
        x = n.Linear("classifier", x, 32, Classes, hidden: false, output: "output");
        n.Output(x, batch, Classes);
        return n.B.Build();
    }
}
