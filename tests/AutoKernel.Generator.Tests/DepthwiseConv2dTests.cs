using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Tests.Support;
using AutoKernel.Generator.Workloads;
using AutoKernel.Runtime.Threading;

namespace AutoKernel.Generator.Tests;

public sealed class DepthwiseConv2dTests
{
    private static readonly CpuTarget Avx512 = KernelPaths.Avx512;
    private static readonly CpuTarget Avx2 = KernelPaths.Avx2;
    private static readonly CpuTarget Sse = KernelPaths.Sse;

    private static Conv2dWorkload Dw(int batch, int c, int h, int w, int k, int stride, int pad, int dilation = 1) =>
        new(batch, c, h, w, c, k, k, stride, stride, pad, pad, pad, pad, dilation, dilation, c);

    private static readonly Conv2dWorkload[] Shapes =
    [
        Dw(1, 32, 13, 13, 3, 1, 1),
        Dw(2, 24, 7, 7, 3, 2, 1),
        Dw(1, 17, 13, 13, 5, 1, 2),
        Dw(1, 96, 7, 7, 3, 1, 1),
        Dw(2, 17, 5, 56, 3, 2, 1),
        Dw(1, 32, 8, 8, 5, 2, 2),
        Dw(1, 16, 9, 9, 3, 1, 2, dilation: 2),
        Dw(1, 24, 6, 7, 3, 1, 0),
        new(1, 8, 6, 9, 8, 3, 3, 1, 2, 0, 1, 1, 0, 1, 1, 8), // asymmetric padding and strides
        Dw(1, 3, 4, 4, 3, 1, 3), // padding larger than the image: rows and columns with no taps
    ];

    /// <summary><paramref name="perShape"/> random kernels for each shape and target.</summary>
    private static List<KernelCase> Sample(int perShape, int seed, params CpuTarget[] targets)
    {
        var template = new DepthwiseConv2dTemplate();
        var rng = new Random(seed);
        var cases = new List<KernelCase>();
        foreach (var d in Shapes)
        {
            Assert.True(template.Supports(d));
            foreach (var target in targets)
            {
                var space = template.CreateSpace(d, target);
                var valid = space.EnumerateValid().ToList();
                Assert.NotEmpty(valid);
                for (int i = 0; i < perShape; i++)
                {
                    var config = valid[rng.Next(valid.Count)];
                    var e = KernelBatch.Epilogues[rng.Next(KernelBatch.Epilogues.Length)];
                    string name = $"Dw{cases.Count}";
                    cases.Add(new KernelCase(d, e, config, target, name, template.Emit(d, e, config, target, KernelBatch.Namespace, name)));
                }
            }
        }
        return cases;
    }

    private static void Check(KernelCase c, Random rng, WorkerPool pool)
    {
        var d = (Conv2dWorkload)c.Workload;
        int outLength = d.Batch * d.OutChannels * d.OutHeight * d.OutWidth;
        var x = TestData.RandomFloats(rng, d.Batch * d.InChannels * d.InHeight * d.InWidth);
        var w = TestData.RandomFloats(rng, d.OutChannels * d.KernelHeight * d.KernelWidth);
        var b = TestData.RandomFloats(rng, d.OutChannels);
        var r = TestData.RandomFloats(rng, outLength);
        var expected = NaiveConvolution.Reference(d, c.Epilogue, x, w, b, r);
        var actual = KernelBatch.Run(c.Create(), x, w, c.Epilogue.Bias ? b : null, c.Epilogue.Residual ? r : null, outLength, pool);
        Closeness.AssertClose(expected, actual, atol: 1e-4f, rtol: 1e-4f, what: c.ToString());
    }

    /// <summary>The main path of each width's kernels (4 per shape at 512 bits, 2 at 256, 1 at 128); skipped where it cannot run.</summary>
    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    [InlineData(128)]
    public void Sampled_configs_match_the_naive_loops(int bits)
    {
        var target = KernelPaths.Target(bits);
        KernelPaths.RequireMainPath(target);
        var cases = Sample(perShape: bits switch { 512 => 4, 256 => 2, _ => 1 }, seed: 4321 + bits, target);
        KernelBatch.Compile(cases);
        var rng = new Random(11);
        // Mostly one thread (fast on a busy 2-core machine); every 4th case on 2 threads.
        using var two = new WorkerPool(2, spinIterations: 20);
        var one = new WorkerPool(1);
        int i = 0;
        foreach (var c in cases)
            Check(c, rng, i++ % 4 == 3 ? two : one);
    }

