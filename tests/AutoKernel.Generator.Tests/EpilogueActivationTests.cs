using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Schedules;
using AutoKernel.Generator.Tests.Support;
using AutoKernel.Generator.Workloads;
using AutoKernel.Runtime.Kernels;
using AutoKernel.Runtime.Threading;

namespace AutoKernel.Generator.Tests;

/// <summary>
/// Every template with every activation the generator emits (<see cref="ActivationCases"/>:
/// non-default parameters where the operator has them), bias on and off, residual on and off, on
/// a workload whose output channels do not fill the last channel block, for 512- and 256-bit
/// targets: both paths match the definition (NaiveConvolution.Reference, within atol = rtol =
/// 1e-4), and padded output channels in the native layout are
/// exactly zero (whether the activation keeps zero at zero or the kernel masks them).
/// </summary>
public sealed class EpilogueActivationTests
{
    // Output channels (and, depthwise, channels) are 20 or 37: not multiples of 16-float blocks (20 is not of 8-float ones).
    private static readonly (string Template, Workload Workload)[] Workloads =
    [
        ("conv2d_nchwc", new Conv2dWorkload(1, 5, 7, 9, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1)),
        ("conv2d_1x1_nchwc", new Conv2dWorkload(1, 6, 5, 7, 20, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1)),
        ("conv2d_winograd_nchwc", new Conv2dWorkload(1, 5, 6, 8, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1)),
        ("depthwise_conv2d_nchwc", new Conv2dWorkload(1, 20, 6, 8, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 20)),
        ("group_conv2d_nchw", new Conv2dWorkload(1, 8, 6, 9, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2)),
        ("dense_packed", new DenseWorkload(5, 37, 19)),
    ];

    /// <summary>Every template at 512 and 256 bits.</summary>
    public static TheoryData<string, Workload, int> Cases()
    {
        var data = new TheoryData<string, Workload, int>();
        foreach (int bits in new[] { 512, 256 })
        {
            foreach (var (template, workload) in Workloads)
                data.Add(template, workload, bits);
        }
        return data;
    }

    private static (int Input, int Weights, int Bias, int Output) StandardLengths(Workload workload) => workload switch
    {
        Conv2dWorkload c => (c.Batch * c.InChannels * c.InHeight * c.InWidth,
            c.OutChannels * (c.InChannels / c.Groups) * c.KernelHeight * c.KernelWidth,
            c.OutChannels,
            c.Batch * c.OutChannels * c.OutHeight * c.OutWidth),
        DenseWorkload d => (d.M * d.K, d.N * d.K, d.N, d.M * d.N),
        _ => throw new ArgumentException(workload.Key),
    };

    [Fact]
    public void The_activations_said_to_keep_zero_are_exactly_those_that_map_zero_to_zero()
    {
        var more = new (string, float, float)[] { ("Clip", -1f, -0.5f), ("Clip", 0f, 0f), ("HardSigmoid", 0.2f, 0f), ("HardSigmoid", 0.2f, -0.1f), ("LeakyRelu", -3f, 0f) };
        foreach (var (activation, alpha, beta) in ActivationCases.All.Concat(more))
        {
            var e = new Epilogue(true, false, activation, alpha, beta);
            Assert.True(EpilogueCode.KeepsZero(e) == (NaiveConvolution.Activate(e, 0f) == 0f), $"{activation}({alpha}, {beta})");
            Assert.Equal(!EpilogueCode.KeepsZero(e), EpilogueCode.NeedsChannelMask(20, 16, e));
            Assert.False(EpilogueCode.NeedsChannelMask(32, 16, e));
        }
    }

    [Fact]
    public void Every_template_is_tested()
    {
        Assert.Equal(KernelTemplates.All.Select(t => t.Name).Order(), Workloads.Select(w => w.Template).Order());
    }

