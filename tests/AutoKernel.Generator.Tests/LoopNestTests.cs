using System.Globalization;
using System.Text.RegularExpressions;
using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Schedules;
using AutoKernel.Generator.Workloads;

namespace AutoKernel.Generator.Tests;

/// <summary>
/// KernelTemplate.DescribeLoops against the workloads' work, the knobs, and the emitted source.
/// </summary>
public sealed class LoopNestTests
{
    private static readonly CpuTarget Avx512 = new(512, 8, "test AVX-512");
    private static readonly CpuTarget Avx2 = new(256, 4, "test AVX2");
    private static readonly CpuTarget[] Targets = [Avx512, Avx2];

    /// <summary>
    /// The nominal nest rounds tiled axes up (output columns to whole register tiles, rows to whole
    /// row blocks, channels to whole blocks, dense rows and panels to whole chunks), so it may do
    /// more than the workload's work: for the model-shaped workloads below, less than twice as much
    /// along any one axis.
    /// </summary>
    private const double AxisPaddingSlack = 2.0;

    private static Conv2dWorkload Conv(int n, int ic, int hw, int oc, int k, int stride = 1, int pad = 0, int groups = 1) =>
        new(n, ic, hw, hw, oc, k, k, stride, stride, pad, pad, pad, pad, 1, 1, groups);

    /// <summary>
    /// Model-shaped workloads per template (ResNet-18, ResNet-50 1x1, MobileNet-V2 depthwise,
    /// ResNeXt-50 grouped, classifier and transformer dense): channel counts are multiples of 16
    /// apart from the stem's 3, and the nominal nest is within <see cref="PaddingSlack"/> of the work.
    /// </summary>
    private static readonly Dictionary<string, Workload[]> ModelShapes = new()
    {
        ["conv2d_nchwc"] =
        [
            Conv(1, 3, 224, 64, 7, stride: 2, pad: 3),
            Conv(1, 64, 56, 64, 3, pad: 1),
            Conv(1, 64, 56, 128, 3, stride: 2, pad: 1),
            Conv(1, 64, 56, 128, 1, stride: 2),
            Conv(1, 256, 14, 256, 3, pad: 1),
            Conv(1, 512, 7, 512, 3, pad: 1),
        ],
        ["conv2d_1x1_nchwc"] =
        [
            Conv(1, 64, 56, 256, 1),
            Conv(1, 256, 14, 1024, 1),
            Conv(1, 512, 7, 2048, 1),
        ],
        ["conv2d_winograd_nchwc"] =
        [
            Conv(1, 64, 56, 64, 3, pad: 1),
            Conv(1, 256, 14, 256, 3, pad: 1),
            Conv(1, 512, 7, 512, 3, pad: 1),
        ],
        ["depthwise_conv2d_nchwc"] =
        [
            Conv(1, 32, 112, 32, 3, pad: 1, groups: 32),
            Conv(1, 144, 56, 144, 3, stride: 2, pad: 1, groups: 144),
            Conv(1, 960, 7, 960, 3, pad: 1, groups: 960),
        ],
        ["group_conv2d_nchw"] =
        [
            Conv(1, 128, 56, 128, 3, pad: 1, groups: 32),
            Conv(1, 256, 56, 256, 3, stride: 2, pad: 1, groups: 32),
            Conv(1, 32, 56, 64, 3, pad: 1, groups: 32),
        ],
        ["dense_packed"] =
        [
            new DenseWorkload(1, 1000, 512),
            new DenseWorkload(1, 1000, 1280),
            new DenseWorkload(64, 3072, 768),
        ],
    };

    /// <summary>Odd shapes (channels off the vector width, odd widths, batches): the nest must still cover the work.</summary>
    private static readonly Dictionary<string, Workload[]> OddShapes = new()
    {
        ["conv2d_nchwc"] = [Conv(2, 17, 13, 33, 3, stride: 2, pad: 1), new Conv2dWorkload(1, 4, 6, 20, 12, 2, 5, 1, 2, 1, 2, 0, 1, 1, 1, 1)],
        ["conv2d_1x1_nchwc"] = [Conv(2, 17, 13, 33, 1)],
        ["conv2d_winograd_nchwc"] = [Conv(2, 17, 13, 33, 3, pad: 1), Conv(1, 5, 6, 7, 3)],
        ["depthwise_conv2d_nchwc"] = [Conv(2, 20, 11, 20, 5, stride: 2, pad: 2, groups: 20)],
        ["group_conv2d_nchw"] = [Conv(2, 12, 19, 18, 3, pad: 1, groups: 3)],
        ["dense_packed"] = [new DenseWorkload(3, 17, 37), new DenseWorkload(13, 48, 1)],
    };

