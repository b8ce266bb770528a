using System.Runtime.InteropServices;
using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Schedules;
using AutoKernel.Generator.Tests.Support;
using AutoKernel.Generator.Workloads;
using AutoKernel.Runtime.Kernels;
using AutoKernel.Runtime.Threading;

namespace AutoKernel.Generator.Tests;

/// <summary>
/// Packed weights in external memory: every template's kernel, prepared and run, gives the same
/// bits as a fresh instance bound (no Prepare) to what the first one's CopyPacked wrote into
/// 64-byte aligned native memory; a bound instance allocates nothing.
/// </summary>
public sealed unsafe class PackedWeightsTests
{
    private static readonly CpuTarget Avx512 = KernelPaths.Avx512;

    // Output channel counts are not multiples of the blocks, so padded channels (and, with Sigmoid, the mask) exist.
    public static TheoryData<string, Workload, string> Cases() => new()
    {
        { "conv2d_nchwc", new Conv2dWorkload(1, 5, 9, 11, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), "Sigmoid" },
        { "conv2d_nchwc", new Conv2dWorkload(2, 7, 8, 9, 18, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1), "Relu" },
        { "conv2d_1x1_nchwc", new Conv2dWorkload(1, 6, 7, 9, 20, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1), "Sigmoid" },
        { "conv2d_1x1_nchwc", new Conv2dWorkload(2, 19, 5, 6, 33, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1), "" },
        { "conv2d_winograd_nchwc", new Conv2dWorkload(1, 5, 10, 12, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), "Sigmoid" },
        { "conv2d_winograd_nchwc", new Conv2dWorkload(2, 16, 6, 7, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), "Relu" },
        { "depthwise_conv2d_nchwc", new Conv2dWorkload(1, 37, 8, 8, 37, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 37), "Clip" },
        { "depthwise_conv2d_nchwc", new Conv2dWorkload(1, 20, 9, 11, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 20), "Sigmoid" },
        { "group_conv2d_nchw", new Conv2dWorkload(1, 8, 9, 13, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2), "Clip" },
        { "dense_packed", new DenseWorkload(5, 37, 19), "Sigmoid" },
    };

    private static KernelTemplate Template(string name) => KernelTemplates.All.Single(t => t.Name == name);

    private static List<Config> SomeConfigs(KernelTemplate template, Workload workload, int count)
    {
        var all = template.CreateSpace(workload, Avx512).EnumerateValid().ToList();
        return [.. all.Where((_, i) => i % Math.Max(1, all.Count / count) == 0).Take(count)];
    }

    internal static (int Input, int Weights, int Bias, int Output) StandardLengths(Workload workload) => workload switch
    {
        Conv2dWorkload c => (c.Batch * c.InChannels * c.InHeight * c.InWidth,
            c.OutChannels * (c.InChannels / c.Groups) * c.KernelHeight * c.KernelWidth,
            c.OutChannels,
            c.Batch * c.OutChannels * c.OutHeight * c.OutWidth),
        DenseWorkload d => (d.M * d.K, d.N * d.K, d.N, d.M * d.N),
        _ => throw new ArgumentException(workload.Key),
    };

    /// <summary>Floats the 64-byte aligned native block holds; freed on dispose.</summary>
    private sealed class Aligned : IDisposable
    {
        public Aligned(ReadOnlySpan<float> contents)
        {
            Length = contents.Length;
            Pointer = (float*)NativeMemory.AlignedAlloc((nuint)Math.Max(1, Length) * sizeof(float), 64);
            contents.CopyTo(new Span<float>(Pointer, Length));
        }

        public float* Pointer { get; }
        public int Length { get; }
        public Span<float> Span => new(Pointer, Length);
        public void Dispose() => NativeMemory.AlignedFree(Pointer);
    }

