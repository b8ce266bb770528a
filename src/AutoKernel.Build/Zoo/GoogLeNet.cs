using AutoKernel.Build.Onnx.Proto;

namespace AutoKernel.Build.Zoo;

/// <summary>
/// torchvision's googlenet (Inception v1) as loaded with pretrained weights, minus its input
/// transform: aux classifiers off, BasicConv2d = Conv + BatchNorm(eps 0.001) + ReLU, four-branch
/// inception modules joined by Concat, ceil-mode max pooling.
/// </summary>
internal static class GoogLeNet
{
    public static ModelProto Create(int batch, int imageSize, int seed)
    {
        const string name = "googlenet";
        NetBuilder.CheckImageSize(name, imageSize, 32, 32);
        var n = new NetBuilder(name, seed);
        string x = n.Input(batch, imageSize);
        x = Basic(n, "conv1", x, 3, 64, 7, 2, 3);
        x = n.MaxPool("maxpool1", x, 3, 2, ceil: true);
        x = Basic(n, "conv2", x, 64, 64, 1);
        x = Basic(n, "conv3", x, 64, 192, 3, pad: 1);
        x = n.MaxPool("maxpool2", x, 3, 2, ceil: true);
        x = Inception(n, "inception3a", x, 192, 64, 96, 128, 16, 32, 32);
        x = Inception(n, "inception3b", x, 256, 128, 128, 192, 32, 96, 64);
        x = n.MaxPool("maxpool3", x, 3, 2, ceil: true);
        x = Inception(n, "inception4a", x, 480, 192, 96, 208, 16, 48, 64);
        x = Inception(n, "inception4b", x, 512, 160, 112, 224, 24, 64, 64);
        x = Inception(n, "inception4c", x, 512, 128, 128, 256, 24, 64, 64);
        x = Inception(n, "inception4d", x, 512, 112, 144, 288, 32, 64, 64);
        x = Inception(n, "inception4e", x, 528, 256, 160, 320, 32, 128, 128);
        x = n.MaxPool("maxpool4", x, 2, 2, ceil: true);
        x = Inception(n, "inception5a", x, 832, 256, 160, 320, 32, 128, 128);
        x = Inception(n, "inception5b", x, 832, 384, 192, 384, 48, 128, 128);
        x = n.GlobalAveragePool("avgpool", x);
        x = n.Flatten("flatten", x);
        x = n.Linear("fc", x, 1024, 1000, hidden: false, output: "output");
        n.Output(x, batch, 1000);
        return n.B.Build();
    }

    private static string Basic(NetBuilder n, string p, string x, int cin, int cout, int kernel, int stride = 1, int pad = 0)
    {
        string o = n.ConvBn(p + ".conv", p + ".bn", x, cin, cout, kernel, stride, pad, epsilon: 0.001f);
        return n.Relu(p, o);
    }

    private static string Inception(NetBuilder n, string p, string x, int cin, int ch1x1, int ch3x3red, int ch3x3,
        int ch5x5red, int ch5x5, int poolProj)
    {
        string b1 = Basic(n, p + ".branch1", x, cin, ch1x1, 1);
        string b2 = Basic(n, p + ".branch2.0", x, cin, ch3x3red, 1);
        b2 = Basic(n, p + ".branch2.1", b2, ch3x3red, ch3x3, 3, pad: 1);
        // torchvision's "5x5" branch really uses a 3x3 kernel.
        string b3 = Basic(n, p + ".branch3.0", x, cin, ch5x5red, 1);
        b3 = Basic(n, p + ".branch3.1", b3, ch5x5red, ch5x5, 3, pad: 1);
        string b4 = n.MaxPool(p + ".branch4.0", x, 3, 1, 1, ceil: true);
        b4 = Basic(n, p + ".branch4.1", b4, cin, poolProj, 1);
        return n.Concat(p, [b1, b2, b3, b4]);
    }
}
