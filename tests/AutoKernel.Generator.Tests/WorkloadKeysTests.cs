using AutoKernel.Generator.Workloads;

namespace AutoKernel.Generator.Tests;

public sealed class WorkloadKeysTests
{
    public static TheoryData<Workload> Workloads =>
    [
        new Conv2dWorkload(1, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
        new Conv2dWorkload(2, 32, 17, 19, 32, 3, 5, 2, 1, 0, 2, 1, 2, 2, 1, 32),
        new Conv2dWorkload(1, 64, 28, 28, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4),
        new DenseWorkload(1, 1000, 512),
        new BatchMatMulWorkload(12, 64, 64, 128),
    ];

    [Theory]
    [MemberData(nameof(Workloads))]
    public void KeysReadBackIntoTheSameWorkload(Workload workload) => Assert.Equal(workload, WorkloadKeys.TryParse(workload.Key));

    [Theory]
    [InlineData("")]
    [InlineData("conv2d")]
    [InlineData("conv3d|data=1x1x1x1|dtype=float32")]
    [InlineData("dense|data=1x512|weight=1000x512|dtype=float16")]
    [InlineData("dense|data=1x512|weight=1000x256|dtype=float32")]
    [InlineData("dense|data=1x512|weight=1000x-512|dtype=float32")]
    [InlineData("dense|weight=1000x512|data=1x512|dtype=float32")]
    [InlineData("conv2d|data=1x64x56x56|weight=64x64x3x3|stride=1x1|pad=1x1x1x1|dilation=1x1|groups=1|layout=NHWC|dtype=float32")]
    [InlineData("conv2d|data=1x64x56x56|weight=64x64x3x3|stride=0x1|pad=1x1x1x1|dilation=1x1|groups=1|layout=NCHW|dtype=float32")]
    [InlineData("conv2d|data=1x64x2x2|weight=64x64x7x7|stride=1x1|pad=0x0x0x0|dilation=1x1|groups=1|layout=NCHW|dtype=float32")]
    [InlineData("conv2d|data=1x0x56x56|weight=64x0x3x3|stride=1x1|pad=1x1x1x1|dilation=1x1|groups=1|layout=NCHW|dtype=float32")]
    public void OtherTextIsNotAKey(string text) => Assert.Null(WorkloadKeys.TryParse(text));
}
