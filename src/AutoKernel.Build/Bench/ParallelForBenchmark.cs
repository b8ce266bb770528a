using System.Diagnostics;
using AutoKernel.Runtime.Threading;

namespace AutoKernel.Build.Bench;

/// <summary>
/// Dispatch cost of the Runtime's <see cref="WorkerPool"/> against Parallel.For, for loops the
/// size of one small layer: <c>count</c> iterations of a body that spins for a fixed time. The
/// figure is microseconds per parallel loop beyond the work itself (work / threads).
/// </summary>
public static class ParallelForBenchmark
{
    public sealed record Row(string Engine, int Iterations, double BodyMicroseconds, double[] LoopMicroseconds);

    public static IEnumerable<Row> Run(int threads, int repeat = 7)
    {
        using var pool = new WorkerPool(threads);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = threads };
        foreach (double body in new[] { 0.0, 2.0, 20.0 })
        {
            int iterations = 4 * threads;
            long spin = (long)(body * Stopwatch.Frequency / 1e6);
            void Body(int i)
            {
                long end = Stopwatch.GetTimestamp() + spin;
                while (Stopwatch.GetTimestamp() < end)
                {
                }
            }
            yield return new Row("WorkerPool", iterations, body, Timing.Measure(() => pool.For(iterations, Body), repeat, 50).Select(s => s * 1e6).ToArray());
            yield return new Row("Parallel.For", iterations, body, Timing.Measure(() => Parallel.For(0, iterations, parallel, Body), repeat, 50).Select(s => s * 1e6).ToArray());
        }
    }
}
