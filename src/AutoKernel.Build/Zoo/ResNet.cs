using AutoKernel.Build.Onnx.Proto;

namespace AutoKernel.Build.Zoo;

/// <summary>torchvision's ResNet (v1.5: the stride sits on the 3x3 conv of a bottleneck).</summary>
internal static class ResNet
{
    /// <summary>
    /// The last BatchNorm of each residual branch gets gamma near this value rather than 1, so that
    /// the identity path dominates and activations stay O(1) through 16 blocks of synthetic weights.
    /// </summary>
    private const float ResidualGamma = 0.5f;

    public static ModelProto Create(string name, bool bottleneck, int[] layers, int batch, int imageSize, int seed)
    {
        NetBuilder.CheckImageSize(name, imageSize, 32, 32);
        var n = new NetBuilder(name, seed);
        string x = n.Input(batch, imageSize);
        x = n.Conv("conv1", x, 3, 64, 7, stride: 2, pad: 3);
        x = n.BatchNorm("bn1", x, 64);
        x = n.Relu("relu", x);
        x = n.MaxPool("maxpool", x, 3, 2, 1);
        int inplanes = 64;
        int expansion = bottleneck ? 4 : 1;
        for (int li = 0; li < layers.Length; li++)
        {
            int planes = 64 << li;
            for (int bi = 0; bi < layers[li]; bi++)
            {
                string p = $"layer{li + 1}.{bi}";
                int stride = li > 0 && bi == 0 ? 2 : 1;
                x = bottleneck
                    ? Bottleneck(n, p, x, inplanes, planes, stride)
                    : Basic(n, p, x, inplanes, planes, stride);
                inplanes = planes * expansion;
            }
        }
        x = n.GlobalAveragePool("avgpool", x);
        x = n.Flatten("flatten", x);
        x = n.Linear("fc", x, 512 * expansion, 1000, hidden: false, output: "output");
        n.Output(x, batch, 1000);
        return n.B.Build();
    }

    internal static string Basic(NetBuilder n, string p, string x, int inplanes, int planes, int stride)
    {
        string o = n.ConvBn(p + ".conv1", p + ".bn1", x, inplanes, planes, 3, stride, 1);
        o = n.Relu(p + ".relu", o);
        o = n.ConvBn(p + ".conv2", p + ".bn2", o, planes, planes, 3, 1, 1, gammaScale: ResidualGamma);
        string identity = Downsample(n, p, x, inplanes, planes, stride);
        o = n.Add(p, o, identity);
        return n.Relu(p + ".relu_1", o);
    }

    private static string Bottleneck(NetBuilder n, string p, string x, int inplanes, int planes, int stride)
    {
        int outplanes = planes * 4;
        string o = n.ConvBn(p + ".conv1", p + ".bn1", x, inplanes, planes, 1);
        o = n.Relu(p + ".relu", o);
        o = n.ConvBn(p + ".conv2", p + ".bn2", o, planes, planes, 3, stride, 1);
        o = n.Relu(p + ".relu_1", o);
        o = n.ConvBn(p + ".conv3", p + ".bn3", o, planes, outplanes, 1, gammaScale: ResidualGamma);
        string identity = Downsample(n, p, x, inplanes, outplanes, stride);
        o = n.Add(p, o, identity);
        return n.Relu(p + ".relu_2", o);
    }

    private static string Downsample(NetBuilder n, string p, string x, int inplanes, int outplanes, int stride) =>
        stride != 1 || inplanes != outplanes
            ? n.ConvBn(p + ".downsample.0", p + ".downsample.1", x, inplanes, outplanes, 1, stride, 0, gain: 1.0f)
            : x;
}
