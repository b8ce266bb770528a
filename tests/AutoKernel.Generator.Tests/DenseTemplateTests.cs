using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Schedules;
using AutoKernel.Generator.Tests.Support;
using AutoKernel.Generator.Workloads;
using AutoKernel.Runtime.Threading;

namespace AutoKernel.Generator.Tests;

public sealed class DenseTemplateTests
{
    private static readonly CpuTarget Avx512 = KernelPaths.Avx512;
    private static readonly CpuTarget Avx2 = KernelPaths.Avx2;
    private static readonly CpuTarget Sse = KernelPaths.Sse;

    private static readonly DenseWorkload[] Shapes =
    [
        new(1, 1000, 512), // batch-1 classifier
        new(3, 17, 37),
        new(3, 1000, 64),
        new(8, 64, 128),
        new(5, 33, 300),
        new(13, 48, 1),
        new(2, 1, 5),
    ];

    /// <summary><paramref name="perShape"/> random kernels for each shape and target.</summary>
    private static List<KernelCase> Sample(int perShape, int seed, params CpuTarget[] targets)
    {
        var template = new DenseTemplate();
        var rng = new Random(seed);
        var cases = new List<KernelCase>();
        foreach (var d in Shapes)
        {
            foreach (var target in targets)
            {
                var space = template.CreateSpace(d, target);
                var valid = space.EnumerateValid().ToList();
                Assert.NotEmpty(valid);
                for (int i = 0; i < perShape; i++)
                {
                    var config = valid[rng.Next(valid.Count)];
                    var e = KernelBatch.Epilogues[rng.Next(KernelBatch.Epilogues.Length)];
                    string name = $"Dense{cases.Count}";
                    cases.Add(new KernelCase(d, e, config, target, name, template.Emit(d, e, config, target, KernelBatch.Namespace, name)));
                }
            }
        }
        return cases;
    }

    private static void Check(KernelCase c, Random rng, WorkerPool pool)
    {
        var d = (DenseWorkload)c.Workload;
        var x = TestData.RandomFloats(rng, d.M * d.K);
        var w = TestData.RandomFloats(rng, d.N * d.K);
        var b = TestData.RandomFloats(rng, d.N);
        var r = TestData.RandomFloats(rng, d.M * d.N);
        var expected = NaiveConvolution.Reference(d, c.Epilogue, x, w, b, r);
        var actual = KernelBatch.Run(c.Create(), x, w, c.Epilogue.Bias ? b : null, c.Epilogue.Residual ? r : null, d.M * d.N, pool);
        Closeness.AssertClose(expected, actual, atol: 1e-4f, rtol: 1e-4f, what: c.ToString());
    }

    /// <summary>The main path of each width's kernels (6 per shape at 512 bits, 2 at 256 and 128); skipped where it cannot run.</summary>
    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    [InlineData(128)]
    public void Sampled_configs_match_the_naive_loops(int bits)
    {
        var target = KernelPaths.Target(bits);
        KernelPaths.RequireMainPath(target);
        var cases = Sample(perShape: bits == 512 ? 6 : 2, seed: 1234 + bits, target);
        KernelBatch.Compile(cases);
        var rng = new Random(99);
        // Mostly one thread (fast on a busy 2-core machine); every 4th case on 2 or 3 threads for the chunking.
        using var two = new WorkerPool(2, spinIterations: 20);
        using var three = new WorkerPool(3, spinIterations: 20);
        var one = new WorkerPool(1);
        int i = 0;
        foreach (var c in cases)
        {
            var pool = (i++ % 8) switch { 3 => two, 7 => three, _ => one };
            Check(c, rng, pool);
        }
    }

