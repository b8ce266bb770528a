namespace AutoKernel.Generator.Kernels;

/// <summary>Small pieces of emitted code shared by the convolution emitters.</summary>
internal static class EmitterShared
{
    /// <summary>
    /// The condition under which the emitted main path runs. Vector512.IsHardwareAccelerated is
    /// false on some AVX-512 CPUs where the runtime prefers 256-bit code by default (throttling
    /// parts), although Vector512 operations still compile to AVX-512 instructions there; a
    /// kernel tuned for 512-bit vectors on such a machine should still run its tuned path.
    /// </summary>
    public static string Accelerated(string vectorClass) =>
        vectorClass == "Vector512"
            ? "(Vector512.IsHardwareAccelerated || System.Runtime.Intrinsics.X86.Avx512F.IsSupported)"
            : vectorClass + ".IsHardwareAccelerated";
}
