using AutoKernel.Build.Tasks;
using AutoKernel.Build.Tests.Support;
using AutoKernel.Build.Tuning;
using AutoKernel.Build.Zoo;
using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Schedules;
using AutoKernel.Generator.Workloads;

namespace AutoKernel.Build.Tests.Tuning;

public sealed class ScheduleFeaturesTests(ITestOutputHelper output)
{
    private static readonly CpuTarget Avx512 = new(512, 8, "test AVX-512");
    private static readonly CpuTarget Avx2 = new(256, 4, "test AVX2");

    private static readonly Lazy<IReadOnlyList<Workload>> ModelWorkloads = new(() =>
    {
        var workloads = new List<Workload>();
        foreach (string model in new[] { "resnet18", "mobilenet_v2" })
        {
            var loaded = Graphs.Prepare(ModelZoo.Create(model));
            workloads.AddRange(TaskExtractor.Extract(loaded.Optimized).Select(t => t.Workload));
        }
        // Grouped convolutions (ResNeXt-50's first stage, strided and not); the zoo has none.
        workloads.Add(new Conv2dWorkload(1, 128, 56, 56, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 32));
        workloads.Add(new Conv2dWorkload(1, 256, 56, 56, 256, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 32));
        return workloads;
    });

    /// <summary>A workload per template that every knob of the template changes the emitted nest for.</summary>
    private static readonly Dictionary<string, Workload> Representative = new()
    {
        ["conv2d_nchwc"] = new Conv2dWorkload(1, 64, 56, 56, 128, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1),
        ["conv2d_1x1_nchwc"] = new Conv2dWorkload(1, 64, 56, 56, 256, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1),
        ["conv2d_winograd_nchwc"] = new Conv2dWorkload(1, 128, 28, 28, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
        ["depthwise_conv2d_nchwc"] = new Conv2dWorkload(1, 144, 56, 56, 144, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 144),
        ["group_conv2d_nchw"] = new Conv2dWorkload(1, 128, 56, 56, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 32),
        ["dense_packed"] = new DenseWorkload(64, 3072, 768),
    };

    public static TheoryData<string> TemplateNames() => new(KernelTemplates.All.Select(t => t.Name));

    private static KernelTemplate Template(string name) => KernelTemplates.All.Single(t => t.Name == name);

    [Fact]
    public void Names_name_every_element_once_in_the_documented_layout()
    {
        string[] names = ScheduleFeatures.Names;
        Assert.Equal(ScheduleFeatures.Length, names.Length);
        Assert.Equal(names.Length, names.Distinct(StringComparer.Ordinal).Count());
        // 12 loop slots of 13, 3 buffer roles of 3, 19 totals, 8 knob slots of 2, one per template.
        Assert.Equal(ScheduleFeatures.LoopSlots * 13 + 3 * 3 + 19 + ScheduleFeatures.KnobSlots * 2 + KernelTemplates.All.Count, ScheduleFeatures.Length);
        Assert.Equal("loop0.log_extent", names[0]);
        Assert.Equal("loop0.serial", names[1]);
        Assert.Contains("loop11.weight.log_reuse", names);
        Assert.Contains("load_balance", names);
        Assert.Equal("knob0.v0", names[^(16 + KernelTemplates.All.Count)]);
        Assert.Equal("template." + KernelTemplates.All[^1].Name, names[^1]);
        names[0] = "changed";
        Assert.Equal("loop0.log_extent", ScheduleFeatures.Names[0]);
        Assert.True(KernelTemplates.All.Max(t => Representative.TryGetValue(t.Name, out var w) ? t.CreateSpace(w, Avx512).Knobs.Count : 0) <= ScheduleFeatures.KnobSlots);
    }

    [Fact]
    public void Every_template_gives_fixed_length_finite_vectors_on_model_workloads()
    {
        var random = new Random(2024);
        int vectors = 0;
        var seen = new HashSet<string>();
        foreach (var workload in ModelWorkloads.Value)
        {
            for (int t = 0; t < KernelTemplates.All.Count; t++)
            {
                var template = KernelTemplates.All[t];
                if (!template.Supports(workload))
                    continue;
                seen.Add(template.Name);
                foreach (var target in new[] { Avx512, Avx2 })
                {
                    var space = template.CreateSpace(workload, target);
                    for (int i = 0; i < 4; i++)
                    {
                        var config = space.Sample(random);
                        Assert.NotNull(config);
                        float[] features = ScheduleFeatures.Extract(template, workload, config, target);
                        Assert.Equal(ScheduleFeatures.Length, features.Length);
                        for (int f = 0; f < features.Length; f++)
                            Assert.True(float.IsFinite(features[f]), $"{ScheduleFeatures.Names[f]} = {features[f]} for {template.Name} {workload.Key} {config}");
                        // The template one-hot names this template alone.
                        var oneHot = features[^KernelTemplates.All.Count..];
                        Assert.Equal(1f, oneHot[t]);
                        Assert.Equal(1f, oneHot.Sum());
                        vectors++;
                    }
                }
            }
        }
        Assert.Equal(KernelTemplates.All.Select(t => t.Name).Order(), seen.Order());
        Assert.True(vectors > 200, $"{vectors} vectors");
    }

    /// <summary>The features of the loop nest alone, without the knob values and the template one-hot.</summary>
    private static float[] NestPart(float[] features) => features[..^(ScheduleFeatures.KnobSlots * 2 + KernelTemplates.All.Count)];

    /// <summary>The two values of knob slot <paramref name="k"/>.</summary>
    private static float[] KnobSlot(float[] features, int k)
    {
        int start = features.Length - KernelTemplates.All.Count - ScheduleFeatures.KnobSlots * 2 + 2 * k;
        return features[start..(start + 2)];
    }

    [Fact]
    public void Knob_slots_hold_split_factors_as_log2_permutation_ranks_and_raw_values()
    {
        var template = Template("conv2d_nchwc");
        var workload = Representative["conv2d_nchwc"];
        var space = template.CreateSpace(workload, Avx512);
        var config = space.EnumerateValid().First(c =>
            c["tile_ic"][1] == 16 && c["tile_oc"][1] == 32 && c["tile_ow"][1] == 7 && c.Value("tile_oh") == 4
            && c.Value("unroll_kw") == 1 && c["order"].SequenceEqual([1, 2, 0]) && c.Value("parallel") == 2);
        float[] f = ScheduleFeatures.Extract(template, workload, config, Avx512);
        Assert.Equal([2f, 4f], KnobSlot(f, 0));   // tile_ic = [4, 16]
        Assert.Equal([2f, 5f], KnobSlot(f, 1));   // tile_oc = [4, 32]
        Assert.Equal([2f, (float)Math.Log2(7)], KnobSlot(f, 2)); // tile_ow = [4, 7]
        Assert.Equal([4f, 0f], KnobSlot(f, 3));   // tile_oh = 4
        Assert.Equal([1f, 0f], KnobSlot(f, 4));   // unroll_kw = 1
        Assert.Equal([3f, 0f], KnobSlot(f, 5));   // order [1, 2, 0]: rank 3 of the 6 permutations
        Assert.Equal([2f, 0f], KnobSlot(f, 6));   // parallel = 2
        Assert.Equal([0f, 0f], KnobSlot(f, 7));   // conv2d_nchwc has 7 knobs
    }

    [Theory]
    [MemberData(nameof(TemplateNames))]
    public void Configs_that_differ_in_one_knob_give_different_vectors_and_nests(string name)
    {
        var template = Template(name);
        var workload = Representative[name];
        var space = template.CreateSpace(workload, Avx512);
        var random = new Random(7);
        int pairs = 0;
        for (int round = 0; round < 3; round++)
        {
            var config = space.Sample(random)!;
            float[] features = ScheduleFeatures.Extract(template, workload, config, Avx512);
            for (int k = 0; k < space.Knobs.Count; k++)
            {
                for (int choice = 0; choice < space.Knobs[k].Count; choice++)
                {
                    if (choice == config.Choices[k])
                        continue;
                    int[] choices = [.. config.Choices];
                    choices[k] = choice;
                    var other = space.FromChoices(choices);
                    if (!space.IsValid(other))
                        continue;
                    float[] otherFeatures = ScheduleFeatures.Extract(template, workload, other, Avx512);
                    Assert.False(features.SequenceEqual(otherFeatures), $"{config} vs {other}");
                    // Every knob changes the emitted loop nest, not only its own knob slot.
                    Assert.False(NestPart(features).SequenceEqual(NestPart(otherFeatures)), $"same nest features for {config} and {other}");
                    Assert.False(KnobSlot(features, k).SequenceEqual(KnobSlot(otherFeatures, k)), $"same knob slot {k} for {config} and {other}");
                    pairs++;
                }
            }
        }
        Assert.True(pairs >= 10, $"{pairs} pairs");
    }

    [Theory]
    [MemberData(nameof(TemplateNames))]
    public void The_same_workload_and_config_give_identical_vectors(string name)
    {
        var workload = Representative[name];
        var space = Template(name).CreateSpace(workload, Avx2);
        var config = space.Sample(new Random(11))!;
        float[] first = ScheduleFeatures.Extract(Template(name), workload, config, Avx2);
        Assert.Equal(first, ScheduleFeatures.Extract(Template(name), workload, config, Avx2));
        // A fresh template, space, equal workload and target, and the config decoded from its index.
        var fresh = (KernelTemplate)Activator.CreateInstance(Template(name).GetType())!;
        var copy = workload with { };
        var freshSpace = fresh.CreateSpace(copy, new CpuTarget(256, 4, "test AVX2"));
        Assert.Equal(first, ScheduleFeatures.Extract(fresh, copy, freshSpace.Decode(config.Index), new CpuTarget(256, 4, "test AVX2")));
    }

    /// <summary>A span of <paramref name="length"/> NaNs, so that an element the extractor does not write shows.</summary>
    private static float[] Dirty(int length)
    {
        var buffer = new float[length];
        Array.Fill(buffer, float.NaN);
        return buffer;
    }

    [Theory]
    [MemberData(nameof(TemplateNames))]
    public void An_extractor_writes_every_element_of_a_dirty_span_and_nothing_past_it(string name)
    {
        var template = Template(name);
        var workload = Representative[name];
        var space = template.CreateSpace(workload, Avx2);
        var random = new Random(5);
        var extractor = ScheduleFeatures.For(template, workload, Avx2);
        Assert.Same(template, extractor.Template);
        var buffer = Dirty(ScheduleFeatures.Length + 3);
        for (int i = 0; i < 8; i++)
        {
            var config = space.Sample(random)!;
            extractor.Extract(config, buffer);
            Assert.All(buffer[..ScheduleFeatures.Length], x => Assert.True(float.IsFinite(x)));
            Assert.All(buffer[ScheduleFeatures.Length..], x => Assert.True(float.IsNaN(x)));
        }
        Assert.Throws<ArgumentException>(() => extractor.Extract(space.Sample(random)!, new float[ScheduleFeatures.Length - 1]));
    }

    /// <summary>
    /// One loop of <see cref="Dense_features_match_the_loop_nest_computed_by_hand"/>, as a loop slot
    /// sees it: the extent, the annotation, the iterations of one execution (this loop and those
    /// inside), and per role (input, weight, output) the bytes one execution of the loop touches
    /// (Whole) and those one of its iterations touches (One).
    /// </summary>
    private sealed record HandSlot(string Loop, long Extent, LoopAnnotation Annotation, long Inner, (long Whole, long One) Input, (long Whole, long One) Weight, (long Whole, long One) Output);

    /// <summary>Checks the 13 features of loop slot <paramref name="slot"/> against the documented formulas applied to hand-computed quantities.</summary>
    private static void AssertSlot(Func<string, float> get, int slot, HandSlot h)
    {
        string p = $"loop{slot}.";
        Assert.Equal((float)Math.Log2(h.Extent), get(p + "log_extent"), 1e-5f);
        foreach (var a in Enum.GetValues<LoopAnnotation>())
            Assert.Equal(a == h.Annotation ? 1f : 0f, get(p + a.ToString().ToLowerInvariant()));
        Assert.Equal((float)Math.Log2(h.Inner), get(p + "log_inner_iterations"), 1e-5f);
        foreach (var (role, (whole, one)) in new[] { ("input", h.Input), ("weight", h.Weight), ("output", h.Output) })
        {
            Assert.Equal((float)Math.Log2(1 + whole), get(p + role + ".log_touched"), 1e-5f);
            Assert.Equal((float)Math.Log2((double)one * h.Extent / whole), get(p + role + ".log_reuse"), 1e-5f);
        }
        Assert.Equal((float)Math.Log2(1 + h.Input.Whole + h.Weight.Whole + h.Output.Whole), get(p + "log_working_set"), 1e-5f);
    }

    /// <summary>
    /// Every feature of one small dense configuration, from quantities worked out by hand from the
    /// template's documented loop structure (DenseTemplate.DescribeLoops) and the footprint rule of
    /// LoopNest (distinct elements per dimension from each loop's step and extent).
    /// </summary>
    [Fact]
    public void Dense_features_match_the_loop_nest_computed_by_hand()
    {
        // Y[4,24] = X[4,64] W[24,64]^T on 256-bit vectors (8 floats) and 2 cores;
        // tile_n 16 (2 vectors), tile_m 2, tile_k 32, unroll_k 2, order 0 (panels outer), parallel 0 (chunks of panels).
        var target = new CpuTarget(256, 2, "test AVX2 2 cores");
        var workload = new DenseWorkload(4, 24, 64);
        var template = Template("dense_packed");
        var space = template.CreateSpace(workload, target);
        var config = space.EnumerateValid().Single(c => c.Value("tile_n") == 16 && c.Value("tile_m") == 2 && c.Value("tile_k") == 32
            && c.Value("unroll_k") == 2 && c.Value("order") == 0 && c.Value("parallel") == 0);
        // Panels: ceil(24/16) = 2, the last one 8 columns wide; row blocks: 4/2 = 2; k blocks: 64/32 = 2.
        // Chunks of panels: min(2 panels, 2 cores) = 2, one panel each, so the outer loop is parallel.
        // Buffers: input m 4 x k 64 = 1024 B; weight 2 panels x k 64 x 16 lanes = 8192 B; output m 4 x n 24 = 384 B.
        // Loops, outermost first, with the buffer dimensions each moves (step x extent):
        //   0 pc 2 parallel  weight.panel 1x2, output.n 16x2
        //   1 k0 2           input.k 32x2, weight.k 32x2
        //   2 p 1            (one panel per chunk: moves nothing)
        //   3 mb 2           input.m 2x2, output.m 2x2
        //   4 k.outer 16     input.k 2x16, weight.k 2x16 (32 / unroll 2)
        //   5 k.inner 2 unr  input.k 1x2, weight.k 1x2
        //   6 m.inner 2 unr  input.m 1x2, output.m 1x2
        //   7 n.vec 2 unr    weight.lane 8x2, output.n 8x2
        //   8 n.lane 8 vec   weight.lane 1x8, output.n 1x8
        // Bytes touched by one execution of loops d.. (d = 0..8; entry 9 is one innermost iteration, 4 B each):
        //   input:  d8,d7: 4 (no move); d6: m 2 -> 8; d5: k 2 -> 16; d4: k min(2*16, 2+15*2) = 32 -> 2*32*4 = 256;
        //           d3: m min(2*2, 2+2) = 4 -> 512; d2: 512; d1: k min(32*2, 32+32) = 64 -> 1024; d0: 1024.
        //   weight: d8: lane 8 -> 32; d7: lane 16 -> 64; d6: 64; d5: k 2 -> 128; d4: k 32 -> 2048; d3,d2: 2048;
        //           d1: k 64 -> 4096; d0: panel 2 -> 8192.
        //   output: d8: n 8 -> 32; d7: n 16 -> 64; d6: m 2 -> 128; d5,d4: 128; d3: m 4 -> 256; d2,d1: 256;
        //           d0: n min(16*2, 16+16, 24) = 24 -> 4*24*4 = 384.
        // Iterations of loops d..: d8 8, d7 16, d6 32, d5 64, d4 1024, d3 2048, d2 2048, d1 4096, d0 8192.
        HandSlot[] slots =
        [
            new("n.lane", 8, LoopAnnotation.Vectorized, 8, (4, 4), (32, 4), (32, 4)),
            new("n.vec", 2, LoopAnnotation.Unrolled, 16, (4, 4), (64, 32), (64, 32)),
            new("m.inner", 2, LoopAnnotation.Unrolled, 32, (8, 4), (64, 64), (128, 64)),
            new("k.inner", 2, LoopAnnotation.Unrolled, 64, (16, 8), (128, 64), (128, 128)),
            new("k.outer", 16, LoopAnnotation.Serial, 1024, (256, 16), (2048, 128), (128, 128)),
            new("mb", 2, LoopAnnotation.Serial, 2048, (512, 256), (2048, 2048), (256, 128)),
            new("p", 1, LoopAnnotation.Serial, 2048, (512, 512), (2048, 2048), (256, 256)),
            new("k0", 2, LoopAnnotation.Serial, 4096, (1024, 512), (4096, 2048), (256, 256)),
            new("pc", 2, LoopAnnotation.Parallel, 8192, (1024, 1024), (8192, 4096), (384, 256)),
        ];
        var nest = template.DescribeLoops(workload, config, target);
        Assert.Equal(slots.Reverse().Select(s => (s.Loop, s.Extent, s.Annotation)), nest.Loops.Select(l => (l.Name, l.Extent, l.Annotation)));

        // Both entry points: the array and a reused extractor writing into a dirty span.
        float[] array = ScheduleFeatures.Extract(template, workload, config, target);
        float[] span = Dirty(ScheduleFeatures.Length);
        ScheduleFeatures.For(template, workload, target).Extract(config, span);
        string[] names = ScheduleFeatures.Names;
        foreach (float[] f in new[] { array, span })
        {
            float Get(string feature)
            {
                int i = Array.IndexOf(names, feature);
                Assert.True(i >= 0, $"no feature {feature}");
                return f[i];
            }

            for (int slot = 0; slot < slots.Length; slot++)
                AssertSlot(Get, slot, slots[slot]);
            for (int slot = slots.Length; slot < ScheduleFeatures.LoopSlots; slot++)
                Assert.All(names.Select((n, i) => (n, i)).Where(x => x.n.StartsWith($"loop{slot}.", StringComparison.Ordinal)), x => Assert.Equal(0f, f[x.i]));

            // Buffers over the whole nest: reuse = one innermost iteration's 4 B x 8192 iterations / touched.
            Assert.Equal((float)Math.Log2(1025), Get("input.log_bytes"), 1e-5f);
            Assert.Equal((float)Math.Log2(1025), Get("input.log_touched"), 1e-5f);
            Assert.Equal(5f, Get("input.log_reuse"), 1e-5f);            // 4 * 8192 / 1024 = 32
            Assert.Equal((float)Math.Log2(8193), Get("weight.log_bytes"), 1e-5f);
            Assert.Equal((float)Math.Log2(8193), Get("weight.log_touched"), 1e-5f);
            Assert.Equal(2f, Get("weight.log_reuse"), 1e-5f);           // 4 * 8192 / 8192 = 4
            Assert.Equal((float)Math.Log2(385), Get("output.log_bytes"), 1e-5f);
            Assert.Equal((float)Math.Log2(385), Get("output.log_touched"), 1e-5f);
            Assert.Equal((float)Math.Log2(256.0 / 3), Get("output.log_reuse"), 1e-5f); // 4 * 8192 / 384

            // Totals.
            Assert.Equal(14f, Get("log_flops"), 1e-5f);                               // 8192 iterations x 2 = 16384
            Assert.Equal((float)Math.Log2(12288), Get("log_workload_flops"), 1e-5f);  // 2 * 4 * 24 * 64
            Assert.Equal(4f / 3, Get("padding"), 1e-6f);                              // 16384 / 12288: the 8-column panel counts as 16
            Assert.Equal(0f, Get("log_auxiliary_flops"));
            Assert.Equal(0f, Get("log_auxiliary_bytes"));
            Assert.Equal(2f / 3, Get("full_tile_fraction"), 1e-6f);                   // all rows; 16 of 24 columns in full panels
            Assert.Equal(9f, Get("loop_count"));
            Assert.Equal(1f, Get("log_parallel_extent"));                             // 2 chunks
            Assert.Equal(1f, Get("parallel_per_core"));                               // 2 / 2
            Assert.Equal(1f, Get("load_balance"));                                    // 2 / (ceil(2 / 2) * 2)
            Assert.Equal(7f, Get("vector_registers"));                                // 2 x 2 accumulators + 2 weight vectors + 1 broadcast
            Assert.Equal(7f / 16, Get("register_pressure"), 1e-6f);                   // 16 registers at 256 bits
            Assert.Equal(3f, Get("log_vector_extent"));                               // 8 lanes
            Assert.Equal(1f, Get("vector_fraction"));                                 // 8 / 8
            Assert.Equal(6f, Get("log_register_block"), 1e-5f);                       // 8 lanes x 2 x 2 x 2 unrolled
            Assert.Equal(8f, Get("log_vector_bits"));
            Assert.Equal(1f, Get("log_cores"));
            Assert.Equal((float)Math.Log2(16384 / 9600.0), Get("log_arithmetic_intensity"), 1e-5f); // flops / (1024 + 8192 + 384)
            Assert.Equal((float)Math.Log2(9601), Get("log_total_bytes"), 1e-5f);

            // Knobs in declaration order: tile_n, tile_m, tile_k (splits of one factor: log2, 0), unroll_k, order, parallel (raw).
            float[] knobs = [4, 0, 1, 0, 5, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0];
            for (int k = 0; k < ScheduleFeatures.KnobSlots; k++)
            {
                Assert.Equal(knobs[2 * k], Get($"knob{k}.v0"), 1e-5f);
                Assert.Equal(knobs[2 * k + 1], Get($"knob{k}.v1"), 1e-5f);
            }
            foreach (var t in KernelTemplates.All)
                Assert.Equal(t.Name == "dense_packed" ? 1f : 0f, Get("template." + t.Name));
        }
    }

    /// <summary>A template outside <see cref="KernelTemplates.All"/> whose only configuration describes a fixed loop nest.</summary>
    private sealed class FixedNestTemplate(LoopNest nest) : KernelTemplate
    {
        public override string Name => "fixed_nest";

        public override bool Supports(Workload workload) => true;

        public override ConfigSpace CreateSpace(Workload workload, CpuTarget target) => new(Name, [Knob.Choice("k", KnobKind.Other, 7)]);

        public override string Emit(Workload workload, Epilogue epilogue, Config config, CpuTarget target, string ns, string className) =>
            throw new NotSupportedException("describes loops only");

        public override LoopNest DescribeLoops(Workload workload, Config config, CpuTarget target) => nest;
    }

    [Fact]
    public void Loops_beyond_the_last_slot_fold_into_it()
    {
        // 14 loops, two more than the 12 slots: a 2 (serial), b 3 (parallel), c 5 (serial), ten loops of 2, lanes 4 (vectorized).
        var loops = new List<Loop> { new("a", 2, LoopAnnotation.Serial), new("b", 3, LoopAnnotation.Parallel), new("c", 5, LoopAnnotation.Serial) };
        for (int i = 0; i < 10; i++)
            loops.Add(new Loop("l" + i, 2, LoopAnnotation.Serial));
        loops.Add(new Loop("lane", 4, LoopAnnotation.Vectorized));
        // One input buffer whose footprint doubles at each level out: 4 B in the innermost iteration, 4 * 2^(14 - d) for loops d..
        long[] touched = [.. Enumerable.Range(0, 15).Select(d => 4L << (14 - d))];
        var nest = new LoopNest(loops, [new BufferAccess("x", BufferRole.Input, 1L << 20, touched)], 2, 3);
        var template = new FixedNestTemplate(nest);
        var workload = new DenseWorkload(1, 1, 1);
        var target = new CpuTarget(512, 4, "test");
        var config = template.CreateSpace(workload, target).Decode(0);
        float[] f = ScheduleFeatures.Extract(template, workload, config, target);
        string[] names = ScheduleFeatures.Names;
        float Get(string feature) => f[Array.IndexOf(names, feature)];

        // Slot 0 is the lanes; slot 10 is loop 3 (the first loop of 2); slot 11 folds a, b and c:
        // extent 2 * 3 * 5 = 30, parallel because b is, iterations 30 * 2^10 * 4 = 122880.
        Assert.Equal(2f, Get("loop0.log_extent"));
        Assert.Equal(1f, Get("loop0.vectorized"));
        Assert.Equal(1f, Get("loop10.log_extent"));
        Assert.Equal(1f, Get("loop10.serial"));
        Assert.Equal(12f, Get("loop10.log_inner_iterations"), 1e-5f); // ten loops of 2, then 4 lanes: 4096
        Assert.Equal((float)Math.Log2(30), Get("loop11.log_extent"), 1e-5f);
        Assert.Equal(1f, Get("loop11.parallel"));
        Assert.Equal(0f, Get("loop11.serial"));
        Assert.Equal((float)Math.Log2(122880), Get("loop11.log_inner_iterations"), 1e-5f);
        // Touched by the folded loops: all of loop a's 65536 B; one iteration of the fold is one of loop 3's: 8192 B.
        Assert.Equal((float)Math.Log2(65537), Get("loop11.input.log_touched"), 1e-5f);
        Assert.Equal((float)Math.Log2(8192 * 30 / 65536.0), Get("loop11.input.log_reuse"), 1e-5f);
        Assert.Equal(0f, Get("loop11.weight.log_touched"));
        Assert.Equal((float)Math.Log2(65537), Get("loop11.log_working_set"), 1e-5f);
        Assert.Equal(14f, Get("loop_count"));
        Assert.Equal((float)Math.Log2(3), Get("log_parallel_extent"), 1e-5f); // the parallel loop itself, not the fold
        Assert.Equal(3f / 4, Get("load_balance"), 1e-6f);                     // 3 / (ceil(3 / 4) * 4)
        Assert.Equal(3f / 32, Get("register_pressure"), 1e-6f);
        Assert.Equal(2f, Get("log_register_block"));                          // the lanes alone: loop l9 is serial
        Assert.Equal(7f, Get("knob0.v0"));
        Assert.All(KernelTemplates.All, t => Assert.Equal(0f, Get("template." + t.Name)));
    }

    /// <summary>Microseconds per Extract on ResNet-18's tasks (and a MobileNet-V2 depthwise one), single-threaded after warm-up; run with --filter-method "*Extract_speed*".</summary>
    [Fact(Explicit = true)]
    public void Extract_speed()
    {
        (string Template, Workload Workload)[] cases =
        [
            ("conv2d_nchwc", new Conv2dWorkload(1, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1)),
            ("conv2d_winograd_nchwc", new Conv2dWorkload(1, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1)),
            ("conv2d_nchwc", new Conv2dWorkload(1, 64, 56, 56, 128, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1)),
            ("conv2d_1x1_nchwc", new Conv2dWorkload(1, 64, 56, 56, 256, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1)),
            ("dense_packed", new DenseWorkload(1, 1000, 512)),
            ("depthwise_conv2d_nchwc", new Conv2dWorkload(1, 144, 56, 56, 144, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 144)),
            ("group_conv2d_nchw", Representative["group_conv2d_nchw"]),
        ];
        foreach (var (name, workload) in cases)
        {
            var template = Template(name);
            var space = template.CreateSpace(workload, Avx512);
            var random = new Random(5);
            var configs = Enumerable.Range(0, 512).Select(_ => space.Sample(random)!).ToArray();
            var extractor = ScheduleFeatures.For(template, workload, Avx512);
            var buffer = new float[ScheduleFeatures.Length];
            // The best of 5 runs of at least 100 ms each, after 300 ms of warm-up (tiered JIT).
            double Time(Action<Config> action)
            {
                double best = double.MaxValue;
                for (int rep = -1; rep < 5; rep++)
                {
                    long calls = 0;
                    var watch = System.Diagnostics.Stopwatch.StartNew();
                    while (watch.ElapsedMilliseconds < (rep < 0 ? 300 : 100))
                    {
                        foreach (var c in configs)
                            action(c);
                        calls += configs.Length;
                    }
                    if (rep >= 0)
                        best = Math.Min(best, watch.Elapsed.TotalMicroseconds / calls);
                }
                return best;
            }
            double describe = Time(c => template.DescribeLoops(workload, c, Avx512));
            double extract = Time(c => ScheduleFeatures.Extract(template, workload, c, Avx512));
            double reused = Time(c => extractor.Extract(c, buffer));
            output.WriteLine($"{name,-24} {workload.Shape,-40} DescribeLoops {describe,6:F2} us  Extract {extract,6:F2} us  For(...).Extract(config, span) {reused,6:F2} us");
        }
    }

    [Fact]
    public void Loop_slots_align_from_the_innermost_loop()
    {
        var template = Template("conv2d_nchwc");
        var workload = Representative["conv2d_nchwc"];
        var space = template.CreateSpace(workload, Avx512);
        var config = space.EnumerateValid().First(c => c.Value("parallel") == 0 && c["tile_oc"][1] == 32 && c.Value("tile_oh") == 2);
        var nest = template.DescribeLoops(workload, config, Avx512);
        float[] f = ScheduleFeatures.Extract(template, workload, config, Avx512);
        string[] names = ScheduleFeatures.Names;
        float Get(string feature) => f[Array.IndexOf(names, feature)];
        // Slot 0: the 16 vector lanes; slot 1: 2 vectors of 16 channels; the parallel loop is the outermost.
        Assert.Equal(1f, Get("loop0.vectorized"));
        Assert.Equal(4f, Get("loop0.log_extent"));
        Assert.Equal(1f, Get("loop1.unrolled"));
        Assert.Equal(1f, Get("loop1.log_extent"));
        string outermost = $"loop{nest.Loops.Count - 1}.";
        Assert.Equal(1f, Get(outermost + "parallel"));
        Assert.Equal((float)Math.Log2(nest.Loops[0].Extent), Get(outermost + "log_extent"));
        Assert.Equal((float)Math.Log2(nest.Iterations), Get(outermost + "log_inner_iterations"));
        for (int slot = nest.Loops.Count; slot < ScheduleFeatures.LoopSlots; slot++)
            Assert.All(names.Select((n, i) => (n, i)).Where(x => x.n.StartsWith($"loop{slot}.", StringComparison.Ordinal)), x => Assert.Equal(0f, f[x.i]));
        // Input reuse at the lanes: one broadcast feeds 16 lanes.
        Assert.Equal(4f, Get("loop0.input.log_reuse"));
        // 28x28 output rows in blocks of 2, 4 oc blocks: 56 tasks on 8 cores.
        Assert.Equal(56f / 8, Get("parallel_per_core"));
        Assert.Equal(56f / 56, Get("load_balance"));
        Assert.Equal((float)nest.VectorRegisters / 32, Get("register_pressure"));
        Assert.Equal(config["tile_ow"][1] * 2 * 16, Math.Pow(2, Get("log_register_block")), 3);
    }

    [Fact]
    public void Serial_dense_nests_count_as_one_task()
    {
        var template = Template("dense_packed");
        var workload = new DenseWorkload(1, 1000, 512);
        var space = template.CreateSpace(workload, Avx512);
        var serial = space.EnumerateValid().First(c => c.Value("parallel") == 1);
        var parallel = space.EnumerateValid().First(c => c.Value("parallel") == 0 && c.Value("tile_n") == 16);
        string[] names = ScheduleFeatures.Names;
        float[] s = ScheduleFeatures.Extract(template, workload, serial, Avx512);
        float[] p = ScheduleFeatures.Extract(template, workload, parallel, Avx512);
        int balance = Array.IndexOf(names, "load_balance"), extent = Array.IndexOf(names, "log_parallel_extent");
        Assert.Equal(1f / 8, s[balance]);
        Assert.Equal(0f, s[extent]);
        Assert.Equal(1f, p[balance]); // 63 panels of 16 in 8 chunks
        Assert.Equal(3f, p[extent]);
    }
}