    /// <summary>The portable path (ForcePortable) of one kernel per shape and width: runs on every machine.</summary>
    [Fact]
    public void Portable_path_matches_the_naive_loops()
    {
        var cases = Sample(perShape: 1, seed: 777, Avx512, Avx2, Sse);
        foreach (var target in new[] { Avx512, Avx2, Sse })
            KernelPaths.Report(target, portable: true);
        KernelBatch.Compile(cases);
        var rng = new Random(5);
        var pool = new WorkerPool(1);
        foreach (var c in cases)
        {
            c.SetPortable(true);
            Check(c, rng, pool);
        }
    }

    /// <summary>The main path of every eighth valid config at 512 and 256 bits; skipped where it cannot run.</summary>
    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    public void Every_eighth_valid_config_of_a_small_shape_is_correct(int bits)
    {
        var target = KernelPaths.Target(bits);
        KernelPaths.RequireMainPath(target);
        var template = new DenseTemplate();
        var d = new DenseWorkload(3, 17, 37);
        var space = template.CreateSpace(d, target);
        var valid = space.EnumerateValid().Where((_, i) => i % 8 == 0).ToList();
        var e = new Epilogue(true, true, "Relu", 0, 0);
        var cases = valid.Select((cfg, i) => new KernelCase(d, e, cfg, target, $"All{i}", template.Emit(d, e, cfg, target, KernelBatch.Namespace, $"All{i}"))).ToList();
        KernelBatch.Compile(cases);
        var rng = new Random(3);
        using var pool = new WorkerPool(2, spinIterations: 20);
        foreach (var c in cases)
            Check(c, rng, pool);
    }

    [Fact]
    public void Emit_is_deterministic()
    {
        var template = new DenseTemplate();
        var d = new DenseWorkload(3, 1000, 37);
        var space = template.CreateSpace(d, Avx512);
        var e = new Epilogue(true, true, "Sigmoid", 0, 0);
        foreach (var cfg in space.EnumerateValid().Where((_, i) => i % 17 == 0))
        {
            string a = template.Emit(d, e, cfg, Avx512, "Ns", "K");
            string b = template.Emit(d, e, space.Decode(cfg.Index), Avx512, "Ns", "K");
            Assert.Equal(a, b);
            Assert.DoesNotContain("\r", a);
        }
    }

    [Fact]
    public void Space_constraints_and_invalid_configs()
    {
        var template = new DenseTemplate();
        Assert.True(template.Supports(new DenseWorkload(1, 1000, 512)));
        Assert.False(template.Supports(new BatchMatMulWorkload(1, 2, 3, 4)));
        var d = new DenseWorkload(1, 1000, 512);
        var space = template.CreateSpace(d, Avx512);
        var valid = space.EnumerateValid().ToList();
        Assert.All(valid, c => Assert.Equal(1, c.Value("tile_m")));
        Assert.All(valid, c => Assert.Equal(0, c.Value("tile_n") % 16));
        // registers: tile_m * tile_n/VF + tile_n/VF + 1 <= 32 on AVX-512, <= 16 on AVX2
        var big = template.CreateSpace(new DenseWorkload(64, 256, 256), Avx512);
        Assert.All(big.EnumerateValid(), c => Assert.True(c.Value("tile_m") * (c.Value("tile_n") / 16) + c.Value("tile_n") / 16 + 1 <= 32));
        Assert.Contains(big.EnumerateValid(), c => c.Value("tile_m") == 6 && c.Value("tile_n") == 64);
        var avx2 = template.CreateSpace(new DenseWorkload(64, 256, 256), Avx2);
        Assert.DoesNotContain(avx2.EnumerateValid(), c => c.Value("tile_m") == 6 && c.Value("tile_n") == 32);
        // tile_m larger than M is rejected, and Emit refuses invalid points
        var invalid = Enumerable.Range(0, (int)space.Size).Select(i => space.Decode(i)).First(c => !space.IsValid(c));
        Assert.Throws<ArgumentException>(() => template.Emit(d, Epilogue.None, invalid, Avx512, "Ns", "K"));
        Assert.Throws<ArgumentException>(() => template.CreateSpace(new Conv2dWorkload(1, 8, 8, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 8), Avx512));
    }
}