    /// <summary>
    /// Each width tests every activation with two of the four (bias, residual) combinations, the
    /// other width the other two: portable path, then main path (skipped where it cannot run).
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public unsafe void Every_activation_matches_the_definition_and_keeps_padded_channels_zero(string templateName, Workload workload, int bits)
    {
        var target = KernelPaths.Target(bits);
        var template = KernelTemplates.All.Single(t => t.Name == templateName);
        Assert.True(template.Supports(workload));
        var all = template.CreateSpace(workload, target).EnumerateValid().ToList();
        var random = new Random(templateName.Length * 7919 + all.Count + bits);
        var cases = new List<KernelCase>();
        foreach (var (activation, alpha, beta) in ActivationCases.All)
        {
            foreach (bool bias in new[] { false, true })
            {
                foreach (bool residual in new[] { false, true })
                {
                    if ((bias == residual) != (bits == 512))
                        continue;
                    var epilogue = new Epilogue(bias, residual, activation, alpha, beta);
                    // A different schedule for each kernel: the shortest source of a few random ones (compiling and
                    // JIT-compiling heavily unrolled schedules is what costs time here; the epilogue is the same code).
                    string name = $"A{cases.Count}";
                    var (config, source) = Enumerable.Range(0, 4)
                        .Select(_ => all[random.Next(all.Count)])
                        .Select(cfg => (cfg, template.Emit(workload, epilogue, cfg, target, KernelBatch.Namespace, name)))
                        .MinBy(p => p.Item2.Length);
                    cases.Add(new KernelCase(workload, epilogue, config, target, name, source));
                }
            }
        }
        KernelBatch.Compile(cases);

        var (inLen, wLen, bLen, outLen) = StandardLengths(workload);
        // Inputs scaled so that outputs spread over about [-4, 4]: every activation's regions are hit.
        var x = TestData.RandomFloats(random, inLen).Select(v => 2 * v).ToArray();
        var weights = TestData.RandomFloats(random, wLen);
        var biasValues = TestData.RandomFloats(random, bLen);
        var residualValues = TestData.RandomFloats(random, outLen);
        using var pool = new WorkerPool(2);
        var failures = new List<string>();
        var prepared = cases.Select(kc => Prepare(kc, x, weights, biasValues, residualValues, outLen)).ToList();
        KernelPaths.OnBothPaths(target, prepared, (p, portable) =>
        {
            var (kc, kernel, expected, xNative, rNative, ones) = p;
            var e = kc.Epilogue;
            KernelBatch.SetPortable(kernel, portable);
            var y = new float[kernel.OutputLength];
            Array.Fill(y, float.NaN);
            fixed (float* px = xNative, py = y, pr = rNative)
                kernel.Run(px, py, e.Residual ? pr : null, pool);
            var actual = new float[outLen];
            kernel.OutputFromNative(y, actual);
            string what = $"{kc} alpha={e.Alpha} beta={e.Beta} portable={portable}";
            if (Closeness.Check(expected, actual, atol: 1e-4f, rtol: 1e-4f, what: what) is { } mismatch)
                failures.Add(mismatch);
            for (int i = 0; i < y.Length; i++)
            {
                if (ones[i] == 0f && y[i] != 0f)
                {
                    failures.Add($"{what}: padded native element {i} is {y[i]}, not 0");
                    break;
                }
            }
            // Fail after each path's last kernel (before OnBothPaths may skip the main path).
            if (ReferenceEquals(p, prepared[^1]))
                Assert.True(failures.Count == 0, string.Join("\n", failures));
        });
    }

    private sealed record Prepared(KernelCase Case, ITunedKernel Kernel, float[] Expected, float[] XNative, float[] RNative, float[] Ones);

    /// <summary>A kernel prepared with the weights, its inputs in native layout, its expected output, and its native padding map.</summary>
    private static Prepared Prepare(KernelCase kc, float[] x, float[] weights, float[] biasValues, float[] residualValues, int outLen)
    {
        var e = kc.Epilogue;
        var expected = NaiveConvolution.Reference(kc.Workload, e, x, weights, biasValues, residualValues);
        var kernel = kc.Create();
        kernel.Prepare(weights, e.Bias ? biasValues : null);
        var xNative = new float[kernel.InputLength];
        kernel.InputToNative(x, xNative);
        var rNative = new float[kernel.OutputLength];
        kernel.OutputToNative(residualValues, rNative);
        // Native positions that no standard element maps to are padding.
        var ones = new float[kernel.OutputLength];
        kernel.OutputToNative(Enumerable.Repeat(1f, outLen).ToArray(), ones);
        return new Prepared(kc, kernel, expected, xNative, rNative, ones);
    }
}
