using System.Collections.Concurrent;
using AutoKernel.Generator.Kernels;

namespace AutoKernel.Generator.Tests.Support;

/// <summary>
/// Which code path of an emitted kernel a test exercises. A tuned kernel is emitted for a
/// <see cref="CpuTarget"/> (its vector width) and has two paths: the main path, written in that
/// width's vector class, which runs where the emitted condition (<c>EmitterShared.Accelerated</c>)
/// holds on the machine, and the portable path, which runs elsewhere or when ForcePortable is set.
/// Tests use the targets below, ask <see cref="MainPathRuns"/> before claiming to test a main
/// path, write which path ran into the test output, and skip (never pass silently) where the
/// main path cannot run here.
/// </summary>
public static class KernelPaths
{
    public static readonly CpuTarget Avx512 = new(512, 2, "test AVX-512");
    public static readonly CpuTarget Avx2 = new(256, 2, "test AVX2");
    public static readonly CpuTarget Sse = new(128, 2, "test 128-bit");

    /// <summary>The test target of a vector width (128, 256 or 512 bits).</summary>
    public static CpuTarget Target(int bits) => bits switch
    {
        512 => Avx512,
        256 => Avx2,
        128 => Sse,
        _ => throw new ArgumentOutOfRangeException(nameof(bits), bits, "128, 256 or 512"),
    };

    private static readonly ConcurrentDictionary<string, bool> s_mainPathRuns = new();

    /// <summary>
    /// Whether a kernel emitted for <paramref name="target"/> runs its main path on this machine:
    /// the emitters' own condition, compiled and evaluated here (so this cannot drift from what
    /// the kernels check).
    /// </summary>
    public static bool MainPathRuns(CpuTarget target) => s_mainPathRuns.GetOrAdd(target.VectorClass, vectorClass =>
    {
        string source = "using System.Runtime.Intrinsics; namespace PathProbe; public static class P { public static bool Runs => "
            + EmitterShared.Accelerated(vectorClass) + "; }";
        var type = KernelCompiler.CompileAssembly([source]).GetType("PathProbe.P", throwOnError: true)!;
        return (bool)type.GetProperty("Runs")!.GetValue(null)!;
    });

    /// <summary>The test-output line naming the path that ran for kernels emitted for <paramref name="target"/>.</summary>
    public static string Describe(CpuTarget target, bool portable) =>
        portable ? $"{target.VectorBits}-bit kernels: portable path (ForcePortable)"
        : MainPathRuns(target) ? $"{target.VectorBits}-bit kernels: main path ({target.VectorClass})"
        : $"{target.VectorBits}-bit kernels: main path not run ({target.VectorClass} is not accelerated on this machine)";

    /// <summary>Writes <see cref="Describe"/> into the current test's output.</summary>
    public static void Report(CpuTarget target, bool portable) =>
        TestContext.Current.TestOutputHelper?.WriteLine(Describe(target, portable));

    /// <summary>Skips the test (before any work) unless the main path of <paramref name="target"/>'s kernels runs here; reports it.</summary>
    public static void RequireMainPath(CpuTarget target)
    {
        Assert.SkipUnless(MainPathRuns(target), SkipReason(target));
        Report(target, portable: false);
    }

    /// <summary>
    /// Runs <paramref name="check"/> on every kernel's portable path, then on its main path where
    /// that runs on this machine, and reports both; where it does not, skips the test after the
    /// portable checks passed, saying so.
    /// </summary>
    public static void OnBothPaths<T>(CpuTarget target, IReadOnlyList<T> kernels, Action<T, bool> check)
    {
        Report(target, portable: true);
        foreach (var kernel in kernels)
            check(kernel, true);
        Assert.SkipUnless(MainPathRuns(target), $"the portable path passed for {kernels.Count} kernels; " + SkipReason(target));
        Report(target, portable: false);
        foreach (var kernel in kernels)
            check(kernel, false);
    }

    /// <summary>
    /// The paths of <paramref name="target"/>'s kernels that can run here, as ForcePortable values:
    /// the main path (false) where it runs, then the portable path (true) always; reports them. For
    /// tests whose claim does not depend on the path (the path only widens what they cover).
    /// </summary>
    public static IReadOnlyList<bool> PathsThatRun(CpuTarget target)
    {
        bool[] paths = MainPathRuns(target) ? [false, true] : [true];
        Report(target, portable: false);
        Report(target, portable: true);
        return paths;
    }

    private static string SkipReason(CpuTarget target) =>
        $"the {target.VectorClass} main path of {target.VectorBits}-bit kernels cannot run on this machine ({EmitterShared.Accelerated(target.VectorClass)} is false)";
}