    private static float[] RunNative(ITunedKernel kernel, float[] xNative, float[]? rNative, WorkerPool pool)
    {
        var y = new float[kernel.OutputLength];
        Array.Fill(y, float.NaN);
        fixed (float* px = xNative, py = y, pr = rNative)
            kernel.Run(px, py, pr, pool);
        return y;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Bound_instances_match_prepared_ones_bit_for_bit_and_allocate_nothing(string templateName, Workload workload, string activation)
    {
        var template = Template(templateName);
        Assert.True(template.Supports(workload));
        var (inLen, wLen, bLen, outLen) = StandardLengths(workload);
        var random = new Random(wLen);
        var x = TestData.RandomFloats(random, inLen);
        var weights = TestData.RandomFloats(random, wLen);
        var bias = TestData.RandomFloats(random, bLen);
        var residual = TestData.RandomFloats(random, outLen);
        var configs = SomeConfigs(template, workload, 3);
        var cases = new List<KernelCase>();
        foreach (bool withResidual in new[] { false, true })
        {
            var epilogue = new Epilogue(true, withResidual, activation, activation == "Clip" ? -0.5f : 0f, activation == "Clip" ? 0.7f : 0f);
            foreach (var config in configs)
            {
                string name = $"P{cases.Count}";
                cases.Add(new KernelCase(workload, epilogue, config, Avx512, name, template.Emit(workload, epilogue, config, Avx512, KernelBatch.Namespace, name)));
            }
        }
        KernelBatch.Compile(cases);
        using var pool = new WorkerPool(2);
        var paths = KernelPaths.PathsThatRun(Avx512);
        foreach (var kc in cases)
        {
            var prepared = kc.Create();
            Assert.Throws<InvalidOperationException>(() => RunNative(prepared, new float[prepared.InputLength], new float[prepared.OutputLength], pool));
            Assert.Throws<InvalidOperationException>(() => prepared.CopyPacked(new float[prepared.PackedWeightsLength], new float[prepared.PackedBiasLength]));
            prepared.Prepare(weights, bias);
            var xNative = new float[prepared.InputLength];
            prepared.InputToNative(x, xNative);
            float[]? rNative = null;
            if (kc.Epilogue.Residual)
            {
                rNative = new float[prepared.OutputLength];
                prepared.OutputToNative(residual, rNative);
            }

            Assert.Throws<ArgumentException>(() => prepared.CopyPacked(new float[prepared.PackedWeightsLength + 1], new float[prepared.PackedBiasLength]));
            var packedW = new float[prepared.PackedWeightsLength];
            var packedB = new float[prepared.PackedBiasLength];
            prepared.CopyPacked(packedW, packedB);
            using var nativeW = new Aligned(packedW);
            using var nativeB = new Aligned(packedB);

            Assert.Throws<ArgumentException>(() => kc.Create().Bind(nativeW.Pointer + 1, nativeB.Pointer));

            // Construction is one object of the emitted class (its fields, no arrays); Bind allocates nothing,
            // except the Winograd kernel's per-instance scratch (V and M), which it allocates once there.
            long before = GC.GetAllocatedBytesForCurrentThread();
            var bound = kc.Create();
            long constructed = GC.GetAllocatedBytesForCurrentThread() - before;
            bound.Bind(nativeW.Pointer, nativeB.Pointer);
            long bindBytes = GC.GetAllocatedBytesForCurrentThread() - before - constructed;
            Assert.InRange(constructed, 1, 160);
            Assert.True(constructed < (long)bound.PackedWeightsLength * sizeof(float), "the packed weights are larger than the object");
            long workspace = templateName == "conv2d_winograd_nchwc"
                ? (int)kc.Type!.GetField("WorkspaceLength")!.GetRawConstantValue()! * (long)sizeof(float)
                : 0;
            if (workspace == 0)
                Assert.Equal(0, bindBytes);
            else
                Assert.InRange(bindBytes, workspace, workspace + 2 * 32);

            var second = kc.Create();
            second.Bind(nativeW.Pointer, nativeB.Pointer);
            foreach (bool portable in paths)
            {
                foreach (var k in new[] { prepared, bound, second })
                    KernelBatch.SetPortable(k, portable);
                var expected = RunNative(prepared, xNative, rNative, pool);
                var fromBound = RunNative(bound, xNative, rNative, pool);
                var fromSecond = RunNative(second, xNative, rNative, pool);
                for (int i = 0; i < expected.Length; i++)
                {
                    if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(fromBound[i]) ||
                        BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(fromSecond[i]))
                        Assert.Fail($"{kc} portable={portable}: element {i}: prepared {expected[i]}, bound {fromBound[i]}, second {fromSecond[i]}");
                }
                // The prepared kernel is also right, so the bound ones are.
                var standard = new float[outLen];
                prepared.OutputFromNative(expected, standard);
                Closeness.AssertClose(NaiveConvolution.Reference(workload, kc.Epilogue, x, weights, bias, kc.Epilogue.Residual ? residual : null), standard, atol: 1e-4f, rtol: 1e-4f, what: kc.ToString());
            }
            Assert.Equal(packedW, nativeW.Span.ToArray());
            Assert.Equal(packedB, nativeB.Span.ToArray());

            // A bound kernel's Run allocates nothing (one pool thread, so every allocation is on this one).
            using var single = new WorkerPool(1);
            var y = new float[bound.OutputLength];
            fixed (float* px = xNative, py = y, pr = rNative)
            {
                bound.Run(px, py, pr, single);
                // The fewest bytes of several rounds: a per-Run allocation shows in every round, while a
                // one-off of the runtime's (a job object another test's pool of the same state type holds
                // at that moment, lazy JIT state) does not fail the test.
                long fewest = long.MaxValue;
                for (int round = 0; round < 5 && fewest > 0; round++)
                {
                    long runBefore = GC.GetAllocatedBytesForCurrentThread();
                    for (int i = 0; i < 3; i++)
                        bound.Run(px, py, pr, single);
                    fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - runBefore);
                }
                Assert.Equal(0, fewest);
            }
        }
    }

    [Fact]
    public void Emitted_source_is_deterministic_and_has_one_copy_of_the_plumbing()
    {
        foreach (var (name, workload, activation) in Cases().Select(r => r.Data))
        {
            var template = Template(name);
            var config = SomeConfigs(template, workload, 1)[0];
            var e = new Epilogue(true, false, activation, 0, 6);
            string source = template.Emit(workload, e, config, Avx512, "N", "K");
            Assert.Equal(source, template.Emit(workload, e, config, Avx512, "N", "K"));
            Assert.Single(System.Text.RegularExpressions.Regex.Matches(source, @"public void Bind\(float\* weights, float\* bias\)"));
            Assert.DoesNotContain("new float[", source);
        }
    }
}

