using System.Reflection;
using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Tests.Support;
using AutoKernel.Runtime.Threading;

namespace AutoKernel.Generator.Tests.Numerics;

/// <summary>
/// The emitted epilogue expressions (vector, for each vector width where kernels run it, and
/// scalar) compiled and JIT-optimized as kernels are, on NaN, ±infinity, -0 and ordinary values,
/// for every activation the generator emits (<see cref="ActivationCases"/>) plus Clip's edge
/// parameters: a NaN stays NaN through every activation (ONNX Runtime propagates it; the operand
/// order of MaxNative/MinNative decides it on x86), Clip with min &gt; max gives max, and the other
/// values match the activation's definition.
/// </summary>
public sealed class EpilogueNaNTests
{
    private static readonly float[] Values =
    [
        float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0f, 0f, 1.5f, -2.5f, 100f,
        -100f, 3f, 7f, 0.25f, -0.25f, 1e-3f, 6f, -float.NaN,
    ];

    public static readonly (string Activation, float Alpha, float Beta)[] Activations =
    [
        .. ActivationCases.All,
        ("Clip", 2f, -1f), // min > max: every value becomes max
        ("Clip", float.MinValue, float.MaxValue), // absent bounds: ±inf become the finite extremes
    ];

    /// <summary>The definition (<see cref="NaiveConvolution.Activate"/>: NaN-keeping, Clip with min &gt; max gives max).</summary>
    private static float Expected(string kind, float alpha, float beta, float x) =>
        NaiveConvolution.Activate(new Epilogue(false, false, kind, alpha, beta), x);

    /// <summary>Methods V{k} (vector form, when <paramref name="bits"/> is not 0) and S{k} (scalar form) for every activation k.</summary>
    private static string Source(int bits)
    {
        string V = "Vector" + bits;
        var w = new System.Text.StringBuilder();
        w.AppendLine("using System; using System.Runtime.CompilerServices; using System.Runtime.Intrinsics;");
        w.AppendLine("namespace NaNTest; public static unsafe class E {");
        for (int k = 0; k < Activations.Length; k++)
        {
            var (kind, alpha, beta) = Activations[k];
            var e = new Epilogue(false, false, kind, alpha, beta);
            if (bits != 0)
                w.AppendLine($"[MethodImpl(MethodImplOptions.AggressiveOptimization)] public static void V{k}(float* x, float* y, int n) {{ for (int i = 0; i + {V}<float>.Count <= n; i += {V}<float>.Count) {{ var acc = {V}.Load(x + i); {V}.Store({EpilogueCode.Vector(e, "acc", V)}, y + i); }} }}");
            w.AppendLine($"[MethodImpl(MethodImplOptions.AggressiveOptimization)] public static void S{k}(float* x, float* y, int n) {{ for (int i = 0; i < n; i++) {{ float acc = x[i]; y[i] = {EpilogueCode.Scalar(e, "acc")}; }} }}");
        }
        w.AppendLine("}");
        return w.ToString();
    }

    /// <summary>The vector form at each width, where kernels of that width run their main path (skipped elsewhere).</summary>
    [Theory]
    [InlineData(128)]
    [InlineData(256)]
    [InlineData(512)]
    public void Every_activation_keeps_NaN_and_matches_the_definition_in_vector_form(int bits)
    {
        KernelPaths.RequireMainPath(KernelPaths.Target(bits));
        Check(bits, "V");
    }

    /// <summary>The scalar form (remainder loops, and the portable paths' lanes), on every machine.</summary>
    [Fact]
    public void Every_activation_keeps_NaN_and_matches_the_definition_in_scalar_form() => Check(0, "S");

    private static unsafe void Check(int bits, string form)
    {
        var type = KernelCompiler.CompileAssembly([Source(bits)]).GetType("NaNTest.E", throwOnError: true)!;
        var failures = new List<string>();
        for (int k = 0; k < Activations.Length; k++)
        {
            var (kind, alpha, beta) = Activations[k];
            var method = type.GetMethod(form + k, BindingFlags.Public | BindingFlags.Static)!;
            var y = new float[Values.Length];
            fixed (float* px = Values, py = y)
                method.Invoke(null, [Pointer.Box(px, typeof(float*)), Pointer.Box(py, typeof(float*)), Values.Length]);
            for (int i = 0; i < Values.Length; i++)
            {
                float e = Expected(kind, alpha, beta, Values[i]), a = y[i];
                // Half the old |a - e| <= 1e-5 * max(1, |e|) in each term: never looser than it.
                if (!Closeness.IsClose(e, a, atol: 0.5e-5f, rtol: 0.5e-5f, nanEqualsNaN: true))
                    failures.Add($"{kind}({alpha}, {beta}) {form}{bits}: f({Values[i]}) = {a}, expected {e}");
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>
    /// A NaN in a convolution's input reaches exactly the outputs whose windows read it, through
    /// bias, residual and Relu or Clip, in both the vector and the portable path.
    /// </summary>
    [Theory]
    [InlineData("Relu", 0f, 0f, 512)]
    [InlineData("Clip", 0f, 6f, 512)]
    [InlineData("Clip", 3f, 1f, 512)]
    [InlineData("Relu", 0f, 0f, 256)]
    [InlineData("Clip", 0f, 6f, 256)]
    [InlineData("Clip", 3f, 1f, 256)]
    public void A_NaN_input_pixel_is_NaN_in_every_output_channel_after_the_epilogue(string activation, float alpha, float beta, int bits)
    {
        // 1x1 convolution: input pixel p feeds output pixel p of every output channel.
        var workload = new AutoKernel.Generator.Workloads.Conv2dWorkload(1, 6, 5, 7, 20, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);
        var template = KernelTemplates.All.Single(t => t.Name == "conv2d_1x1_nchwc");
        var target = KernelPaths.Target(bits);
        var config = template.CreateSpace(workload, target).EnumerateValid().First();
        var epilogue = new Epilogue(true, true, activation, alpha, beta);
        var kc = new KernelCase(workload, epilogue, config, target, "NaN1x1", template.Emit(workload, epilogue, config, target, KernelBatch.Namespace, "NaN1x1"));
        KernelBatch.Compile([kc]);
        var random = new Random(5);
        int plane = 5 * 7, nanPixel = 12;
        var x = TestData.RandomFloats(random, 6 * plane);
        x[2 * plane + nanPixel] = float.NaN; // channel 2
        var weights = TestData.RandomFloats(random, 20 * 6).Select(v => v == 0 ? 0.5f : v).ToArray();
        var bias = TestData.RandomFloats(random, 20);
        var residual = TestData.RandomFloats(random, 20 * plane);
        var kernel = kc.Create();
        using var pool = new WorkerPool(2);
        KernelPaths.OnBothPaths(target, [kernel], (k, portable) =>
        {
            KernelBatch.SetPortable(k, portable);
            var y = KernelBatch.Run(k, x, weights, bias, residual, 20 * plane, pool);
            for (int c = 0; c < 20; c++)
            {
                for (int p = 0; p < plane; p++)
                {
                    float v = y[c * plane + p];
                    if (p == nanPixel)
                        Assert.True(float.IsNaN(v), $"portable={portable}: channel {c} pixel {p} is {v}, not NaN");
                    else
                        Assert.True(float.IsFinite(v), $"portable={portable}: channel {c} pixel {p} is {v}");
                    if (activation == "Clip" && alpha > beta && p != nanPixel)
                        Assert.Equal(beta, v);
                }
            }
        });
    }
}