    public static TheoryData<string> TemplateNames() => new(KernelTemplates.All.Select(t => t.Name));

    private static KernelTemplate Template(string name) => KernelTemplates.All.Single(t => t.Name == name);

    /// <summary>
    /// Up to <paramref name="count"/> valid configurations: the first and the last valid point and
    /// a seeded random draw of the rest.
    /// </summary>
    private static List<Config> Sample(ConfigSpace space, int count, int seed)
    {
        var valid = space.EnumerateValid().ToList();
        Assert.NotEmpty(valid);
        if (valid.Count <= count)
            return valid;
        var rng = new Random(seed);
        var picked = new SortedSet<int> { 0, valid.Count - 1 };
        while (picked.Count < count)
            picked.Add(rng.Next(valid.Count));
        return [.. picked.Select(i => valid[i])];
    }

    private static IEnumerable<(KernelTemplate Template, Workload Workload, CpuTarget Target, Config Config, LoopNest Nest)> Nests(
        string template, Dictionary<string, Workload[]> shapes, int perShape = 16)
    {
        var t = Template(template);
        int seed = 17;
        foreach (var workload in shapes[template])
        {
            Assert.True(t.Supports(workload), $"{template} should support {workload.Key}");
            foreach (var target in Targets)
            {
                var space = t.CreateSpace(workload, target);
                foreach (var config in Sample(space, perShape, seed++))
                    yield return (t, workload, target, config, t.DescribeLoops(workload, config, target));
            }
        }
    }

    /// <summary>
    /// The multiply-add work the nest must cover. Winograd's GEMM stage does 16 multiply-adds per
    /// 2x2 output tile and channel pair, on whole tiles: 4/9 of the direct convolution's work where
    /// the output is even-sized, more where tiles stick out past the last row or column.
    /// </summary>
    private static long Work(KernelTemplate template, Workload workload)
    {
        if (template is not Conv2dWinogradTemplate)
            return workload.Flops;
        var c = (Conv2dWorkload)workload;
        long tiles = (long)c.Batch * ((c.OutHeight + 1) / 2) * ((c.OutWidth + 1) / 2);
        return 2L * 16 * tiles * c.InChannels * c.OutChannels;
    }

    private static string Describe(Config config, CpuTarget target, LoopNest nest) => $"{config} on {target.VectorClass}: {nest}";

    private static long Up(long extent, long tile) => (extent + tile - 1) / tile * tile;

    /// <summary>
    /// The iteration space of the work as this test understands each emitter: per axis, its true
    /// length and the length the nominal nest covers (the axis rounded up to whole tiles).
    /// </summary>
    private static (string Axis, long Actual, long Padded)[] Axes(KernelTemplate template, Workload workload, Config config, CpuTarget target)
    {
        int vf = target.VectorFloats;
        if (workload is DenseWorkload d)
        {
            int tn = config.Value("tile_n"), tm = config.Value("tile_m"), tk = config.Value("tile_k"), u = config.Value("unroll_k"), parallel = config.Value("parallel");
            long panels = Up(d.N, tn) / tn, blocks = Up(d.M, tm) / tm;
            long cn = Math.Min(panels, target.Cores), cm = Math.Min(blocks, target.Cores);
            // Run splits panels (parallel 0, 2) and row blocks (1, 2) into chunks of floor or ceil
            // of an even share; the nest gives every chunk the larger share.
            long paddedPanels = parallel == 1 ? panels : cn * ((panels + cn - 1) / cn);
            long paddedBlocks = parallel == 0 ? blocks : cm * ((blocks + cm - 1) / cm);
            return [("m", d.M, paddedBlocks * tm), ("n", d.N, paddedPanels * tn), ("k", d.K, Up(d.K, tk) / tk * Up(tk, u))];
        }
        var c = (Conv2dWorkload)workload;
        switch (template)
        {
            case Conv2dNchwcTemplate:
                return
                [
                    ("n", c.Batch, c.Batch), ("oc", c.OutChannels, Up(c.OutChannels, config["tile_oc"][1])),
                    ("oh", c.OutHeight, Up(c.OutHeight, config.Value("tile_oh"))), ("ow", c.OutWidth, Up(c.OutWidth, config["tile_ow"][1])),
                    ("ic", c.InChannels, Up(c.InChannels, config["tile_ic"][1])), ("kh", c.KernelHeight, c.KernelHeight), ("kw", c.KernelWidth, c.KernelWidth),
                ];
            case Conv2d1x1Template:
                return
                [
                    ("n", c.Batch, c.Batch), ("oc", c.OutChannels, Up(c.OutChannels, config["tile_oc"][1])),
                    ("plane", c.OutHeight * c.OutWidth, Up(c.OutHeight * c.OutWidth, config["tile_p"][1] * config.Value("tile_pt"))),
                    ("ic", c.InChannels, Up(c.InChannels, config["tile_ic"][1])),
                ];
            case Conv2dWinogradTemplate:
                long tiles = (long)c.Batch * ((c.OutHeight + 1) / 2) * ((c.OutWidth + 1) / 2);
                return
                [
                    ("xi", 16, 16), ("tiles", tiles, Up(tiles, config.Value("tile_t"))),
                    ("c", c.InChannels, Up(c.InChannels, vf)), ("k", c.OutChannels, Up(c.OutChannels, config.Value("tile_k"))),
                ];
            case DepthwiseConv2dTemplate:
                return
                [
                    ("n", c.Batch, c.Batch), ("c", c.InChannels, Up(c.InChannels, config.Value("cb"))), ("oh", c.OutHeight, c.OutHeight),
                    ("ow", c.OutWidth, Up(c.OutWidth, config.Value("tile_ow"))), ("kh", c.KernelHeight, c.KernelHeight), ("kw", c.KernelWidth, c.KernelWidth),
                ];
            default:
                int columns = c.StrideWidth == 1 ? config.Value("tile_ow") * vf : 1;
                int cg = c.InChannels / c.Groups;
                return
                [
                    ("n", c.Batch, c.Batch), ("k", c.OutChannels, c.OutChannels), ("oh", c.OutHeight, c.OutHeight),
                    ("ow", c.OutWidth, Up(c.OutWidth, columns)), ("c", cg, cg), ("kh", c.KernelHeight, c.KernelHeight), ("kw", c.KernelWidth, c.KernelWidth),
                ];
        }
    }

