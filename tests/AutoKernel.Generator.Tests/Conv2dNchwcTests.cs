using System.Diagnostics;
using AutoKernel.Generator.Tests.Support;
using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Schedules;
using AutoKernel.Generator.Workloads;
using AutoKernel.Runtime.Kernels;
using AutoKernel.Runtime.Threading;

namespace AutoKernel.Generator.Tests;

public sealed class Conv2dNchwcTests
{
    private static readonly CpuTarget Avx512 = KernelPaths.Avx512;
    private static readonly CpuTarget Avx2 = KernelPaths.Avx2;
    private static readonly Conv2dNchwcTemplate Template = new();

    private static Conv2dWorkload Conv(int n, int ic, int h, int w, int oc, int kh, int kw, int stride = 1, int pad = 0, int dilation = 1) =>
        new(n, ic, h, w, oc, kh, kw, stride, stride, pad, pad, pad, pad, dilation, dilation, 1);

    /// <summary>Edge shapes: odd widths, channel counts off the vector width, strides, pads, 7x7, dilation, batch, 1x1, asymmetric pads, all-border rows.</summary>
    private static readonly Conv2dWorkload[] EdgeShapes =
    [
        Conv(1, 3, 13, 7, 17, 3, 3, pad: 1),
        Conv(1, 17, 9, 13, 24, 3, 3, stride: 2, pad: 1),
        Conv(2, 8, 10, 11, 16, 1, 1),
        Conv(1, 5, 15, 15, 8, 7, 7, stride: 2, pad: 3),
        Conv(1, 16, 12, 12, 32, 3, 3, pad: 2, dilation: 2),
        Conv(1, 24, 7, 7, 20, 3, 3),
        new Conv2dWorkload(1, 4, 6, 20, 12, 2, 5, 1, 2, 1, 2, 0, 1, 1, 1, 1),
        Conv(1, 64, 14, 14, 64, 3, 3, pad: 1),
        Conv(1, 2, 3, 3, 3, 5, 5, pad: 2),
        Conv(2, 17, 13, 13, 33, 1, 1, stride: 2),
    ];

    private static readonly Epilogue[] Epilogues =
    [
        Epilogue.None,
        new(true, false, "Relu", 0, 0),
        new(true, true, "Clip", 0, 6),
        new(false, true, "LeakyRelu", 0.1f, 0),
        new(true, false, "Sigmoid", 0, 0),
    ];

    [Fact]
    public void Space_has_the_knobs_and_is_large()
    {
        var space = Template.CreateSpace(Conv(1, 64, 56, 56, 64, 3, 3, pad: 1), Avx512);
        Assert.Equal("conv2d_nchwc", space.Template);
        Assert.Equal(["tile_ic", "tile_oc", "tile_ow", "tile_oh", "unroll_kw", "order", "parallel"], space.Knobs.Select(k => k.Name));
        Assert.True(space.Size >= 10_000, space.ToString());
        long valid = space.EnumerateValid().LongCount();
        Assert.True(valid >= 5_000, $"{valid} valid points");
        Assert.True(valid < space.Size);
    }

    [Fact]
    public void Supports_only_ungrouped_convolutions()
    {
        Assert.True(Template.Supports(Conv(2, 3, 224, 224, 64, 7, 7, stride: 2, pad: 3)));
        Assert.False(Template.Supports(new Conv2dWorkload(1, 32, 8, 8, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 32)));
        Assert.False(Template.Supports(new Conv2dWorkload(1, 32, 8, 8, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2)));
        Assert.False(Template.Supports(new DenseWorkload(4, 8, 16)));
        Assert.Throws<ArgumentException>(() => Template.CreateSpace(new DenseWorkload(4, 8, 16), Avx512));
    }

    [Fact]
    public void Too_many_accumulators_are_invalid()
    {
        var space = Template.CreateSpace(Conv(1, 64, 56, 56, 64, 3, 3, pad: 1), Avx512);
        Config With(int oc, int ow) => space.FromChoices(space.Knobs.Select(k => k.Name switch
        {
            "tile_oc" => Enumerable.Range(0, k.Count).Single(i => k[i][1] == oc),
            "tile_ow" => Enumerable.Range(0, k.Count).Single(i => k[i][1] == ow),
            _ => 0,
        }).ToArray());
        Assert.True(space.IsValid(With(16, 30)));   // 30 + 1 + 1 registers
        Assert.False(space.IsValid(With(16, 31)));
        Assert.True(space.IsValid(With(32, 14)));   // 28 + 2 + 1
        Assert.False(space.IsValid(With(32, 15)));
        Assert.True(space.IsValid(With(64, 6)));    // 24 + 4 + 1
        Assert.False(space.IsValid(With(64, 7)));
        var narrow = Template.CreateSpace(Conv(1, 64, 56, 56, 64, 3, 3, pad: 1), Avx2);
        Assert.All(narrow.EnumerateValid(), c => Assert.True(c["tile_ow"][1] * c["tile_oc"][1] / 8 + c["tile_oc"][1] / 8 + 1 <= 16));
    }

