using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Tests.Support;
using AutoKernel.Runtime.Kernels;
using AutoKernel.Runtime.Threading;

namespace AutoKernel.Generator.Tests;

/// <summary>Generated kernels for untuned operators against loop-by-loop definitions.</summary>
public sealed class FixedKernelTests
{
    private static readonly CpuTarget Target = KernelPaths.Avx512;

    /// <summary>
    /// Runs the fixed kernel of <paramref name="op"/> (its vector path where the target's main path
    /// runs here, else its scalar fallback: fixed kernels have no ForcePortable) and reports which.
    /// </summary>
    private static float[] Run(FixedOp op, params float[][] standardInputs)
    {
        KernelPaths.Report(Target, portable: false);
        string source = FixedKernels.Emit(op, Target, "F", "Kernel");
        var kernel = (IFixedKernel)Activator.CreateInstance(KernelCompiler.CompileAssembly([source]).GetType("F.Kernel", throwOnError: true)!)!;
        using var pool = new WorkerPool(2);
        return StandardLayout.Run(kernel, standardInputs, op.Output.Aggregate(1, (p, d) => p * d), pool);
    }

    private static void AssertClose(float[] expected, float[] actual) =>
        Closeness.AssertClose(expected, actual, atol: 1e-5, rtol: 1e-5);

    [Theory]
    [InlineData("MaxPool", 3, 2, 1, 1, false)]
    [InlineData("MaxPool", 2, 2, 0, 0, false)]
    [InlineData("AveragePool", 3, 2, 1, 1, false)]
    [InlineData("AveragePool", 3, 2, 1, 1, true)]
    [InlineData("AveragePool", 3, 1, 1, 1, true)]
    public void Pooling(string kind, int k, int s, int pad, int padEnd, bool includePad)
    {
        int n = 2, c = 20, h = 9, w = 7;
        int oh = (h + pad + padEnd - k) / s + 1, ow = (w + pad + padEnd - k) / s + 1;
        var x = TestData.RandomFloats(new Random(1), n * c * h * w);
        var expected = new float[n * c * oh * ow];
        for (int b = 0; b < n * c; b++)
        for (int i = 0; i < oh; i++)
        for (int j = 0; j < ow; j++)
        {
            float acc = kind == "MaxPool" ? float.NegativeInfinity : 0;
            int cells = 0;
            for (int r = 0; r < k; r++)
            for (int q = 0; q < k; q++)
            {
                int yy = i * s - pad + r, xx = j * s - pad + q;
                if (yy < 0 || yy >= h || xx < 0 || xx >= w)
                    continue;
                float v = x[(b * h + yy) * w + xx];
                acc = kind == "MaxPool" ? Math.Max(acc, v) : acc + v;
                cells++;
            }
            int divisor = includePad ? (Math.Min(i * s - pad + k, h + padEnd) - (i * s - pad)) * (Math.Min(j * s - pad + k, w + padEnd) - (j * s - pad)) : cells;
            expected[(b * oh + i) * ow + j] = kind == "MaxPool" ? acc : acc / divisor;
        }
        var op = new FixedOp(kind, [[n, c, h, w]], [n, c, oh, ow], 16, new Dictionary<string, string>
        {
            ["kernel_shape"] = $"{k},{k}", ["strides"] = $"{s},{s}", ["dilations"] = "1,1", ["pads_begin"] = $"{pad},{pad}",
            ["pads_end"] = $"{padEnd},{padEnd}", ["count_include_pad"] = includePad ? "1" : "0",
        });
        AssertClose(expected, Run(op, x));
    }

    [Fact]
    public void Global_average_pool()
    {
        var x = TestData.RandomFloats(new Random(2), 1 * 24 * 5 * 6);
        var expected = Enumerable.Range(0, 24).Select(ch => x.Skip(ch * 30).Take(30).Sum() / 30f).ToArray();
        AssertClose(expected, Run(new FixedOp("GlobalAveragePool", [[1, 24, 5, 6]], [1, 24, 1, 1], 16), x));
    }

    [Theory]
    [InlineData("Add", "Relu")]
    [InlineData("Mul", "")]
    [InlineData("Activation", "Sigmoid")]
    [InlineData("Activation", "Clip")]
    public void Elementwise(string kind, string activation)
    {
        int[] shape = [1, 3, 70, 71];
        int count = shape.Aggregate(1, (p, d) => p * d);
        var random = new Random(3);
        var a = TestData.RandomFloats(random, count);
        var b = TestData.RandomFloats(random, count);
        var e = new Epilogue(false, false, activation, 0, activation == "Clip" ? 0.5f : 0);
        var expected = Enumerable.Range(0, count).Select(i => NaiveConvolution.Activate(e, kind switch { "Add" => a[i] + b[i], "Mul" => a[i] * b[i], _ => a[i] })).ToArray();
        var op = new FixedOp(kind, kind == "Activation" ? [shape] : [shape, shape], shape, 0, new Dictionary<string, string>
        {
            ["activation"] = activation, ["activation_alpha"] = FixedOp.Float(e.Alpha), ["activation_beta"] = FixedOp.Float(e.Beta),
        });
        AssertClose(expected, kind == "Activation" ? Run(op, a) : Run(op, a, b));
    }

    [Fact]
    public void Softmax_over_the_last_axis()
    {
        var x = TestData.RandomFloats(new Random(4), 3 * 1000).Select(v => v * 20).ToArray();
        var expected = new float[x.Length];
        for (int r = 0; r < 3; r++)
        {
            var row = x.Skip(r * 1000).Take(1000).ToArray();
            double max = row.Max(), sum = row.Sum(v => Math.Exp(v - max));
            for (int c = 0; c < 1000; c++)
                expected[r * 1000 + c] = (float)(Math.Exp(row[c] - max) / sum);
        }
        AssertClose(expected, Run(new FixedOp("Softmax", [[3, 1000]], [3, 1000], 0, new Dictionary<string, string> { ["axis"] = "1" }), x));
    }

    [Fact]
    public void Concat_of_whole_channel_blocks()
    {
        var random = new Random(5);
        var a = TestData.RandomFloats(random, 2 * 16 * 3 * 3);
        var b = TestData.RandomFloats(random, 2 * 32 * 3 * 3);
        var expected = new float[2 * 48 * 9];
        for (int n = 0; n < 2; n++)
        {
            Array.Copy(a, n * 16 * 9, expected, n * 48 * 9, 16 * 9);
            Array.Copy(b, n * 32 * 9, expected, n * 48 * 9 + 16 * 9, 32 * 9);
        }
        var axis = new Dictionary<string, string> { ["axis"] = "1" };
        AssertClose(expected, Run(new FixedOp("Concat", [[2, 16, 3, 3], [2, 32, 3, 3]], [2, 48, 3, 3], 16, axis), a, b));
        Assert.False(FixedKernels.Supports(new FixedOp("Concat", [[2, 8, 3, 3], [2, 32, 3, 3]], [2, 40, 3, 3], 16, axis)));
    }
}
