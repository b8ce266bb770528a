using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Tests.Support;
using AutoKernel.Generator.Workloads;
using AutoKernel.Runtime.Threading;

namespace AutoKernel.Generator.Tests;

public sealed class GroupConv2dTests
{
    private static readonly GroupConv2dTemplate Template = new();

    private static readonly (Conv2dWorkload Workload, string Activation, bool Residual)[] Shapes =
    [
        // n, c, h, w, k, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, groups
        (new Conv2dWorkload(1, 8, 9, 40, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2), "Relu", false),
        (new Conv2dWorkload(2, 16, 7, 13, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 4), "", true),
        (new Conv2dWorkload(1, 32, 6, 70, 32, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 8), "Clip", false),
        (new Conv2dWorkload(1, 8, 10, 37, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 8), "Sigmoid", true),
        (new Conv2dWorkload(1, 12, 11, 50, 24, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 3), "LeakyRelu", false),
    ];

    /// <summary>Every shape for 512- and 256-bit targets.</summary>
    public static TheoryData<Conv2dWorkload, string, bool, int> Cases()
    {
        var data = new TheoryData<Conv2dWorkload, string, bool, int>();
        foreach (int bits in new[] { 512, 256 })
        {
            foreach (var (workload, activation, residual) in Shapes)
                data.Add(workload, activation, residual, bits);
        }
        return data;
    }

    /// <summary>Configs spread over the space, compiled together: portable path, then main path (skipped where it cannot run).</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_the_definition_on_both_paths(Conv2dWorkload c, string activation, bool residual, int bits)
    {
        var target = KernelPaths.Target(bits);
        Assert.True(Template.Supports(c));
        var e = new Epilogue(true, residual, activation, activation == "LeakyRelu" ? 0.1f : 0f, activation == "Clip" ? 6f : 0f);
        var random = new Random(c.InChannels * 100 + c.Groups);
        var x = TestData.RandomFloats(random, c.Batch * c.InChannels * c.InHeight * c.InWidth);
        var weights = TestData.RandomFloats(random, c.OutChannels * (c.InChannels / c.Groups) * c.KernelHeight * c.KernelWidth);
        var bias = TestData.RandomFloats(random, c.OutChannels);
        var res = residual ? TestData.RandomFloats(random, c.Batch * c.OutChannels * c.OutHeight * c.OutWidth) : null;
        var expected = NaiveConvolution.Run(c, e, x, weights, bias, res);

        var configs = Template.CreateSpace(c, target).EnumerateValid().ToList();
        var picked = configs.Where((_, i) => i % Math.Max(1, configs.Count / 2) == 0).Take(2).ToList();
        var kernels = KernelCompiler.CompileMany(
            picked.Select((cfg, i) => Template.Emit(c, e, cfg, target, "G", $"K{i}")),
            picked.Select((_, i) => $"G.K{i}"));
        using var pool = new WorkerPool(2);
        KernelPaths.OnBothPaths(target, [.. Enumerable.Range(0, kernels.Count)], (i, portable) =>
        {
            KernelBatch.SetPortable(kernels[i], portable);
            var actual = KernelBatch.Run(kernels[i], x, weights, bias, res, expected.Length, pool);
            Closeness.AssertClose(expected, actual, atol: 1e-4f, rtol: 1e-4f, what: $"{picked[i]} {target.VectorClass} portable={portable}");
        });
    }

    [Fact]
    public void Takes_grouped_and_multiplier_depthwise_but_leaves_plain_depthwise_to_its_template()
    {
        Assert.False(Template.Supports(new Conv2dWorkload(1, 8, 8, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 8)));
        Assert.True(new DepthwiseConv2dTemplate().Supports(new Conv2dWorkload(1, 8, 8, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 8)));
        Assert.True(Template.Supports(new Conv2dWorkload(1, 8, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 8)));
        Assert.False(Template.Supports(new Conv2dWorkload(1, 8, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1)));
    }
}
