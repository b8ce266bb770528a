using System.Globalization;
using AutoKernel.Build.Tasks;
using AutoKernel.Build.Tests.Support;
using AutoKernel.Build.Zoo;

namespace AutoKernel.Build.Tests.Tasks;

/// <summary>
/// The tasks of two zoo networks, worked out by hand from torchvision's layer tables: every
/// workload key, in order of first use, with the nodes that share it and its operation count.
/// </summary>
public sealed class TaskExtractionTests
{
    /// <summary>
    /// The documented key of a square NCHW float32 convolution with "same" padding k/2, batch 1
    /// (the format of Workload.Key): kind|data|weight (O, I/groups, kH, kW)|stride|pad|dilation|groups.
    /// </summary>
    private static string ConvKey(string kind, int cin, int size, int cout, int kernel, int stride, int groups = 1)
    {
        string I(int v) => v.ToString(CultureInfo.InvariantCulture);
        int p = kernel / 2;
        return $"{kind}|data=1x{I(cin)}x{I(size)}x{I(size)}|weight={I(cout)}x{I(cin / groups)}x{I(kernel)}x{I(kernel)}" +
            $"|stride={I(stride)}x{I(stride)}|pad={I(p)}x{I(p)}x{I(p)}x{I(p)}|dilation=1x1|groups={I(groups)}|layout=NCHW|dtype=float32";
    }