    [Theory]
    [MemberData(nameof(TemplateNames))]
    public void Nominal_nest_is_the_work_with_tiled_axes_rounded_up(string template)
    {
        int count = 0;
        foreach (var (shapes, model) in new[] { (ModelShapes, true), (OddShapes, false) })
        {
            foreach (var (t, workload, target, config, nest) in Nests(template, shapes))
            {
                string at = $"{workload.Key} {Describe(config, target, nest)}";
                var axes = Axes(t, workload, config, target);
                long work = Work(t, workload);
                Assert.Equal(work, 2 * axes.Aggregate(1L, (p, a) => p * a.Actual));
                Assert.True(nest.Flops == 2 * axes.Aggregate(1L, (p, a) => p * a.Padded), $"{at}: {nest.Flops} flops, axes {string.Join(", ", axes)}");
                Assert.True(nest.Flops >= work, $"{at}: {nest.Flops} < {work}");
                foreach (var a in axes)
                {
                    Assert.True(a.Padded >= a.Actual, $"{a} {at}");
                    if (model)
                        Assert.True(a.Padded <= AxisPaddingSlack * a.Actual, $"{a} {at}");
                }
                count++;
            }
        }
        Assert.True(count >= 50, $"{count} nests");
    }

    [Fact]
    public void Winograd_gemm_is_four_ninths_of_the_direct_work_on_even_outputs()
    {
        var t = Template("conv2d_winograd_nchwc");
        var workload = Conv(1, 64, 56, 64, 3, pad: 1);
        var space = t.CreateSpace(workload, Avx512);
        var config = space.EnumerateValid().First(c => c.Value("tile_t") == 4 && c.Value("tile_k") == 16);
        var nest = t.DescribeLoops(workload, config, Avx512);
        // 56x56 outputs = 28x28 whole tiles (784 = 196 blocks of 4), 64 channels on both sides: no padding.
        Assert.Equal(workload.Flops * 4 / 9, nest.Flops);
        Assert.True(nest.AuxiliaryFlops > 0 && nest.AuxiliaryFlops < nest.Flops / 10, nest.AuxiliaryFlops.ToString(CultureInfo.InvariantCulture));
        Assert.True(nest.AuxiliaryBytes > 0);
    }

