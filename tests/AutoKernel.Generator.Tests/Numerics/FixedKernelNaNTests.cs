using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Tests.Support;
using AutoKernel.Runtime.Kernels;
using AutoKernel.Runtime.Threading;

namespace AutoKernel.Generator.Tests.Numerics;

/// <summary>
/// Generated fixed kernels (vector lanes and scalar remainders) on NaN and infinities: MaxPool,
/// GlobalMaxPool, ReduceMax/ReduceMin keep a NaN wherever it sits in the window, Max/Min keep a NaN
/// from either operand, Clip keeps a NaN value and gives max when min &gt; max, and the fused
/// Relu keeps NaN. The reference executor computes the same (AutoKernel.Build's numerics tests
/// hold it to ONNX Runtime).
/// </summary>
public sealed class FixedKernelNaNTests
{
    /// <summary>Runs the fixed kernel (vector path where the target's main path runs here, else its fallback) and reports which.</summary>
    private static float[] Run(FixedOp op, CpuTarget target, params float[][] inputs)
    {
        KernelPaths.Report(target, portable: false);
        string source = FixedKernels.Emit(op, target, "F", "Kernel");
        var kernel = (IFixedKernel)Activator.CreateInstance(KernelCompiler.CompileAssembly([source]).GetType("F.Kernel", throwOnError: true)!)!;
        using var pool = new WorkerPool(2);
        return StandardLayout.Run(kernel, inputs, op.Output.Aggregate(1, (p, d) => p * d), pool);
    }

    public static TheoryData<int> Widths() => [128, 256, 512];

    private static CpuTarget Target(int bits) => new(bits, 2, "test");

    /// <summary>A NaN at position <paramref name="at"/> of every row of 37 (vector lanes and remainder).</summary>
    private static float[] Rows(int rows, int at)
    {
        var x = new float[rows * 37];
        for (int i = 0; i < x.Length; i++)
            x[i] = (i % 37) - 18;
        for (int r = 0; r < rows; r++)
            x[r * 37 + (at + r * 5) % 37] = float.NaN;
        return x;
    }

    private static void AssertRowsNaN(float[] y, string what)
    {
        for (int i = 0; i < y.Length; i++)
            Assert.True(float.IsNaN(y[i]), $"{what}: output {i} is {y[i]}, not NaN");
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void Reductions_keep_a_NaN_anywhere_in_the_group(int bits)
    {
        foreach (string kind in new[] { "ReduceMax", "ReduceMin" })
        {
            foreach (int at in new[] { 0, 3, 17, 36 })
            {
                var op = new FixedOp(kind, [[8, 37]], [8], 0, new Dictionary<string, string> { ["axes"] = "1" });
                AssertRowsNaN(Run(op, Target(bits), Rows(8, at)), $"{kind} NaN at {at}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void Pools_keep_a_NaN_anywhere_in_the_window(int bits)
    {
        foreach (int block in new[] { 0, 16 })
        {
            // 20 channels of 3x37: global max over each plane with one NaN somewhere in it.
            var x = new float[20 * 3 * 37];
            for (int i = 0; i < x.Length; i++)
                x[i] = (i % 11) - 5;
            for (int c = 0; c < 20; c++)
                x[c * 111 + (c * 13) % 111] = float.NaN;
            AssertRowsNaN(Run(new FixedOp("GlobalMaxPool", [[1, 20, 3, 37]], [1, 20, 1, 1], block), Target(bits), x), $"GlobalMaxPool block {block}");
            // MaxPool 3x3 stride 3 over 3x36 planes: NaN in window 0 of each plane, at a different place.
            var p = new float[20 * 3 * 36];
            for (int i = 0; i < p.Length; i++)
                p[i] = -(i % 7);
            for (int c = 0; c < 20; c++)
                p[c * 108 + (c % 3) * 36 + c % 3] = float.NaN;
            var op = new FixedOp("MaxPool", [[1, 20, 3, 36]], [1, 20, 1, 12], block, new Dictionary<string, string>
            {
                ["kernel_shape"] = "3,3", ["strides"] = "3,3", ["dilations"] = "1,1", ["pads_begin"] = "0,0", ["pads_end"] = "0,0",
            });
            var y = Run(op, Target(bits), p);
            for (int c = 0; c < 20; c++)
            {
                Assert.True(float.IsNaN(y[c * 12]), $"MaxPool block {block} channel {c}: window 0 is {y[c * 12]}");
                for (int j = 1; j < 12; j++)
                    Assert.True(float.IsFinite(y[c * 12 + j]), $"MaxPool block {block} channel {c}: window {j} is {y[c * 12 + j]}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void Max_Min_and_Clip_keep_NaN_and_Clip_with_min_above_max_gives_max(int bits)
    {
        int n = 37;
        var a = Enumerable.Range(0, n).Select(i => i % 3 == 0 ? float.NaN : i - 18f).ToArray();
        var b = Enumerable.Range(0, n).Select(i => i % 3 == 1 ? float.NaN : 18f - i).ToArray();
        foreach (string kind in new[] { "Max", "Min" })
        {
            var y = Run(new FixedOp(kind, [[n], [n]], [n], 0), Target(bits), a, b);
            for (int i = 0; i < n; i++)
            {
                float e = kind == "Max" ? MathF.Max(a[i], b[i]) : MathF.Min(a[i], b[i]);
                Assert.True(float.IsNaN(e) ? float.IsNaN(y[i]) : y[i] == e, $"{kind} element {i}: {y[i]}, expected {e}");
            }
        }
        foreach (var (lo, hi) in new[] { (-5f, 5f), (4f, -4f) })
        {
            var y = Run(new FixedOp("Clip", [[n], [], []], [n], 0), Target(bits), a, [lo], [hi]);
            for (int i = 0; i < n; i++)
            {
                float e = float.IsNaN(a[i]) ? float.NaN : lo > hi ? hi : Math.Clamp(a[i], lo, hi);
                Assert.True(float.IsNaN(e) ? float.IsNaN(y[i]) : y[i] == e, $"Clip({lo}, {hi}) element {i}: {y[i]}, expected {e}");
            }
        }
        var relu = Run(new FixedOp("Add", [[n], [n]], [n], 0, new Dictionary<string, string>
        {
            ["activation"] = "Relu", ["activation_alpha"] = FixedOp.Float(0), ["activation_beta"] = FixedOp.Float(0),
        }), Target(bits), a, Enumerable.Repeat(1f, n).ToArray());
        for (int i = 0; i < n; i++)
            Assert.True(float.IsNaN(a[i]) ? float.IsNaN(relu[i]) : relu[i] == Math.Max(0, a[i] + 1), $"Add+Relu element {i}: {relu[i]}");
    }
}
