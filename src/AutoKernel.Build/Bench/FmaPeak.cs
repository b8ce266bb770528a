using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using AutoKernel.Runtime.Threading;

namespace AutoKernel.Build.Bench;

/// <summary>
/// Measures the machine's fused multiply-add peak: each thread runs chains of independent
/// vector FMAs (enough accumulators to hide the FMA latency) for a fixed time. The figure is the
/// ceiling the tuned kernels are compared with, measured rather than taken from a data sheet.
/// </summary>
public static class FmaPeak
{
    /// <summary>GFLOPS (a multiply-add counts as two) over <paramref name="threads"/> threads; best of <paramref name="repeats"/>.</summary>
    public static double Measure(int threads, int repeats = 5, int milliseconds = 100)
    {
        using var pool = new WorkerPool(threads);
        double best = 0;
        for (int r = 0; r < repeats; r++)
        {
            long iterations = 0;
            long start = Stopwatch.GetTimestamp();
            pool.For(threads, milliseconds, (ms, _) =>
            {
                long deadline = Stopwatch.GetTimestamp() + ms * Stopwatch.Frequency / 1000;
                long n = 0;
                while (Stopwatch.GetTimestamp() < deadline)
                {
                    Burst();
                    n++;
                }
                Interlocked.Add(ref iterations, n);
            });
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            best = Math.Max(best, iterations * FlopsPerBurst / seconds / 1e9);
        }
        return best;
    }

    private const int Accumulators = 12;
    private const int Steps = 256;

    private static int VectorFloats =>
        Vector512.IsHardwareAccelerated ? 16 : Vector256.IsHardwareAccelerated ? 8 : 4;

    private static double FlopsPerBurst => 2.0 * Accumulators * Steps * VectorFloats;

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Burst()
    {
        if (Vector512.IsHardwareAccelerated)
            Burst512();
        else if (Vector256.IsHardwareAccelerated)
            Burst256();
        else
            Burst128();
    }

    // Twelve independent accumulators: with a 4-cycle FMA latency and two FMA ports, eight are
    // the minimum to keep both ports busy.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Burst512()
    {
        var a = Vector512.Create(0.999f);
        var b = Vector512.Create(1e-6f);
        Vector512<float> c0 = a, c1 = a, c2 = a, c3 = a, c4 = a, c5 = a, c6 = a, c7 = a, c8 = a, c9 = a, c10 = a, c11 = a;
        for (int i = 0; i < Steps; i++)
        {
            c0 = Vector512.FusedMultiplyAdd(c0, a, b); c1 = Vector512.FusedMultiplyAdd(c1, a, b);
            c2 = Vector512.FusedMultiplyAdd(c2, a, b); c3 = Vector512.FusedMultiplyAdd(c3, a, b);
            c4 = Vector512.FusedMultiplyAdd(c4, a, b); c5 = Vector512.FusedMultiplyAdd(c5, a, b);
            c6 = Vector512.FusedMultiplyAdd(c6, a, b); c7 = Vector512.FusedMultiplyAdd(c7, a, b);
            c8 = Vector512.FusedMultiplyAdd(c8, a, b); c9 = Vector512.FusedMultiplyAdd(c9, a, b);
            c10 = Vector512.FusedMultiplyAdd(c10, a, b); c11 = Vector512.FusedMultiplyAdd(c11, a, b);
        }
        Sink = (c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11).GetElement(0);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Burst256()
    {
        var a = Vector256.Create(0.999f);
        var b = Vector256.Create(1e-6f);
        Vector256<float> c0 = a, c1 = a, c2 = a, c3 = a, c4 = a, c5 = a, c6 = a, c7 = a, c8 = a, c9 = a, c10 = a, c11 = a;
        for (int i = 0; i < Steps; i++)
        {
            c0 = Vector256.FusedMultiplyAdd(c0, a, b); c1 = Vector256.FusedMultiplyAdd(c1, a, b);
            c2 = Vector256.FusedMultiplyAdd(c2, a, b); c3 = Vector256.FusedMultiplyAdd(c3, a, b);
            c4 = Vector256.FusedMultiplyAdd(c4, a, b); c5 = Vector256.FusedMultiplyAdd(c5, a, b);
            c6 = Vector256.FusedMultiplyAdd(c6, a, b); c7 = Vector256.FusedMultiplyAdd(c7, a, b);
            c8 = Vector256.FusedMultiplyAdd(c8, a, b); c9 = Vector256.FusedMultiplyAdd(c9, a, b);
            c10 = Vector256.FusedMultiplyAdd(c10, a, b); c11 = Vector256.FusedMultiplyAdd(c11, a, b);
        }
        Sink = (c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11).GetElement(0);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Burst128()
    {
        var a = Vector128.Create(0.999f);
        var b = Vector128.Create(1e-6f);
        Vector128<float> c0 = a, c1 = a, c2 = a, c3 = a, c4 = a, c5 = a, c6 = a, c7 = a, c8 = a, c9 = a, c10 = a, c11 = a;
        for (int i = 0; i < Steps; i++)
        {
            c0 = Vector128.FusedMultiplyAdd(c0, a, b); c1 = Vector128.FusedMultiplyAdd(c1, a, b);
            c2 = Vector128.FusedMultiplyAdd(c2, a, b); c3 = Vector128.FusedMultiplyAdd(c3, a, b);
            c4 = Vector128.FusedMultiplyAdd(c4, a, b); c5 = Vector128.FusedMultiplyAdd(c5, a, b);
            c6 = Vector128.FusedMultiplyAdd(c6, a, b); c7 = Vector128.FusedMultiplyAdd(c7, a, b);
            c8 = Vector128.FusedMultiplyAdd(c8, a, b); c9 = Vector128.FusedMultiplyAdd(c9, a, b);
            c10 = Vector128.FusedMultiplyAdd(c10, a, b); c11 = Vector128.FusedMultiplyAdd(c11, a, b);
        }
        Sink = (c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11).GetElement(0);
    }

    /// <summary>Keeps the accumulators observable so the JIT cannot drop the loop.</summary>
    public static float Sink { get; private set; }
}