    [Theory]
    [MemberData(nameof(TemplateNames))]
    public void Footprints_and_registers_are_consistent(string template)
    {
        foreach (var (_, workload, target, config, nest) in Nests(template, ModelShapes).Concat(Nests(template, OddShapes, 6)))
        {
            string at = $"{workload.Key} {Describe(config, target, nest)}";
            Assert.All(nest.Loops, l => Assert.True(l.Extent >= 1, at));
            Assert.Equal(nest.Loops.Count, nest.Loops.Select(l => l.Name).Distinct().Count());
            Assert.Equal([BufferRole.Input, BufferRole.Weight, BufferRole.Output], nest.Buffers.Select(b => b.Role));
            foreach (var b in nest.Buffers)
            {
                Assert.Equal(nest.Loops.Count + 1, b.TouchedPerLevel.Count);
                Assert.True(b.TouchedPerLevel[0] <= b.Bytes, $"{b.Name} {at}");
                Assert.Equal(4L, b.TouchedPerLevel[^1]); // one innermost iteration reads or writes one float of each
                for (int d = 0; d < nest.Loops.Count; d++)
                {
                    Assert.True(b.TouchedPerLevel[d] >= b.TouchedPerLevel[d + 1], $"{b.Name} level {d} {at}");
                    double reuse = nest.Reuse(b, d);
                    Assert.InRange(reuse, 1.0, nest.Loops[d].Extent);
                }
            }
            // Every weight and every output element is touched by the whole nest.
            foreach (var b in nest.Buffers.Where(b => b.Role != BufferRole.Input))
                Assert.True(b.TouchedPerLevel[0] == b.Bytes, $"{b.Name}: {b.TouchedPerLevel[0]} of {b.Bytes} bytes {at}");
            Assert.InRange(nest.FullTileFraction, 0.0, 1.0);
            Assert.InRange(nest.VectorRegisters, 3, Conv2dNchwcTemplate.RegisterFile(target));
            Assert.Equal(2, nest.FlopsPerInnermostIteration);
        }
    }

    [Theory]
    [MemberData(nameof(TemplateNames))]
    public void One_parallel_loop_outermost_and_the_vector_loop_innermost(string template)
    {
        foreach (var (t, workload, target, config, nest) in Nests(template, ModelShapes))
        {
            string at = $"{workload.Key} {Describe(config, target, nest)}";
            var parallel = nest.Loops.Where(l => l.Annotation == LoopAnnotation.Parallel).ToList();
            if (t is DenseTemplate)
            {
                // Run hands min(panels, threads) and/or min(row blocks, threads) chunks to the pool, and runs one chunk without it.
                var d = (DenseWorkload)workload;
                int panels = (d.N + config.Value("tile_n") - 1) / config.Value("tile_n");
                int blocks = (d.M + config.Value("tile_m") - 1) / config.Value("tile_m");
                int chunks = config.Value("parallel") switch
                {
                    0 => Math.Min(panels, target.Cores),
                    1 => Math.Min(blocks, target.Cores),
                    _ => Math.Min(panels, target.Cores) * Math.Min(blocks, target.Cores),
                };
                Assert.Equal(chunks > 1 ? 1 : 0, parallel.Count);
                Assert.Equal(chunks, nest.Loops[0].Extent);
            }
            else
            {
                Assert.Single(parallel);
                Assert.Equal(0, nest.ParallelLoop);
            }
            var vectorized = nest.Loops.Where(l => l.Annotation == LoopAnnotation.Vectorized).ToList();
            if (workload is Conv2dWorkload { StrideWidth: > 1 } && t is GroupConv2dTemplate)
            {
                // Strided grouped rows run the scalar loop: nothing is vectorized or unrolled.
                Assert.Empty(vectorized);
                Assert.All(nest.Loops.Skip(1), l => Assert.Equal(LoopAnnotation.Serial, l.Annotation));
            }
            else
            {
                Assert.Single(vectorized);
                Assert.Equal(LoopAnnotation.Vectorized, nest.Loops[^1].Annotation);
                Assert.Equal(target.VectorFloats, nest.Loops[^1].Extent);
            }
        }
    }

    /// <summary>The first number handed to pool.For in the emitted source, where it is a literal.</summary>
    private static long PoolForCount(string source) =>
        long.Parse(Regex.Match(source, @"pool\.For\((\d+),").Groups[1].Value, CultureInfo.InvariantCulture);

    [Theory]
    [InlineData("conv2d_nchwc")]
    [InlineData("conv2d_1x1_nchwc")]
    [InlineData("group_conv2d_nchw")]
    public void Parallel_extent_is_what_the_emitted_code_hands_the_pool(string template)
    {
        foreach (var (t, workload, target, config, nest) in Nests(template, ModelShapes, 6).Concat(Nests(template, OddShapes, 6)))
        {
            string source = t.Emit(workload, Epilogue.None, config, target, "Test", "K");
            Assert.True(PoolForCount(source) == nest.Loops[0].Extent, $"{workload.Key} {Describe(config, target, nest)}");
        }
    }

