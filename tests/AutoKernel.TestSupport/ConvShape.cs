using AutoKernel.Generator.Workloads;

namespace AutoKernel.TestSupport;

/// <summary>
/// The shape of a direct convolution over zero to three spatial axes, in ONNX's layouts: input
/// [Batch, InChannels, spatial...], weights [OutChannels, InChannels / Groups, kernel...], output
/// [Batch, OutChannels, OutSize...]. Output channel k reads the input channels of group
/// k / (OutChannels / Groups), so Groups == InChannels is depthwise (with a channel multiplier of
/// OutChannels / InChannels). Zero spatial axes is a matrix product: input [Batch, InChannels],
/// weights [OutChannels, InChannels], output [Batch, OutChannels].
/// </summary>
/// <param name="InSize">Input extent per spatial axis, outermost first.</param>
/// <param name="KernelSize">Kernel extent per spatial axis.</param>
/// <param name="Strides">Output step per spatial axis (at least 1).</param>
/// <param name="Dilations">Distance between kernel taps per spatial axis (at least 1).</param>
/// <param name="PadsBegin">Zero padding before each spatial axis.</param>
/// <param name="PadsEnd">Zero padding after each spatial axis (it only changes the output size).</param>
public sealed record ConvShape(
    int Batch, int InChannels, int OutChannels, int Groups,
    int[] InSize, int[] KernelSize, int[] Strides, int[] Dilations, int[] PadsBegin, int[] PadsEnd)
{
    /// <summary>The most spatial axes the oracle handles.</summary>
    public const int MaxRank = 3;

    /// <summary>The number of spatial axes.</summary>
    public int Rank => InSize.Length;

    /// <summary>Output extent per spatial axis: (in + padBegin + padEnd - ((kernel - 1) * dilation + 1)) / stride + 1.</summary>
    public int[] OutSize =>
        [.. Enumerable.Range(0, Rank).Select(a => (InSize[a] + PadsBegin[a] + PadsEnd[a] - ((KernelSize[a] - 1) * Dilations[a] + 1)) / Strides[a] + 1)];

    public int InputLength => Batch * InChannels * Product(InSize);

    public int WeightLength => OutChannels * (InChannels / Groups) * Product(KernelSize);

    public int OutputLength => Batch * OutChannels * Product(OutSize);

    /// <summary>A 2-D convolution workload (NCHW, OIHW weights).</summary>
    public static ConvShape Of(Conv2dWorkload c) => new(
        c.Batch, c.InChannels, c.OutChannels, c.Groups,
        [c.InHeight, c.InWidth], [c.KernelHeight, c.KernelWidth], [c.StrideHeight, c.StrideWidth],
        [c.DilationHeight, c.DilationWidth], [c.PadTop, c.PadLeft], [c.PadBottom, c.PadRight]);

    /// <summary>A dense workload, x [M, K] · w [N, K]ᵀ, as a convolution with no spatial axes.</summary>
    public static ConvShape Of(DenseWorkload d) => new(d.M, d.K, d.N, 1, [], [], [], [], [], []);

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first inconsistency.</summary>
    public void Validate()
    {
        int[][] axes = [InSize, KernelSize, Strides, Dilations, PadsBegin, PadsEnd];
        if (Rank > MaxRank || axes.Any(a => a.Length != Rank))
            throw new ArgumentException($"every per-axis array needs the same length, at most {MaxRank}: {this}");
        if (Batch < 1 || InChannels < 1 || OutChannels < 1 || Groups < 1 || InChannels % Groups != 0 || OutChannels % Groups != 0)
            throw new ArgumentException($"channels {InChannels} -> {OutChannels} do not split into {Groups} groups");
        if (InSize.Any(v => v < 1) || KernelSize.Any(v => v < 1) || Strides.Any(v => v < 1) || Dilations.Any(v => v < 1)
            || PadsBegin.Any(v => v < 0) || PadsEnd.Any(v => v < 0))
            throw new ArgumentException("sizes, strides and dilations must be positive and pads non-negative");
        if (OutSize.Any(v => v < 1))
            throw new ArgumentException($"the kernel does not fit the padded input: output {string.Join("x", OutSize)}");
    }

    public override string ToString() =>
        $"conv batch={Batch} channels={InChannels}->{OutChannels} groups={Groups} in=[{string.Join(",", InSize)}] kernel=[{string.Join(",", KernelSize)}] "
        + $"strides=[{string.Join(",", Strides)}] dilations=[{string.Join(",", Dilations)}] pads=[{string.Join(",", PadsBegin)}|{string.Join(",", PadsEnd)}]";

    private static int Product(int[] values) => values.Aggregate(1, (a, b) => a * b);
}