    [Fact]
    public void Emit_is_deterministic_and_knobs_change_the_code()
    {
        var workload = Conv(1, 17, 9, 13, 24, 3, 3, stride: 2, pad: 1);
        var space = Template.CreateSpace(workload, Avx512);
        var epilogue = new Epilogue(true, true, "LeakyRelu", 0.1f, 0);
        var config = space.EnumerateValid().Skip(123).First();
        string a = Template.Emit(workload, epilogue, config, Avx512, "Gen", "K");
        string b = Template.Emit(workload, epilogue, space.Decode(config.Index), Avx512, "Gen", "K");
        Assert.Equal(a, b);
        Assert.DoesNotContain("\r", a);
        // Each knob reaches the source.
        foreach (var knob in space.Knobs)
        {
            int k = space.IndexOf(knob.Name);
            var choices = config.Choices.ToArray();
            choices[k] = (choices[k] + 1) % knob.Count;
            var other = space.FromChoices(choices);
            if (knob.Name == "unroll_kw" || knob.Name == "tile_oh" || space.IsValid(other))
                Assert.NotEqual(a, Template.Emit(workload, epilogue, other, Avx512, "Gen", "K"));
        }
    }

    /// <summary>Kernels for one vector width (two per shape at 512 bits, one at 256 and 128): portable path, then main path.</summary>
    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    [InlineData(128)]
    public void Sampled_configs_match_the_reference_on_edge_shapes(int bits)
    {
        var target = KernelPaths.Target(bits);
        var random = new Random(1234 + bits);
        var cases = new List<Case>();
        for (int round = 0; round < (bits == 512 ? 2 : 1); round++)
        {
            foreach (var workload in EdgeShapes)
            {
                var space = Template.CreateSpace(workload, target);
                var config = Sample(space, random);
                cases.Add(new Case(workload, Epilogues[cases.Count % Epilogues.Length], config, target));
            }
        }
        CheckAll(cases, target, random);
    }

    /// <summary>
    /// Every (order, parallel) pair, with unroll_kw alternating so that each width sees both unroll
    /// choices; the other parity of unroll_kw at the other width.
    /// </summary>
    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    public void Every_order_parallel_and_unroll_choice_is_correct(int bits)
    {
        // A 3x5 kernel with pads, stride 2 in width: enumerate the structural knobs with random tiles.
        var target = KernelPaths.Target(bits);
        var workload = new Conv2dWorkload(2, 6, 9, 17, 20, 3, 5, 1, 2, 1, 2, 1, 2, 1, 1, 1);
        var space = Template.CreateSpace(workload, target);
        var random = new Random(99 + bits);
        var cases = new List<Case>();
        for (int order = 0; order < 3; order++)
        {
            for (int parallel = 0; parallel < 3; parallel++)
            {
                for (int unroll = 0; unroll < 2; unroll++)
                {
                    if ((order + parallel + unroll + (bits == 512 ? 0 : 1)) % 2 != 0)
                        continue;
                    Config config;
                    do
                    {
                        var choices = Sample(space, random).Choices.ToArray();
                        choices[space.IndexOf("order")] = order;
                        choices[space.IndexOf("parallel")] = parallel;
                        choices[space.IndexOf("unroll_kw")] = unroll;
                        config = space.FromChoices(choices);
                    }
                    while (!space.IsValid(config));
                    cases.Add(new Case(workload, Epilogues[cases.Count % Epilogues.Length], config, target));
                }
            }
        }
        Assert.Equal(9, cases.Count);
        CheckAll(cases, target, random, threads: 2);
    }