    /// <summary>A valid configuration that differs from <paramref name="config"/> only in <paramref name="knob"/>, whose values satisfy <paramref name="which"/>.</summary>
    private static Config With(Config config, string knob, Func<IReadOnlyList<int>, bool> which)
    {
        var space = config.Space;
        int k = space.IndexOf(knob);
        for (int choice = 0; choice < space.Knobs[k].Count; choice++)
        {
            if (!which(space.Knobs[k][choice]))
                continue;
            int[] choices = [.. config.Choices];
            choices[k] = choice;
            var candidate = space.FromChoices(choices);
            if (space.IsValid(candidate))
                return candidate;
        }
        throw new InvalidOperationException($"no valid variant of {config} with that {knob}");
    }

    private static Config With(Config config, string knob, int value) => With(config, knob, v => v[0] == value);

    private static string[] Names(LoopNest nest) => [.. nest.Loops.Select(l => l.Name)];

    [Fact]
    public void Conv2d_nchwc_parallel_knob_moves_the_parallel_loop_and_the_oc_block_loop()
    {
        var t = Template("conv2d_nchwc");
        var workload = Conv(1, 64, 56, 128, 3, stride: 2, pad: 1);
        var space = t.CreateSpace(workload, Avx512);
        var config = With(With(With(space.EnumerateValid().First(), "tile_oc", v => v[1] == 32), "tile_oh", 2), "order", v => v.SequenceEqual([1, 2, 0]));
        var p0 = t.DescribeLoops(workload, With(config, "parallel", 0), Avx512);
        var p1 = t.DescribeLoops(workload, With(config, "parallel", 1), Avx512);
        var p2 = t.DescribeLoops(workload, With(config, "parallel", 2), Avx512);
        // 28 output rows in blocks of 2, 128 channels in blocks of 32.
        Assert.Equal(new Loop("n.ocb.ohb", 4 * 14, LoopAnnotation.Parallel), p0.Loops[0]);
        Assert.Equal(["n.ocb.ohb", "oh", "ow.outer", "kh", "kw", "cb", "ic", "ow.inner", "oc.vec", "oc.lane"], Names(p0));
        Assert.Equal(new Loop("n.ohb", 14, LoopAnnotation.Parallel), p1.Loops[0]);
        Assert.Equal(["n.ohb", "ocb", "oh", "ow.outer", "kh", "kw", "cb", "ic", "ow.inner", "oc.vec", "oc.lane"], Names(p1));
        Assert.Equal(new Loop("n.ohb", 14, LoopAnnotation.Parallel), p2.Loops[0]);
        Assert.Equal(["n.ohb", "oh", "ocb", "ow.outer", "kh", "kw", "cb", "ic", "ow.inner", "oc.vec", "oc.lane"], Names(p2));
        // Parallel 1 keeps one oc block's weights for a row block; parallel 2 re-reads every oc block's weights per row.
        var w1 = p1.Buffer("weight");
        var w2 = p2.Buffer("weight");
        Assert.True(w1.TouchedPerLevel[p1.IndexOf("oh")] < w2.TouchedPerLevel[p2.IndexOf("oh")]);
    }

