using System.Collections.Generic;

namespace AutoKernel.Generator.Kernels;

/// <summary>Every CPU template, in the order the tuner tries them for a workload.</summary>
public static class KernelTemplates
{
    public static IReadOnlyList<KernelTemplate> All { get; } =
    [
        new Conv2dNchwcTemplate(),
        new Conv2d1x1Template(),
        new Conv2dWinogradTemplate(),
        new DepthwiseConv2dTemplate(),
        new GroupConv2dTemplate(),
        new DenseTemplate(),
    ];
}
