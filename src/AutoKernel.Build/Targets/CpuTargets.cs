using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using AutoKernel.Generator.Kernels;

namespace AutoKernel.Build.Targets;

/// <summary>Describes the machine the tool runs on, as a <see cref="CpuTarget"/>.</summary>
public static class CpuTargets
{
    public static CpuTarget Host(int threads = 0)
    {
        int bits = Vector512.IsHardwareAccelerated ? 512 : Vector256.IsHardwareAccelerated ? 256 : 128;
        int cores = threads > 0 ? threads : Environment.ProcessorCount;
        return new CpuTarget(bits, cores, $"{RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant()} {IsaName(bits)}, {CpuModel()}");
    }

    private static string IsaName(int bits) => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 or Architecture.X86 => bits switch { 512 => "AVX-512", 256 => "AVX2", _ => "SSE" },
        Architecture.Arm64 => "NEON",
        _ => $"{bits}-bit vectors",
    };

    /// <summary>The CPU model from /proc/cpuinfo where there is one; else the architecture.</summary>
    public static string CpuModel()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
            {
                foreach (string line in File.ReadLines("/proc/cpuinfo"))
                {
                    if (line.StartsWith("model name", StringComparison.Ordinal) || line.StartsWith("Model", StringComparison.Ordinal))
                        return line[(line.IndexOf(':') + 1)..].Trim();
                }
            }
        }
        catch (IOException)
        {
        }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }
}