    [Fact]
    public void Conv2d_nchwc_unroll_tile_and_order_knobs_show_in_the_nest_and_the_source()
    {
        var t = Template("conv2d_nchwc");
        var workload = Conv(1, 64, 56, 64, 3, pad: 1);
        foreach (var target in Targets)
        {
            var space = t.CreateSpace(workload, target);
            foreach (var config in Sample(space, 24, 5))
            {
                var nest = t.DescribeLoops(workload, config, target);
                string source = t.Emit(workload, Epilogue.None, config, target, "Test", "K");
                bool unrolled = config.Value("unroll_kw") == 1;
                Assert.Equal(unrolled ? LoopAnnotation.Unrolled : LoopAnnotation.Serial, nest.Loops[nest.IndexOf("kw")].Annotation);
                Assert.Equal(unrolled, source.Contains("// kw = 0", StringComparison.Ordinal));
                int tow = config["tile_ow"][1];
                Assert.Equal(new Loop("ow.inner", tow, LoopAnnotation.Unrolled), nest.Loops[nest.IndexOf("ow.inner")]);
                Assert.Equal((56 + tow - 1) / tow, nest.Loops[nest.IndexOf("ow.outer")].Extent);
                Assert.Equal(config["tile_oc"][1] / target.VectorFloats, nest.Loops[nest.IndexOf("oc.vec")].Extent);
                Assert.Equal(config["tile_ic"][1], nest.Loops[nest.IndexOf("ic")].Extent);
                string[] axes = ["cb", "kh", "kw"];
                Assert.Equal(config["order"].Select(a => axes[a]), Names(nest).Where(axes.Contains));
                Assert.Equal(Conv2dNchwcTemplate.RegistersNeeded(tow, config["tile_oc"][1], target), nest.VectorRegisters);
                if (nest.FullTileFraction > 0)
                    Assert.Contains($"Tile{tow}Main", source, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void Conv2d_nchwc_footprints_show_the_register_block_reuse()
    {
        var t = Template("conv2d_nchwc");
        var workload = Conv(1, 64, 56, 64, 3, pad: 1);
        var space = t.CreateSpace(workload, Avx512);
        var config = With(With(With(space.EnumerateValid().First(), "tile_ow", v => v[1] == 7), "tile_oc", v => v[1] == 32), "tile_ic", v => v[1] == 16);
        config = With(config, "order", v => v.SequenceEqual([0, 1, 2]));
        var nest = t.DescribeLoops(workload, config, Avx512);
        Assert.Equal(["n.ocb.ohb", "oh", "ow.outer", "cb", "kh", "kw", "ic", "ow.inner", "oc.vec", "oc.lane"], Names(nest));
        var input = nest.Buffer("input");
        var weight = nest.Buffer("weight");
        var output = nest.Buffer("output");
        // Each weight vector feeds tile_ow columns; each broadcast input feeds oc_bn lanes; accumulators stay over the reduction.
        Assert.Equal(7, nest.Reuse(weight, nest.IndexOf("ow.inner")));
        Assert.Equal(16, nest.Reuse(input, nest.IndexOf("oc.lane")));
        Assert.Equal(2, nest.Reuse(input, nest.IndexOf("oc.vec")));
        Assert.Equal(16, nest.Reuse(output, nest.IndexOf("ic")));
        Assert.Equal(1, nest.Reuse(weight, nest.IndexOf("ic")));
        // One register tile: 7 columns x 32 channels of output, 7 columns x 16 channels of input.
        Assert.Equal(7 * 32 * 4, output.TouchedPerLevel[nest.IndexOf("ic")]);
        Assert.Equal(7 * 16 * 4, input.TouchedPerLevel[nest.IndexOf("ic")]);
        // The 3x3 taps of 7 columns read a 3-row, 9-column window; over kw, each of its columns is read 7 x 3 / 9 times.
        Assert.Equal(3 * 9 * 16 * 4, input.TouchedPerLevel[nest.IndexOf("kh")]);
        Assert.Equal(7.0 * 3 / 9, nest.Reuse(input, nest.IndexOf("kw")), 9);
        Assert.Equal(1, nest.Reuse(input, nest.IndexOf("kh")));
        // The whole nest reads every input and weight byte and writes every output byte.
        Assert.Equal(input.Bytes, input.TouchedPerLevel[0]);
        Assert.Equal(64L * 64 * 9 * 4, weight.Bytes);
    }

    [Fact]
    public void Conv2d_1x1_knobs_show_in_the_nest()
    {
        var t = Template("conv2d_1x1_nchwc");
        var workload = Conv(1, 64, 56, 256, 1);
        var space = t.CreateSpace(workload, Avx512);
        var config = With(With(space.EnumerateValid().First(), "tile_p", v => v[1] == 12), "tile_pt", 4);
        config = With(config, "tile_oc", v => v[1] == 32);
        var p0 = t.DescribeLoops(workload, With(config, "parallel", 0), Avx512);
        var p1 = t.DescribeLoops(workload, With(config, "parallel", 1), Avx512);
        var p2 = t.DescribeLoops(workload, With(config, "parallel", 2), Avx512);
        int chunks = (56 * 56 + 47) / 48;
        Assert.Equal(new Loop("n.ocb.chunk", 8 * chunks, LoopAnnotation.Parallel), p0.Loops[0]);
        Assert.Equal(["n.ocb.chunk", "p.outer", "cb", "ic", "p.inner", "oc.vec", "oc.lane"], Names(p0));
        Assert.Equal(["n.chunk", "p.outer", "ocb", "cb", "ic", "p.inner", "oc.vec", "oc.lane"], Names(p1));
        Assert.Equal(["n.chunk", "ocb", "p.outer", "cb", "ic", "p.inner", "oc.vec", "oc.lane"], Names(p2));
        Assert.Equal(chunks, p1.Loops[0].Extent);
        Assert.Equal(new Loop("p.inner", 12, LoopAnnotation.Unrolled), p1.Loops[p1.IndexOf("p.inner")]);
        Assert.Equal(4, p1.Loops[p1.IndexOf("p.outer")].Extent);
        // Parallel 1 keeps a register tile's input over all oc blocks.
        Assert.Equal(8, p1.Reuse(p1.Buffer("input"), p1.IndexOf("ocb")));
        Assert.Equal(1, p2.Reuse(p2.Buffer("input"), p2.IndexOf("p.outer")));
    }

    [Fact]
    public void Winograd_parallel_and_tile_knobs_show_in_the_nest_and_the_source()
    {
        var t = Template("conv2d_winograd_nchwc");
        var workload = Conv(1, 128, 28, 128, 3, pad: 1);
        var space = t.CreateSpace(workload, Avx512);
        foreach (var config in space.EnumerateValid())
        {
            var nest = t.DescribeLoops(workload, config, Avx512);
            string source = t.Emit(workload, Epilogue.None, config, Avx512, "Test", "K");
            int tt = config.Value("tile_t"), tk = config.Value("tile_k");
            long tblocks = (196 + tt - 1) / tt, kblocks = (128 + tk - 1) / tk;
            if (config.Value("parallel") == 0)
            {
                Assert.Equal(new Loop("xi.tb", 16 * tblocks, LoopAnnotation.Parallel), nest.Loops[0]);
                Assert.Equal(["xi.tb", "kb", "c", "t.inner", "k.vec", "k.lane"], Names(nest));
                Assert.Contains("pool.For(16 * TBLOCKS", source, StringComparison.Ordinal);
            }
            else
            {
                Assert.Equal(new Loop("xi.kb", 16 * kblocks, LoopAnnotation.Parallel), nest.Loops[0]);
                Assert.Equal(["xi.kb", "tb", "c", "t.inner", "k.vec", "k.lane"], Names(nest));
                Assert.Contains("pool.For(16 * KBLOCKS", source, StringComparison.Ordinal);
            }
            Assert.Equal(new Loop("t.inner", tt, LoopAnnotation.Unrolled), nest.Loops[^3]);
            Assert.Equal(new Loop("k.vec", tk / 16, LoopAnnotation.Unrolled), nest.Loops[^2]);
            Assert.Equal((double)(196 / tt * tt) / 196, nest.FullTileFraction);
        }
    }

    [Fact]
    public void Depthwise_parallel_unroll_and_tile_knobs_show_in_the_nest_and_the_source()
    {
        var t = Template("depthwise_conv2d_nchwc");
        var workload = Conv(1, 144, 56, 144, 3, pad: 1, groups: 144);
        foreach (var target in Targets)
        {
            foreach (var config in t.CreateSpace(workload, target).EnumerateValid())
            {
                var nest = t.DescribeLoops(workload, config, target);
                string source = t.Emit(workload, Epilogue.None, config, target, "Test", "K");
                int cb = config.Value("cb"), blocks = (144 + cb - 1) / cb;
                if (config.Value("parallel") == 0)
                {
                    Assert.Equal(new Loop("n.cb", blocks, LoopAnnotation.Parallel), nest.Loops[0]);
                    Assert.Equal(new Loop("oh", 56, LoopAnnotation.Serial), nest.Loops[1]);
                    Assert.Contains("pool.For(B * CBlocks, ", source, StringComparison.Ordinal);
                }
                else
                {
                    Assert.Equal(new Loop("n.cb.oh", blocks * 56, LoopAnnotation.Parallel), nest.Loops[0]);
                    Assert.Equal("ow.outer", nest.Loops[1].Name);
                    Assert.Contains("pool.For(B * CBlocks * OH, ", source, StringComparison.Ordinal);
                }
                bool unrolled = config.Value("unroll_kw") == 1;
                Assert.Equal(unrolled ? LoopAnnotation.Unrolled : LoopAnnotation.Serial, nest.Loops[nest.IndexOf("kw")].Annotation);
                // The unrolled tile holds every kw tap's weights in registers w{kw}_{vector}.
                Assert.Equal(unrolled, source.Contains("var w0_0 = ", StringComparison.Ordinal));
                Assert.Equal(new Loop("ow.inner", config.Value("tile_ow"), LoopAnnotation.Unrolled), nest.Loops[nest.IndexOf("ow.inner")]);
                Assert.Equal(cb, nest.Loops[^2].Extent * nest.Loops[^1].Extent);
            }
        }
    }

    [Fact]
    public void Group_conv_tile_knobs_and_the_scalar_path_show_in_the_nest()
    {
        var t = Template("group_conv2d_nchw");
        var vector = Conv(1, 128, 56, 128, 3, pad: 1, groups: 32);
        var strided = Conv(1, 256, 56, 256, 3, stride: 2, pad: 1, groups: 32);
        foreach (var config in t.CreateSpace(vector, Avx2).EnumerateValid())
        {
            var nest = t.DescribeLoops(vector, config, Avx2);
            int tk = config.Value("tile_k"), tow = config.Value("tile_ow");
            Assert.Equal(config.Value("parallel") == 0 ? "n.g.kb.oh" : "n.g.kb", nest.Loops[0].Name);
            Assert.Equal(32 * (4 / tk) * (config.Value("parallel") == 0 ? 56 : 1), nest.Loops[0].Extent);
            Assert.Equal(["k.inner", "ow.vec", "ow.lane"], Names(nest)[^3..]);
            Assert.Equal(tk, nest.Loops[^3].Extent);
            Assert.Equal(tow, nest.Loops[^2].Extent);
            Assert.Equal((56 + tow * 8 - 1) / (tow * 8), nest.Loops[nest.IndexOf("ow.outer")].Extent);
        }
        foreach (var config in t.CreateSpace(strided, Avx2).EnumerateValid())
        {
            var nest = t.DescribeLoops(strided, config, Avx2);
            Assert.Equal(["k.inner", "ow", "c", "kh", "kw"], Names(nest)[^5..]);
            Assert.Equal(config.Value("tile_k"), nest.Loops[^5].Extent);
            Assert.Equal(28, nest.Loops[^4].Extent);
            Assert.Equal(3, nest.VectorRegisters);
        }
    }

    [Fact]
    public void Dense_parallel_order_and_unroll_knobs_show_in_the_nest()
    {
        var t = Template("dense_packed");
        var classifier = new DenseWorkload(1, 1000, 512);
        var space = t.CreateSpace(classifier, Avx512);
        var config = With(With(With(space.EnumerateValid().First(), "tile_n", 64), "tile_k", 128), "unroll_k", 4);
        // 16 panels of 64 over 8 cores: 8 chunks of 2 panels.
        var p0 = t.DescribeLoops(classifier, With(With(config, "parallel", 0), "order", 0), Avx512);
        Assert.Equal(new Loop("pc", 8, LoopAnnotation.Parallel), p0.Loops[0]);
        Assert.Equal(["pc", "k0", "p", "mb", "k.outer", "k.inner", "m.inner", "n.vec", "n.lane"], Names(p0));
        Assert.Equal(2, p0.Loops[2].Extent);
        Assert.Equal(new Loop("k.inner", 4, LoopAnnotation.Unrolled), p0.Loops[5]);
        Assert.Equal(32, p0.Loops[4].Extent);
        // One row: chunks of row blocks are a single chunk, which Run runs without the pool.
        var p1 = t.DescribeLoops(classifier, With(With(config, "parallel", 1), "order", 1), Avx512);
        Assert.Equal(-1, p1.ParallelLoop);
        Assert.Equal(new Loop("mc", 1, LoopAnnotation.Serial), p1.Loops[0]);
        Assert.Equal(["mc", "k0", "mb", "p", "k.outer", "k.inner", "m.inner", "n.vec", "n.lane"], Names(p1));
        var u1 = t.DescribeLoops(classifier, With(config, "unroll_k", 1), Avx512);
        Assert.Equal(new Loop("k.inner", 1, LoopAnnotation.Serial), u1.Loops[5]);
        Assert.Equal(128, u1.Loops[4].Extent);

        var gemm = new DenseWorkload(64, 3072, 768);
        var g = t.CreateSpace(gemm, Avx2);
        var grid = With(With(With(g.EnumerateValid().First(), "tile_m", 4), "tile_n", 16), "parallel", 2);
        var nest = t.DescribeLoops(gemm, grid, Avx2);
        Assert.Equal(new Loop("pc.mc", 4 * 4, LoopAnnotation.Parallel), nest.Loops[0]);
        // The weight panel (tile_n wide) is reused by the tile_m rows, each x value by tile_n/VF vectors.
        Assert.Equal(4, nest.Reuse(nest.Buffer("weight"), nest.IndexOf("m.inner")));
        Assert.Equal(2, nest.Reuse(nest.Buffer("input"), nest.IndexOf("n.vec")));
        Assert.Equal(1.0, nest.FullTileFraction);
        Assert.True(t.DescribeLoops(classifier, With(config, "tile_n", 48), Avx512).FullTileFraction < 1);
    }

    [Fact]
    public void Describe_rejects_a_config_of_another_template()
    {
        var conv = Conv(1, 64, 56, 64, 3, pad: 1);
        var config = Template("conv2d_winograd_nchwc").CreateSpace(conv, Avx512).EnumerateValid().First();
        Assert.Throws<ArgumentException>(() => Template("conv2d_nchwc").DescribeLoops(conv, config, Avx512));
        Assert.Throws<ArgumentException>(() => Template("conv2d_winograd_nchwc").DescribeLoops(new DenseWorkload(1, 2, 3), config, Avx512));
    }
}
