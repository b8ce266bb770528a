using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text.RegularExpressions;
using AutoKernel.Build.Targets;

namespace AutoKernel.Build.Tests.Measure;

/// <summary>
/// <see cref="CpuTargets.Host"/> keys every tuning record (its description) and sets the kernels'
/// vector width: checked against /proc/cpuinfo, read here on its own, and the runtime's ISA flags.
/// </summary>
public sealed partial class CpuTargetsTests
{
    [GeneratedRegex(@"^model name\s*:\s*(.*?)\s*$", RegexOptions.Multiline)]
    private static partial Regex ModelName();

    [GeneratedRegex(@"^flags\s*:(.*)$", RegexOptions.Multiline)]
    private static partial Regex Flags();

    private static string CpuInfo()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/proc/cpuinfo"))
            Assert.Skip("reads /proc/cpuinfo");
        return File.ReadAllText("/proc/cpuinfo");
    }

    [Fact]
    public void The_description_names_the_architecture_the_vector_isa_and_the_cpu_model()
    {
        string cpuinfo = CpuInfo();
        if (RuntimeInformation.ProcessArchitecture != Architecture.X64)
            Assert.Skip("the expected ISA names below are x64's");
        var model = ModelName().Match(cpuinfo);
        Assert.True(model.Success, "no model name line in /proc/cpuinfo");
        // The width the kernels are emitted for: 512 where the runtime accelerates Vector512, else 256 with AVX2, else 128.
        string isa = Vector512.IsHardwareAccelerated ? "AVX-512" : Avx2.IsSupported ? "AVX2" : "SSE";
        int bits = Vector512.IsHardwareAccelerated ? 512 : Avx2.IsSupported ? 256 : 128;
        var host = CpuTargets.Host();
        Assert.Equal($"x64 {isa}, {model.Groups[1].Value}", host.Description);
        Assert.Equal(bits, host.VectorBits);
        Assert.Equal(model.Groups[1].Value, CpuTargets.CpuModel());
    }

    [Fact]
    public void The_isa_it_names_is_one_the_cpu_has()
    {
        string cpuinfo = CpuInfo();
        if (RuntimeInformation.ProcessArchitecture != Architecture.X64)
            Assert.Skip("checks x86 feature flags");
        var flags = Flags().Match(cpuinfo);
        Assert.True(flags.Success, "no flags line in /proc/cpuinfo");
        var has = flags.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        string[] needed = CpuTargets.Host().VectorBits switch
        {
            // Vector512 acceleration takes AVX-512 F, BW, CD, DQ and VL.
            512 => ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"],
            256 => ["avx2"],
            _ => ["sse2"],
        };
        Assert.All(needed, f => Assert.Contains(f, has));
    }

    [Fact]
    public void Cores_are_the_thread_count_asked_for_or_every_logical_processor()
    {
        Assert.Equal(3, CpuTargets.Host(3).Cores);
        Assert.Equal(1, CpuTargets.Host(1).Cores);
        Assert.Equal(Environment.ProcessorCount, CpuTargets.Host().Cores);
        Assert.Equal(Environment.ProcessorCount, CpuTargets.Host(0).Cores);
        Assert.Equal(Environment.ProcessorCount, CpuTargets.Host(-2).Cores);
        // The thread count is not part of the description: records keep it apart (TuningRecord.Threads).
        Assert.Equal(CpuTargets.Host(1).Description, CpuTargets.Host(3).Description);
        Assert.Equal(CpuTargets.Host(), CpuTargets.Host());
    }
}
