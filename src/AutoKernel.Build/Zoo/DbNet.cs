using AutoKernel.Build.Onnx.Proto;

namespace AutoKernel.Build.Zoo;

/// <summary>
/// "dbnet_tiny", a small DBNet-style text detector (not a torchvision model): a narrow ResNet
/// backbone (BasicBlocks of 16, 32, 64, 128 channels), an FPN neck with nearest-neighbour Resize
/// upsampling, Add and Concat, and the DB probability head (Conv, BatchNorm, ReLU, two stride-2
/// ConvTranspose layers, Sigmoid). Output "output" is the probability map [batch, 1, S, S].
/// </summary>
internal static class DbNet
{
    private const int Inner = 64;

    public static ModelProto CreateTiny(int batch, int imageSize, int seed)
    {
        const string name = "dbnet_tiny";
        NetBuilder.CheckImageSize(name, imageSize, 32, 32);
        var n = new NetBuilder(name, seed);
        string x = n.Input(batch, imageSize);
        x = n.ConvBn("backbone.conv1", "backbone.bn1", x, 3, 16, 3, 2, 1);
        x = n.Relu("backbone.relu", x);
        x = n.MaxPool("backbone.maxpool", x, 3, 2, 1);
        int[] widths = [16, 32, 64, 128];
        var c = new string[4];
        int inplanes = 16;
        for (int i = 0; i < 4; i++)
        {
            x = ResNet.Basic(n, $"backbone.layer{i + 1}.0", x, inplanes, widths[i], i == 0 ? 1 : 2);
            inplanes = widths[i];
            c[i] = x;
        }

        // FPN: 1x1 laterals, top-down nearest upsampling with Add, 3x3 smoothing to Inner / 4 channels.
        var lateral = new string[4];
        for (int i = 0; i < 4; i++)
            lateral[i] = n.Conv($"neck.in{i + 2}", c[i], widths[i], Inner, 1, gain: 1.0f);
        var merged = new string[4];
        merged[3] = lateral[3];
        for (int i = 2; i >= 0; i--)
            merged[i] = n.Add($"neck.up{i + 3}", lateral[i], Upsample(n, $"neck.up{i + 3}", merged[i + 1], 2));
        var smoothed = new string[4];
        for (int i = 0; i < 4; i++)
        {
            string p = n.Conv($"neck.out{i + 2}", merged[i], Inner, Inner / 4, 3, pad: 1, gain: 1.0f);
            smoothed[i] = i == 0 ? p : Upsample(n, $"neck.out{i + 2}", p, 1 << i);
        }
        string fuse = n.Concat("neck", [smoothed[3], smoothed[2], smoothed[1], smoothed[0]]);

        // Probability head: back up to full resolution.
        string h = n.ConvBn("head.binarize.0", "head.binarize.1", fuse, Inner, Inner / 4, 3, 1, 1);
        h = n.Relu("head.binarize.2", h);
        h = ConvTranspose(n, "head.binarize.3", h, Inner / 4, Inner / 4);
        h = n.BatchNorm("head.binarize.4", h, Inner / 4);
        h = n.Relu("head.binarize.5", h);
        h = ConvTranspose(n, "head.binarize.6", h, Inner / 4, 1);
        h = n.B.Node("Sigmoid", [h], name: "head.binarize.7/Sigmoid", output: "output");
        n.B.Output(h, Graph.DataType.Float, [batch, 1, imageSize, imageSize]);
        return n.B.Build();
    }

    /// <summary>F.interpolate(scale_factor=s, mode="nearest") as opset-17 export writes it.</summary>
    private static string Upsample(NetBuilder n, string module, string x, int scale)
    {
        string scalesName = $"resize.scales.{scale}";
        string scales = n.B.Has(scalesName)
            ? scalesName
            : n.B.Initializer(scalesName, [1, 1, scale, scale], 4);
        return n.B.Node("Resize", [x, "", scales], a => a
            .String("coordinate_transformation_mode", "asymmetric")
            .Float("cubic_coeff_a", -0.75f)
            .String("mode", "nearest")
            .String("nearest_mode", "floor"), name: module + "/Resize");
    }

    private static string ConvTranspose(NetBuilder n, string module, string x, int cin, int cout)
    {
        string w = n.Kaiming(module + ".weight", cin, MathF.Sqrt(2), cin, cout, 2, 2);
        string b = n.Uniform(module + ".bias", -0.05f, 0.05f, cout);
        return n.B.Node("ConvTranspose", [x, w, b], a => a
            .Ints("dilations", 1, 1)
            .Int("group", 1)
            .Ints("kernel_shape", 2, 2)
            .Ints("pads", 0, 0, 0, 0)
            .Ints("strides", 2, 2), name: module + "/ConvTranspose");
    }
}