/// <summary>
/// A bound kernel of every template runs on a two-thread pool without allocating on any thread.
/// Alone in its collection: the check counts every thread's allocations.
/// </summary>
[Collection(nameof(BoundRunAllocationTests))]
[CollectionDefinition(nameof(BoundRunAllocationTests), DisableParallelization = true)]
public sealed unsafe class BoundRunAllocationTests
{
    private static readonly CpuTarget Avx512 = KernelPaths.Avx512;

    [Fact]
    public void Bound_kernels_of_every_template_allocate_nothing_per_run_on_two_threads()
    {
        var cases = new List<KernelCase>();
        foreach (var row in PackedWeightsTests.Cases().Select(r => r.Data))
        {
            var template = KernelTemplates.All.Single(t => t.Name == row.Item1);
            var config = template.CreateSpace(row.Item2, Avx512).EnumerateValid().First();
            var e = new Epilogue(true, true, row.Item3, row.Item3 == "Clip" ? -0.5f : 0f, row.Item3 == "Clip" ? 0.7f : 0f);
            string name = $"R{cases.Count}";
            cases.Add(new KernelCase(row.Item2, e, config, Avx512, name, template.Emit(row.Item2, e, config, Avx512, KernelBatch.Namespace, name)));
        }
        KernelBatch.Compile(cases);
        using var pool = new WorkerPool(2);
        foreach (var kc in cases)
        {
            var owner = kc.Create();
            var random = new Random(cases.IndexOf(kc));
            var (_, weights, channels, _) = PackedWeightsTests.StandardLengths(kc.Workload);
            owner.Prepare(TestData.RandomFloats(random, weights), TestData.RandomFloats(random, channels));
            var w = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)owner.PackedWeightsLength * sizeof(float), 64);
            var b = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)Math.Max(1, owner.PackedBiasLength) * sizeof(float), 64);
            try
            {
                owner.CopyPacked(new Span<float>(w, owner.PackedWeightsLength), new Span<float>(b, owner.PackedBiasLength));
                var kernel = kc.Create();
                kernel.Bind(w, b);
                var x = TestData.RandomFloats(random, kernel.InputLength);
                var y = new float[kernel.OutputLength];
                var r = TestData.RandomFloats(random, kernel.OutputLength);
                fixed (float* px = x, py = y, pr = r)
                {
                    kernel.Run(px, py, pr, pool);
                    long fewest = long.MaxValue;
                    for (int round = 0; round < 5; round++)
                    {
                        long before = GC.GetTotalAllocatedBytes(precise: true);
                        for (int i = 0; i < 20; i++)
                            kernel.Run(px, py, pr, pool);
                        fewest = Math.Min(fewest, GC.GetTotalAllocatedBytes(precise: true) - before);
                    }
                    Assert.True(fewest == 0, $"{kc}: {fewest} bytes per 20 runs");
                }
            }
            finally
            {
                System.Runtime.InteropServices.NativeMemory.AlignedFree(w);
                System.Runtime.InteropServices.NativeMemory.AlignedFree(b);
            }
        }
    }
}
