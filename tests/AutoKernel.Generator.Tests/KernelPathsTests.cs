using System.Reflection;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Tests.Support;

namespace AutoKernel.Generator.Tests;

/// <summary>
/// The test support that decides which path of an emitted kernel a test runs: the main path of
/// 256-bit kernels runs on every AVX2 machine, the 512-bit one where Vector512 is accelerated and
/// never on a machine without AVX-512, and the ForcePortable switch is set on a kernel of every
/// template, whichever convention (static or per instance) its class uses.
/// </summary>
public sealed class KernelPathsTests
{
    [Fact]
    public void The_256_bit_main_path_runs_on_every_AVX2_machine()
    {
        Assert.SkipUnless(Avx2.IsSupported, "not an AVX2 machine");
        Assert.True(KernelPaths.MainPathRuns(KernelPaths.Avx2));
    }

    [Fact]
    public void The_512_bit_main_path_runs_where_Vector512_is_accelerated()
    {
        Assert.SkipUnless(Vector512.IsHardwareAccelerated, "Vector512 is not accelerated on this machine");
        Assert.True(KernelPaths.MainPathRuns(KernelPaths.Avx512));
    }

    [Fact]
    public void The_512_bit_main_path_does_not_run_without_AVX_512()
    {
        Assert.SkipWhen(Avx512F.IsSupported || Vector512.IsHardwareAccelerated, "this machine has AVX-512");
        Assert.False(KernelPaths.MainPathRuns(KernelPaths.Avx512));
    }

    [Fact]
    public void ForcePortable_is_set_on_a_kernel_of_every_template()
    {
        var cases = new List<KernelCase>();
        foreach (var template in KernelTemplates.All)
        {
            var workload = Generator.KernelBaselineTests.Kernels.Single(k => k.Template == template.Name).Workload;
            var config = template.CreateSpace(workload, KernelPaths.Avx2).EnumerateValid().First();
            string name = "Path" + cases.Count;
            cases.Add(new KernelCase(workload, Epilogue.None, config, KernelPaths.Avx2, name,
                template.Emit(workload, Epilogue.None, config, KernelPaths.Avx2, KernelBatch.Namespace, name)));
        }
        KernelBatch.Compile(cases);
        foreach (var kc in cases)
        {
            var property = kc.Type!.GetProperty("ForcePortable", BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static)!;
            bool isStatic = property.GetMethod!.IsStatic;
            foreach (bool value in new[] { true, false, true })
            {
                var kernel = kc.Create();
                var other = kc.Create();
                KernelBatch.SetPortable(kernel, value);
                Assert.Equal(value, (bool)property.GetValue(isStatic ? null : kernel)!);
                // A static switch applies to every instance of the class; a per-instance one only to that
                // instance (the other keeps what Create gave it: the case's Portable).
                Assert.Equal(isStatic ? value : kc.Portable, (bool)property.GetValue(isStatic ? null : other)!);

                kc.SetPortable(value);
                var created = kc.Create();
                Assert.Equal(value, (bool)property.GetValue(isStatic ? null : created)!);
            }
            kc.SetPortable(false);
            kc.Create();
        }
    }
}