    private static void AssertTasks(IReadOnlyList<TuningTask> tasks, (string Key, string[] Nodes, long Flops)[] expected)
    {
        Assert.Equal(expected.Select(e => e.Key), tasks.Select(t => t.Key));
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i].Nodes, tasks[i].Nodes);
            Assert.True(expected[i].Flops == tasks[i].Workload.Flops, $"task {i} ({expected[i].Key}): {tasks[i].Workload.Flops} operations, expected {expected[i].Flops}");
            Assert.Equal(expected[i].Flops * expected[i].Nodes.Length, tasks[i].TotalFlops);
        }
    }

    [Fact]
    public void Resnet18_has_eleven_conv2d_workloads_and_one_dense()
    {
        var tasks = TaskExtractor.Extract(Graphs.Prepare(ModelZoo.Create("resnet18")).Optimized);

        // Operations are 2 x multiply-adds = 2 x Cout x Hout x Wout x Cin x k x k:
        //   conv1        64 x 112 x 112 x   3 x 49 = 118,013,952
        //   3x3, s1      C x S x S x C x 9 = 115,605,504 for (C, S) = (64, 56), (128, 28), (256, 14), (512, 7)
        //   3x3, s2      2C x S/2 x S/2 x C x 9 = 57,802,752 for (C, S) = (64, 56), (128, 28), (256, 14)
        //   1x1, s2      2C x S/2 x S/2 x C = 6,422,528 for the same
        //   fc           1000 x 512 = 512,000
        // A basic block's conv2 absorbs the residual Add, so it runs at the Add's place, after the
        // downsample conv that computes the shortcut: conv1, downsample, conv2 in order of first use.
        const long Stem = 2 * 118_013_952L, Same = 2 * 115_605_504L, Down3 = 2 * 57_802_752L, Down1 = 2 * 6_422_528L;
        (string, string[], long)[] expected =
        [
            (ConvKey("conv2d", 3, 224, 64, 7, 2), ["conv1/Conv"], Stem),
            (ConvKey("conv2d", 64, 56, 64, 3, 1), ["layer1.0.conv1/Conv", "layer1.0.conv2/Conv", "layer1.1.conv1/Conv", "layer1.1.conv2/Conv"], Same),
            (ConvKey("conv2d", 64, 56, 128, 3, 2), ["layer2.0.conv1/Conv"], Down3),
            (ConvKey("conv2d", 64, 56, 128, 1, 2), ["layer2.0.downsample.0/Conv"], Down1),
            (ConvKey("conv2d", 128, 28, 128, 3, 1), ["layer2.0.conv2/Conv", "layer2.1.conv1/Conv", "layer2.1.conv2/Conv"], Same),
            (ConvKey("conv2d", 128, 28, 256, 3, 2), ["layer3.0.conv1/Conv"], Down3),
            (ConvKey("conv2d", 128, 28, 256, 1, 2), ["layer3.0.downsample.0/Conv"], Down1),
            (ConvKey("conv2d", 256, 14, 256, 3, 1), ["layer3.0.conv2/Conv", "layer3.1.conv1/Conv", "layer3.1.conv2/Conv"], Same),
            (ConvKey("conv2d", 256, 14, 512, 3, 2), ["layer4.0.conv1/Conv"], Down3),
            (ConvKey("conv2d", 256, 14, 512, 1, 2), ["layer4.0.downsample.0/Conv"], Down1),
            (ConvKey("conv2d", 512, 7, 512, 3, 1), ["layer4.0.conv2/Conv", "layer4.1.conv1/Conv", "layer4.1.conv2/Conv"], Same),
            ("dense|data=1x512|weight=1000x512|dtype=float32", ["fc/Gemm"], 2 * 512_000L),
        ];
        AssertTasks(tasks, expected);
        Assert.Equal(
            "conv2d|data=1x3x224x224|weight=64x3x7x7|stride=2x2|pad=3x3x3x3|dilation=1x1|groups=1|layout=NCHW|dtype=float32",
            tasks[0].Key);
        // 118,013,952 + 4 x 115,605,504 + 3 x (57,802,752 + 6,422,528 + 3 x 115,605,504) + 512,000
        // = 1,814,073,344 multiply-adds: torchvision's "1.81 GFLOPS".
        Assert.Equal(2 * 1_814_073_344L, tasks.Sum(t => t.TotalFlops));
    }

    [Fact]
    public void Mobilenet_v2_separates_depthwise_workloads()
    {
        var tasks = TaskExtractor.Extract(Graphs.Prepare(ModelZoo.Create("mobilenet_v2")).Optimized);

        // torchvision's table (t, c, n, s): (1,16,1,1) (6,24,2,2) (6,32,3,2) (6,64,4,2) (6,96,3,1)
        // (6,160,3,2) (6,320,1,1) after a 3x3 s2 stem of 32 channels at 224 and before a 1x1 conv to
        // 1280 and the classifier. Block features.i: expand 1x1 (conv.0.0, absent when t = 1),
        // depthwise 3x3 carrying the block's stride (conv.1.0, or conv.0.0), project 1x1 (conv.2, or conv.1).
        string F(int block, string conv) => $"features.{block.ToString(CultureInfo.InvariantCulture)}.{conv}/Conv";
        string[] Fs(string conv, params int[] blocks) => [.. blocks.Select(b => F(b, conv))];
        string Pw(int cin, int size, int cout) => ConvKey("conv2d", cin, size, cout, 1, 1);
        string Dw(int c, int size, int stride) => ConvKey("depthwise_conv2d", c, size, c, 3, stride, groups: c);
        (string Key, string[] Nodes)[] expected =
        [
            (ConvKey("conv2d", 3, 224, 32, 3, 2), ["features.0.0/Conv"]),
            (Dw(32, 112, 1), [F(1, "conv.0.0")]),
            (Pw(32, 112, 16), [F(1, "conv.1")]),
            (Pw(16, 112, 96), [F(2, "conv.0.0")]),
            (Dw(96, 112, 2), [F(2, "conv.1.0")]),
            (Pw(96, 56, 24), [F(2, "conv.2")]),
            (Pw(24, 56, 144), Fs("conv.0.0", 3, 4)),
            (Dw(144, 56, 1), [F(3, "conv.1.0")]),
            (Pw(144, 56, 24), [F(3, "conv.2")]),
            (Dw(144, 56, 2), [F(4, "conv.1.0")]),
            (Pw(144, 28, 32), [F(4, "conv.2")]),
            (Pw(32, 28, 192), Fs("conv.0.0", 5, 6, 7)),
            (Dw(192, 28, 1), Fs("conv.1.0", 5, 6)),
            (Pw(192, 28, 32), Fs("conv.2", 5, 6)),
            (Dw(192, 28, 2), [F(7, "conv.1.0")]),
            (Pw(192, 14, 64), [F(7, "conv.2")]),
            (Pw(64, 14, 384), Fs("conv.0.0", 8, 9, 10, 11)),
            (Dw(384, 14, 1), Fs("conv.1.0", 8, 9, 10, 11)),
            (Pw(384, 14, 64), Fs("conv.2", 8, 9, 10)),
            (Pw(384, 14, 96), [F(11, "conv.2")]),
            (Pw(96, 14, 576), Fs("conv.0.0", 12, 13, 14)),
            (Dw(576, 14, 1), Fs("conv.1.0", 12, 13)),
            (Pw(576, 14, 96), Fs("conv.2", 12, 13)),
            (Dw(576, 14, 2), [F(14, "conv.1.0")]),
            (Pw(576, 7, 160), [F(14, "conv.2")]),
            (Pw(160, 7, 960), Fs("conv.0.0", 15, 16, 17)),
            (Dw(960, 7, 1), Fs("conv.1.0", 15, 16, 17)),
            (Pw(960, 7, 160), Fs("conv.2", 15, 16)),
            (Pw(960, 7, 320), [F(17, "conv.2")]),
            (Pw(320, 7, 1280), ["features.18.0/Conv"]),
            ("dense|data=1x1280|weight=1000x1280|dtype=float32", ["classifier.1/Gemm"]),
        ];
        Assert.Equal(expected.Select(e => e.Key), tasks.Select(t => t.Key));
        for (int i = 0; i < expected.Length; i++)
            Assert.Equal(expected[i].Nodes, tasks[i].Nodes);
        Assert.Equal(10, tasks.Count(t => t.Workload.Kind == "depthwise_conv2d"));
        Assert.Equal(20, tasks.Count(t => t.Workload.Kind == "conv2d"));
        Assert.Equal(52, tasks.Sum(t => t.Workload.Kind is "conv2d" or "depthwise_conv2d" ? t.Nodes.Count : 0));
        // The first depthwise conv: 32 x 112 x 112 outputs, 9 multiply-adds each = 3,612,672.
        Assert.Equal(2 * 3_612_672L, tasks[1].Workload.Flops);
    }
}
