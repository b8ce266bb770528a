using AutoKernel.Build.Onnx.Proto;

namespace AutoKernel.Build.Zoo;

/// <summary>
/// torchvision's densenet121: pre-activation dense layers whose inputs are Concat nodes over all
/// earlier feature maps of the block (as the memory-efficient-off forward exports), transitions
/// with AveragePool.
/// </summary>
internal static class DenseNet
{
    private const int Growth = 32;
    private const int BnSize = 4;

    public static ModelProto Create121(int batch, int imageSize, int seed)
    {
        const string name = "densenet121";
        NetBuilder.CheckImageSize(name, imageSize, 32, 32);
        var n = new NetBuilder(name, seed);
        string x = n.Input(batch, imageSize);
        x = n.Conv("features.conv0", x, 3, 64, 7, stride: 2, pad: 3);
        x = n.BatchNorm("features.norm0", x, 64);
        x = n.Relu("features.relu0", x);
        x = n.MaxPool("features.pool0", x, 3, 2, 1);
        int channels = 64;
        int[] blocks = [6, 12, 24, 16];
        for (int b = 0; b < blocks.Length; b++)
        {
            var features = new List<string> { x };
            for (int l = 0; l < blocks[b]; l++)
            {
                string p = $"features.denseblock{b + 1}.denselayer{l + 1}";
                int cin = channels + l * Growth;
                string input = features.Count == 1 ? features[0] : n.Concat(p, features);
                string o = n.BatchNorm(p + ".norm1", input, cin);
                o = n.Relu(p + ".relu1", o);
                o = n.Conv(p + ".conv1", o, cin, BnSize * Growth, 1);
                o = n.BatchNorm(p + ".norm2", o, BnSize * Growth);
                o = n.Relu(p + ".relu2", o);
                o = n.Conv(p + ".conv2", o, BnSize * Growth, Growth, 3, pad: 1, gain: 1.0f);
                features.Add(o);
            }
            channels += blocks[b] * Growth;
            x = n.Concat($"features.denseblock{b + 1}", features);
            if (b != blocks.Length - 1)
            {
                string p = $"features.transition{b + 1}";
                x = n.BatchNorm(p + ".norm", x, channels);
                x = n.Relu(p + ".relu", x);
                x = n.Conv(p + ".conv", x, channels, channels / 2, 1);
                x = n.AveragePool(p + ".pool", x, 2, 2);
                channels /= 2;
            }
        }
        x = n.BatchNorm("features.norm5", x, channels);
        x = n.Relu("relu", x);
        x = n.GlobalAveragePool("adaptive_avg_pool2d", x);
        x = n.Flatten("flatten", x);
        x = n.Linear("classifier", x, channels, 1000, hidden: false, output: "output");
        n.Output(x, batch, 1000);
        return n.B.Build();
    }
}