    [Fact]
    public void Conv1x1_template_supports_only_pointwise_and_has_its_knobs()
    {
        var t = new Conv2d1x1Template();
        Assert.Equal("conv2d_1x1_nchwc", t.Name);
        Assert.True(t.Supports(Conv(1, 64, 56, 56, 256, 1, 1)));
        Assert.False(t.Supports(Conv(1, 64, 56, 56, 256, 1, 1, stride: 2)));
        Assert.False(t.Supports(Conv(1, 64, 56, 56, 256, 3, 3, pad: 1)));
        Assert.False(t.Supports(Conv(1, 64, 56, 56, 256, 1, 1, pad: 1)));
        var space = t.CreateSpace(Conv(1, 64, 56, 56, 256, 1, 1), Avx512);
        Assert.Equal(["tile_ic", "tile_oc", "tile_p", "tile_pt", "parallel"], space.Knobs.Select(k => k.Name));
        Assert.True(space.EnumerateValid().Count() >= 1000);
        var config = space.EnumerateValid().Skip(777).First();
        var epilogue = new Epilogue(true, false, "Sigmoid", 0, 0);
        var workload = Conv(1, 64, 56, 56, 250, 1, 1);
        Assert.Equal(t.Emit(workload, epilogue, config, Avx512, "G", "K"), t.Emit(workload, epilogue, space.Decode(config.Index), Avx512, "G", "K"));
        Assert.All(space.EnumerateValid(), c => Assert.True((c["tile_p"][1] + 1) * (c["tile_oc"][1] / 16) + 1 <= 32));
    }

    /// <summary>Two kernels per shape at 512 and 256 bits, one at 128: portable path, then main path.</summary>
    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    [InlineData(128)]
    public void Conv1x1_sampled_configs_match_the_reference(int bits)
    {
        var t = new Conv2d1x1Template();
        var target = KernelPaths.Target(bits);
        var random = new Random(4321 + bits);
        Conv2dWorkload[] shapes =
        [
            Conv(1, 17, 7, 13, 33, 1, 1),
            Conv(2, 64, 14, 14, 64, 1, 1),
            Conv(1, 3, 5, 5, 20, 1, 1),
            Conv(1, 32, 1, 1, 10, 1, 1),
            Conv(2, 24, 9, 11, 48, 1, 1),
        ];
        var cases = new List<Case>();
        for (int round = 0; round < (bits == 128 ? 1 : 2); round++)
        {
            foreach (var workload in shapes)
                cases.Add(new Case(workload, Epilogues[cases.Count % Epilogues.Length], Sample(t.CreateSpace(workload, target), random), target, t));
        }
        CheckAll(cases, target, random, threads: 2);
    }

    /// <summary>
    /// Single-thread speed of sampled schedules on 1x64x56x56 -> 64, 3x3, pad 1, on the AVX-512
    /// main path. Opt-in (AUTOKERNEL_PERF=1; skipped otherwise): it prints GFLOPS and takes a few seconds.
    /// </summary>
    [Fact]
    public void Perf_resnet_3x3() => Perf(Template, Conv(1, 64, 56, 56, 64, 3, 3, pad: 1));

    /// <summary>Opt-in like <see cref="Perf_resnet_3x3"/>: the 1x1 template on a ResNet bottleneck expansion.</summary>
    [Fact]
    public void Perf_resnet_1x1() => Perf(new Conv2d1x1Template(), Conv(1, 64, 56, 56, 256, 1, 1));

    private static void Perf(KernelTemplate template, Conv2dWorkload workload)
    {
        Assert.SkipUnless(Environment.GetEnvironmentVariable("AUTOKERNEL_PERF") == "1", "a measurement, not a check: set AUTOKERNEL_PERF=1 to run it");
        KernelPaths.RequireMainPath(Avx512);
        var space = template.CreateSpace(workload, Avx512);
        var random = new Random(7);
        var configs = new List<Config>
        {
            // A hand-picked TVM-like schedule, then random ones.
            space.FromChoices(space.Knobs.Select(k => k.Name switch
            {
                "tile_ic" => Enumerable.Range(0, k.Count).Single(i => k[i][1] == 16),
                "tile_oc" => Enumerable.Range(0, k.Count).Single(i => k[i][1] == 32),
                "tile_ow" or "tile_p" => Enumerable.Range(0, k.Count).Single(i => k[i][1] == 14),
                "unroll_kw" => 1,
                _ => 0,
            }).ToArray()),
        };
        int samples = int.TryParse(Environment.GetEnvironmentVariable("AUTOKERNEL_PERF_SAMPLES"), out int s) ? s : 20;
        while (configs.Count < samples)
            configs.Add(Sample(space, random));
        var kernels = KernelCompiler.CompileMany(configs.Select((c, i) => template.Emit(workload, Epilogue.None, c, Avx512, "Perf", "K" + i)), configs.Select((_, i) => "Perf.K" + i));
        using var pool = new WorkerPool(1);
        var weights = TestData.RandomFloats(random, workload.OutChannels * workload.InChannels * workload.KernelHeight * workload.KernelWidth);
        double best = 0;
        string bestConfig = "";
        int bestIndex = 0;
        for (int k = 0; k < kernels.Count; k++)
        {
            var kernel = kernels[k];
            kernel.Prepare(weights, null);
            var input = TestData.RandomFloats(random, kernel.InputLength);
            var output = new float[kernel.OutputLength];
            double seconds = double.MaxValue;
            unsafe
            {
                fixed (float* ip = input, op = output)
                {
                    kernel.Run(ip, op, null, pool);
                    for (int rep = 0; rep < 5; rep++)
                    {
                        var sw = Stopwatch.StartNew();
                        kernel.Run(ip, op, null, pool);
                        seconds = Math.Min(seconds, sw.Elapsed.TotalSeconds);
                    }
                }
            }
            double gflops = workload.Flops / seconds / 1e9;
            TestContext.Current.TestOutputHelper?.WriteLine($"{gflops,7:F1} GFLOPS  {configs[k]}");
            if (gflops > best)
            {
                best = gflops;
                bestConfig = configs[k].ToString();
                bestIndex = k;
            }
        }
        // The fastest schedule must also be right.
        Check(new Case(workload, Epilogue.None, configs[bestIndex], Avx512, template), kernels[bestIndex], random, pool, portable: false);
        TestContext.Current.TestOutputHelper?.WriteLine($"best {best:F1} GFLOPS: {bestConfig}");
    }

