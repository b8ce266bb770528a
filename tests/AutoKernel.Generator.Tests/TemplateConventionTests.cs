using System.Globalization;
using System.Reflection;
using System.Runtime.Intrinsics;
using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Tests.Support;
using AutoKernel.Generator.Workloads;
using AutoKernel.Runtime.Threading;

namespace AutoKernel.Generator.Tests;

/// <summary>
/// Facts every template shares, each held in one place: the ForcePortable switch (one instance
/// property per kernel), the register file (<see cref="CpuTarget.VectorRegisters"/>) and the
/// activations an epilogue may name (<see cref="EpilogueCode.Activations"/>).
/// </summary>
public sealed class TemplateConventionTests
{
    private static readonly CpuTarget Avx512 = new(512, 2, "test AVX-512");

    /// <summary>A workload each template supports (one per template in <see cref="KernelTemplates.All"/>).</summary>
    private static readonly Workload[] Workloads =
    [
        new Conv2dWorkload(1, 5, 7, 9, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
        new Conv2dWorkload(1, 6, 5, 7, 20, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1),
        new Conv2dWorkload(1, 20, 6, 8, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 20),
        new Conv2dWorkload(1, 8, 6, 9, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2),
        new DenseWorkload(5, 37, 19),
    ];

    [Fact]
    public void Every_template_emits_ForcePortable_as_an_instance_property()
    {
        var sources = new List<string>();
        var names = new List<string>();
        foreach (var template in KernelTemplates.All)
        {
            var workload = Workloads.First(template.Supports);
            var config = template.CreateSpace(workload, Avx512).EnumerateValid().First();
            string name = "Switch_" + template.Name;
            sources.Add(template.Emit(workload, Epilogue.None, config, Avx512, KernelBatch.Namespace, name));
            names.Add(name);
        }
        var assembly = KernelCompiler.CompileAssembly(sources);
        foreach (string name in names)
        {
            var type = assembly.GetType(KernelBatch.Namespace + "." + name, throwOnError: true)!;
            Assert.Null(type.GetProperty("ForcePortable", BindingFlags.Public | BindingFlags.Static));
            var property = type.GetProperty("ForcePortable", BindingFlags.Public | BindingFlags.Instance);
            Assert.True(property is { CanRead: true, CanWrite: true } && property.PropertyType == typeof(bool), name + " has no public bool ForcePortable { get; set; }");
            // Per instance: setting it on one kernel leaves a second one of the same class alone.
            object a = Activator.CreateInstance(type)!, b = Activator.CreateInstance(type)!;
            property!.SetValue(a, true);
            Assert.Equal(false, property.GetValue(b));
        }
    }

    /// <summary>
    /// dense_packed's main path accumulates with one FMA per k, its portable path with a rounded
    /// multiply then an add, both in k order from 0: each is bit-exact to a naive loop of its own
    /// kind, and the two differ. So which path each of two instances ran is visible in its output.
    /// </summary>
    [Fact]
    public void Dense_ForcePortable_switches_only_its_own_instance()
    {
        Assert.SkipUnless(Vector256.IsHardwareAccelerated, "the 256-bit main path is not accelerated on this machine, so both instances run the portable path");
        var target = new CpuTarget(256, 1, "test AVX2");
        var template = new DenseTemplate();
        var d = new DenseWorkload(3, 20, 64);
        // tile_n = 8, tile_m = 1, tile_k = K, unroll 1: one K block, partial sums never leave the registers.
        var config = template.CreateSpace(d, target).EnumerateValid()
            .First(c => c.Value("tile_n") == 8 && c.Value("tile_m") == 1 && c.Value("tile_k") == d.K && c.Value("unroll_k") == 1);
        var kernelCase = new KernelCase(d, Epilogue.None, config, target, "PerInstance", template.Emit(d, Epilogue.None, config, target, KernelBatch.Namespace, "PerInstance"));
        KernelBatch.Compile([kernelCase]);
        var rng = new Random(21);
        float[] x = TestData.RandomFloats(rng, d.M * d.K), w = TestData.RandomFloats(rng, d.N * d.K);
        var fused = new float[d.M * d.N];
        var unfused = new float[d.M * d.N];
        for (int m = 0; m < d.M; m++)
        {
            for (int n = 0; n < d.N; n++)
            {
                float f = 0f, u = 0f;
                for (int k = 0; k < d.K; k++)
                {
                    f = MathF.FusedMultiplyAdd(x[m * d.K + k], w[n * d.K + k], f);
                    float product = x[m * d.K + k] * w[n * d.K + k];
                    u += product;
                }
                fused[m * d.N + n] = f;
                unfused[m * d.N + n] = u;
            }
        }
        Assert.NotEqual(fused, unfused); // else the outputs could not tell the paths apart

        var portable = kernelCase.Create();
        var main = kernelCase.Create();
        KernelBatch.SetPortable(portable, true);
        var pool = new WorkerPool(1);
        Assert.Equal(unfused, KernelBatch.Run(portable, x, w, null, null, d.M * d.N, pool));
        Assert.Equal(fused, KernelBatch.Run(main, x, w, null, null, d.M * d.N, pool));
    }

    [Theory]
    [InlineData(512, 32)] // AVX-512: zmm0-31
    [InlineData(256, 16)] // AVX2: ymm0-15
    [InlineData(128, 16)] // SSE/AVX xmm0-15 (NEON's 32 are not counted: 128-bit kernels are sized for x86)
    public void Register_file_follows_the_vector_width(int bits, int registers)
    {
        var target = new CpuTarget(bits, 1, "test");
        Assert.Equal(registers, target.VectorRegisters);
        Assert.Equal(registers, Conv2dNchwcTemplate.RegisterFile(target));
    }

    [Fact]
    public void The_activation_list_is_what_the_epilogue_code_emits()
    {
        // The twelve names (none first), written out here rather than read from the code under test.
        string[] expected = ["", "Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Elu", "Selu", "Softplus", "Swish"];
        Assert.Equal(expected, EpilogueCode.Activations);
        foreach (string name in expected)
        {
            var e = new Epilogue(false, false, name, 0.5f, 2f);
            Assert.True(EpilogueCode.IsActivation(name));
            Assert.NotEmpty(EpilogueCode.Scalar(e, "x"));
            Assert.NotEmpty(EpilogueCode.Vector(e, "v", "Vector256"));
        }
        foreach (string name in new[] { "Gelu", "relu", "Identity", " " })
        {
            var e = new Epilogue(false, false, name, 0, 0);
            Assert.False(EpilogueCode.IsActivation(name));
            Assert.Throws<ArgumentException>(() => EpilogueCode.Scalar(e, "x"));
            Assert.Throws<ArgumentException>(() => EpilogueCode.Vector(e, "v", "Vector256"));
        }
    }

    /// <summary>
    /// The source is the same whatever the culture of the machine that emits it (the generator runs
    /// in the app's build): emitted under a culture with a comma decimal separator and another minus
    /// sign, every template's kernel is byte-identical to the one emitted under the invariant culture.
    /// </summary>
    [Fact]
    public void Emitted_source_does_not_depend_on_the_culture()
    {
        var odd = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        odd.NumberFormat.NumberDecimalSeparator = ",";
        odd.NumberFormat.NegativeSign = "~";
        var epilogue = new Epilogue(true, true, "Clip", -1.5f, 6.25f);
        foreach (var template in KernelTemplates.All)
        {
            var workload = Workloads.First(template.Supports);
            var config = template.CreateSpace(workload, Avx512).EnumerateValid().First();
            string Emit(CultureInfo culture)
            {
                var saved = CultureInfo.CurrentCulture;
                CultureInfo.CurrentCulture = culture;
                try
                {
                    return template.Emit(workload, epilogue, config, Avx512, "Ns", "K");
                }
                finally
                {
                    CultureInfo.CurrentCulture = saved;
                }
            }
            string invariant = Emit(CultureInfo.InvariantCulture);
            Assert.Contains("-1.5f", invariant); // the Clip bounds as literals
            Assert.True(invariant == Emit(odd), template.Name + " emits culture-dependent source");
        }
    }
}