    /// <summary>The main path of one-vector channel blocks with unrolled taps, at 512 and 256 bits; skipped where it cannot run.</summary>
    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    public void Unrolled_kw_taps_with_strides_dilations_and_asymmetric_padding(int bits)
    {
        var target = KernelPaths.Target(bits);
        KernelPaths.RequireMainPath(target);
        var template = new DepthwiseConv2dTemplate();
        var cases = new List<KernelCase>();
        foreach (var d in new[] { Shapes[1], Shapes[2], Shapes[4], Shapes[6], Shapes[8] })
        {
            var space = template.CreateSpace(d, target);
            foreach (var cfg in space.EnumerateValid().Where(c => c.Value("unroll_kw") == 1 && c.Value("cb") == target.VectorFloats && c.Value("tile_ow") is 2 or 3 or 8))
            {
                var e = KernelBatch.Epilogues[cases.Count % KernelBatch.Epilogues.Length];
                string name = $"DwU{cases.Count}";
                cases.Add(new KernelCase(d, e, cfg, target, name, template.Emit(d, e, cfg, target, KernelBatch.Namespace, name)));
            }
        }
        Assert.True(cases.Count >= 10);
        KernelBatch.Compile(cases);
        var rng = new Random(21);
        var pool = new WorkerPool(1);
        foreach (var c in cases)
            Check(c, rng, pool);
    }

    /// <summary>The portable path (ForcePortable) of one kernel per shape and width: runs on every machine.</summary>
    [Fact]
    public void Portable_path_matches_the_naive_loops()
    {
        var cases = Sample(perShape: 1, seed: 8, Avx512, Avx2, Sse);
        foreach (var target in new[] { Avx512, Avx2, Sse })
            KernelPaths.Report(target, portable: true);
        KernelBatch.Compile(cases);
        var rng = new Random(12);
        var pool = new WorkerPool(1);
        foreach (var c in cases)
        {
            c.SetPortable(true);
            Check(c, rng, pool);
        }
    }

    [Fact]
    public void Emit_is_deterministic_and_invalid_configs_are_rejected()
    {
        var template = new DepthwiseConv2dTemplate();
        var d = Dw(1, 32, 112, 112, 3, 1, 1);
        var space = template.CreateSpace(d, Avx512);
        var e = new Epilogue(true, false, "Clip", 0, 6);
        foreach (var cfg in space.EnumerateValid())
            Assert.Equal(template.Emit(d, e, cfg, Avx512, "Ns", "K"), template.Emit(d, e, space.Decode(cfg.Index), Avx512, "Ns", "K"));
        Assert.All(space.EnumerateValid(), c => Assert.True((c.Value("tile_ow") + (c.Value("unroll_kw") == 1 ? 3 : 1)) * (c.Value("cb") / 16) + 1 <= 32));
        var avx2 = template.CreateSpace(d, Avx2).EnumerateValid().ToList(); // 16 registers
        Assert.Contains(avx2, c => c.Value("tile_ow") == 6 && c.Value("cb") == 16 && c.Value("unroll_kw") == 0);
        Assert.DoesNotContain(avx2, c => c.Value("tile_ow") == 6 && c.Value("cb") == 16 && c.Value("unroll_kw") == 1);
        var narrow = template.CreateSpace(Dw(1, 16, 3, 3, 3, 1, 1), Avx512);
        var bad = Enumerable.Range(0, (int)narrow.Size).Select(i => narrow.Decode(i)).First(c => !narrow.IsValid(c));
        Assert.Throws<ArgumentException>(() => template.Emit(Dw(1, 16, 3, 3, 3, 1, 1), e, bad, Avx512, "Ns", "K"));
        // multiplier > 1, grouped and regular convolutions are not this template's
        Assert.False(template.Supports(new Conv2dWorkload(1, 8, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 8)));
        Assert.False(template.Supports(new Conv2dWorkload(1, 8, 8, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4)));
        Assert.False(template.Supports(new Conv2dWorkload(1, 8, 8, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1)));
        Assert.False(template.Supports(new DenseWorkload(1, 2, 3)));
        Assert.Throws<ArgumentException>(() => template.CreateSpace(new DenseWorkload(1, 2, 3), Avx512));
    }
}