    private sealed record Case(Conv2dWorkload Workload, Epilogue Epilogue, Config Config, CpuTarget Target, KernelTemplate? Emitter = null);

    private static Config Sample(ConfigSpace space, Random random)
    {
        while (true)
        {
            var config = space.Decode((long)(random.NextDouble() * space.Size));
            if (space.IsValid(config))
                return config;
        }
    }

    /// <summary>
    /// Compiles the cases (all for <paramref name="target"/>) and checks each on the portable path,
    /// then on the main path where it runs here (the test is skipped, saying so, where it does not).
    /// </summary>
    private static void CheckAll(List<Case> cases, CpuTarget target, Random random, int threads = 1)
    {
        Assert.All(cases, c => Assert.Equal(target, c.Target));
        var kernels = KernelCompiler.CompileMany(
            cases.Select((c, i) => (c.Emitter ?? Template).Emit(c.Workload, c.Epilogue, c.Config, c.Target, "Gen", "K" + i)),
            cases.Select((_, i) => "Gen.K" + i));
        using var pool = new WorkerPool(threads);
        KernelPaths.OnBothPaths(target, [.. Enumerable.Range(0, cases.Count)], (i, portable) => Check(cases[i], kernels[i], random, pool, portable));
    }

    private static unsafe void Check(Case c, ITunedKernel kernel, Random random, WorkerPool pool, bool portable)
    {
        var w = c.Workload;
        var e = c.Epilogue;
        string what = $"{w.Shape} {e} {c.Config} {c.Target.VectorClass} portable={portable}";
        KernelBatch.SetPortable(kernel, portable);
        var input = TestData.RandomFloats(random, w.Batch * w.InChannels * w.InHeight * w.InWidth);
        var weights = TestData.RandomFloats(random, w.OutChannels * w.InChannels * w.KernelHeight * w.KernelWidth);
        var bias = e.Bias ? TestData.RandomFloats(random, w.OutChannels) : null;
        int outCount = w.Batch * w.OutChannels * w.OutHeight * w.OutWidth;
        var residual = e.Residual ? TestData.RandomFloats(random, outCount) : null;
        var expected = NaiveConvolution.Run(w, e, input, weights, bias, residual);

        kernel.Prepare(weights, bias);
        var nativeIn = new float[kernel.InputLength];
        kernel.InputToNative(input, nativeIn);
        var nativeOut = new float[kernel.OutputLength];
        Array.Fill(nativeOut, float.NaN);
        var nativeRes = new float[kernel.OutputLength];
        if (residual is not null)
            kernel.OutputToNative(residual, nativeRes);
        fixed (float* ip = nativeIn, op = nativeOut, rp = nativeRes)
            kernel.Run(ip, op, residual is null ? null : rp, pool);
        // Channels padded up to the block stay exactly zero in the native output.
        int ocBn = (int)kernel.GetType().GetField("OcBn")!.GetValue(null)!;
        int plane = w.OutHeight * w.OutWidth;
        for (int i = 0; i < nativeOut.Length; i++)
        {
            int channel = i / (plane * ocBn) % ((w.OutChannels + ocBn - 1) / ocBn) * ocBn + i % ocBn;
            if (channel >= w.OutChannels && nativeOut[i] != 0f)
                Assert.Fail($"{what}: padded channel {channel} holds {nativeOut[i]}");
        }
        var actual = new float[outCount];
        kernel.OutputFromNative(nativeOut, actual);
        Closeness.AssertClose(expected, actual, atol: 1e-4f, rtol: 1e-4f, what: what);
    }
}
