using AutoKernel.Build.Tasks;
using AutoKernel.Generator.Workloads;
using AutoKernel.Build.Tests.Support;
using AutoKernel.Build.Zoo;

namespace AutoKernel.Build.Tests.Tasks;

public sealed class TaskExtractionTests
{
    [Fact]
    public void Resnet18_has_eleven_conv2d_workloads_and_one_dense()
    {
        var loaded = Graphs.Prepare(ModelZoo.Create("resnet18"));
        var tasks = TaskExtractor.Extract(loaded.Optimized);

        Assert.Equal(11, tasks.Count(t => t.Workload.Kind == "conv2d"));
        Assert.Equal(1, tasks.Count(t => t.Workload.Kind == "dense"));
        Assert.Equal(20, tasks.Sum(t => t.Workload.Kind == "conv2d" ? t.Nodes.Count : 0));
        Assert.Equal(
            "conv2d|data=1x3x224x224|weight=64x3x7x7|stride=2x2|pad=3x3x3x3|dilation=1x1|groups=1|layout=NCHW|dtype=float32",
            tasks[0].Key);
        Assert.Equal(118_013_952L * 2, tasks[0].Workload.Flops);
        var layer1 = tasks.Single(t => t.Key.StartsWith("conv2d|data=1x64x56x56|weight=64x64x3x3", StringComparison.Ordinal));
        Assert.Equal(4, layer1.Nodes.Count);
        Assert.Equal("dense|data=1x512|weight=1000x512|dtype=float32", tasks[^1].Key);
        // torchvision's resnet18 is 1.81 G multiply-adds at 224x224.
        Assert.InRange(tasks.Sum(t => t.TotalFlops) / 2e9, 1.80, 1.83);
    }

    [Fact]
    public void Mobilenet_v2_separates_depthwise_workloads()
    {
        var loaded = Graphs.Prepare(ModelZoo.Create("mobilenet_v2"));
        var tasks = TaskExtractor.Extract(loaded.Optimized);
        Assert.Contains(tasks, t => t.Workload.Kind == "depthwise_conv2d");
        Assert.All(tasks.Where(t => t.Workload.Kind == "depthwise_conv2d"), t => Assert.Contains("groups=", t.Key));
        Assert.Equal(52, tasks.Sum(t => t.Workload.Kind is "conv2d" or "depthwise_conv2d" ? t.Nodes.Count : 0));
    }
}
