using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Tests.Support;
using AutoKernel.Generator.Workloads;
using AutoKernel.Runtime.Threading;

namespace AutoKernel.Generator.Tests;

public sealed class Conv2dWinogradTests
{
    private static readonly CpuTarget Avx512 = KernelPaths.Avx512;
    private static readonly Conv2dWinogradTemplate Template = new();

    private static Conv2dWorkload Conv(int n, int c, int h, int w, int k, int pad) =>
        new(n, c, h, w, k, 3, 3, 1, 1, pad, pad, pad, pad, 1, 1, 1);

    private static readonly (int N, int C, int H, int W, int K, int Pad, string Activation, bool Residual)[] Shapes =
    [
        (1, 16, 8, 8, 16, 1, "Relu", false),
        (1, 3, 7, 13, 20, 1, "", true),
        (2, 17, 9, 6, 33, 0, "Clip", false),
        (1, 64, 14, 14, 64, 1, "Relu", true),
        (1, 8, 5, 5, 8, 2, "Sigmoid", false),
    ];

    /// <summary>Every shape for 512- and 256-bit targets.</summary>
    public static TheoryData<int, int, int, int, int, int, string, bool, int> Cases()
    {
        var data = new TheoryData<int, int, int, int, int, int, string, bool, int>();
        foreach (int bits in new[] { 512, 256 })
        {
            foreach (var (n, c, h, w, k, pad, activation, residual) in Shapes)
                data.Add(n, c, h, w, k, pad, activation, residual, bits);
        }
        return data;
    }

    /// <summary>Two configs per shape and width, compiled together: portable path, then main path (skipped where it cannot run).</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_the_definition_on_both_paths(int n, int c, int h, int w, int k, int pad, string activation, bool residual, int bits)
    {
        var target = KernelPaths.Target(bits);
        var workload = Conv(n, c, h, w, k, pad);
        Assert.True(Template.Supports(workload));
        var epilogue = new Epilogue(true, residual, activation, 0f, activation == "Clip" ? 6f : 0f);
        var space = Template.CreateSpace(workload, target);
        var random = new Random(n * 1000 + c * 10 + k + bits);
        var configs = space.EnumerateValid().Where((_, i) => i % 5 == random.Next(5)).Take(2).ToList();
        Assert.NotEmpty(configs);

        float[] x = TestData.RandomFloats(random, n * c * h * w);
        float[] weights = TestData.RandomFloats(random, k * c * 9);
        float[] bias = TestData.RandomFloats(random, k);
        float[]? res = residual ? TestData.RandomFloats(random, n * k * workload.OutHeight * workload.OutWidth) : null;
        float[] expected = NaiveConvolution.Run(workload, epilogue, x, weights, bias, res);

        using var pool = new WorkerPool(2);
        var sources = configs.Select((config, i) => Template.Emit(workload, epilogue, config, target, "T", "Winograd" + i)).ToList();
        Assert.Equal(sources[0], Template.Emit(workload, epilogue, space.Decode(configs[0].Index), target, "T", "Winograd0"));
        var kernels = KernelCompiler.CompileMany(sources, configs.Select((_, i) => "T.Winograd" + i));
        KernelPaths.OnBothPaths(target, [.. Enumerable.Range(0, kernels.Count)], (i, portable) =>
        {
            KernelBatch.SetPortable(kernels[i], portable);
            var actual = KernelBatch.Run(kernels[i], x, weights, bias, res, expected.Length, pool);
            Closeness.AssertClose(expected, actual, atol: 1e-4f, rtol: 1e-4f, what: $"{configs[i]} {target.VectorClass} portable={portable}");
        });
    }

    [Fact]
    public void Only_3x3_stride1_undilated_convolutions()
    {
        Assert.False(Template.Supports(new Conv2dWorkload(1, 8, 8, 8, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1)));
        Assert.False(Template.Supports(new Conv2dWorkload(1, 8, 8, 8, 8, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1)));
        Assert.False(Template.Supports(new Conv2dWorkload(1, 8, 8, 8, 8, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1)));
        Assert.False(Template.Supports(new Conv2dWorkload(1, 8, 8, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2)));
    }

    [Fact]
    public void Register_budget_limits_the_space()
    {
        var space = Template.CreateSpace(Conv(1, 64, 56, 56, 64, 1), Avx512);
        Assert.All(space.EnumerateValid(), c => Assert.True(c.Value("tile_t") * c.Value("tile_k") / 16 + c.Value("tile_k") / 16 + 1 <= 32));
        Assert.Contains(space.EnumerateValid(), c => c.Value("tile_t") == 12 && c.Value("tile_k") == 32);
        Assert.DoesNotContain(space.EnumerateValid(), c => c.Value("tile_t") == 12 && c.Value("tile_k") == 64);
    }
}
