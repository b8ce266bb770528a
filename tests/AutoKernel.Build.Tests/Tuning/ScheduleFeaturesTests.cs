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

    [Theory]
    [MemberData(nameof(TemplateNames))]
    public void An_extractor_reused_across_configs_writes_what_Extract_gives(string name)
    {
        var template = Template(name);
        var workload = Representative[name];
        var space = template.CreateSpace(workload, Avx2);
        var random = new Random(5);
        var configs = Enumerable.Range(0, 24).Select(_ => space.Sample(random)!).ToList();
        var expected = configs.Select(c => ScheduleFeatures.Extract(template, workload, c, Avx2)).ToList();
        var extractor = ScheduleFeatures.For(template, workload, Avx2);
        Assert.Same(template, extractor.Template);
        // A dirty destination with room to spare: every feature is written, nothing past Length is.
        var buffer = new float[ScheduleFeatures.Length + 3];
        Array.Fill(buffer, float.NaN);
        for (int pass = 0; pass < 2; pass++)
        {
            foreach (int i in pass == 0 ? Enumerable.Range(0, configs.Count) : Enumerable.Range(0, configs.Count).Reverse())
            {
                Assert.Equal(expected[i], extractor.Extract(configs[i]));
                extractor.Extract(configs[i], buffer);
                Assert.Equal(expected[i], buffer[..ScheduleFeatures.Length]);
                Assert.All(buffer[ScheduleFeatures.Length..], x => Assert.True(float.IsNaN(x)));
            }
        }
        Assert.Throws<ArgumentException>(() => extractor.Extract(configs[0], new float[ScheduleFeatures.Length - 1]));
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
