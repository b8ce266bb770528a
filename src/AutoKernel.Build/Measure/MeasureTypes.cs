using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Workloads;

namespace AutoKernel.Build.Measure;

/// <summary>How candidates are timed (AutoTVM's number / repeat / min_repeat_ms).</summary>
public sealed record MeasureOptions
{
    /// <summary>Runs per repeat; raised automatically so that one repeat lasts at least <see cref="MinRepeatMs"/>.</summary>
    public int Number { get; init; } = 1;

    /// <summary>Timed repeats; <see cref="MeasureResult.Costs"/> has one entry per repeat, in seconds per run.</summary>
    public int Repeat { get; init; } = 3;

    public int MinRepeatMs { get; init; } = 50;

    /// <summary>Untimed runs first; the first of them is also the correctness check (it always happens).</summary>
    public int Warmup { get; init; } = 1;

    /// <summary>Touch a buffer larger than the last-level cache before each repeat.</summary>
    public bool FlushCache { get; init; }

    /// <summary>WorkerPool size in the runner; 0 means one thread per logical processor.</summary>
    public int Threads { get; init; } = 1;

    /// <summary>Per candidate: loading, checking, warming up and timing it (compilation excluded).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>One emitted kernel to measure. <paramref name="ClassName"/> is the full type name (namespace.class).</summary>
public sealed record Candidate(Workload Workload, Epilogue Epilogue, string Template, long ConfigIndex, string Source, string ClassName);

public enum MeasureError
{
    None,
    CompileError,
    RuntimeError,
    Timeout,
    WrongAnswer,
}

/// <summary>
/// The outcome of measuring one candidate. <paramref name="Costs"/> holds seconds per run, one
/// entry per repeat (empty on error). <paramref name="BuildSeconds"/> is the candidate's share of
/// its batch's compile time; <paramref name="RunSeconds"/> the wall time of its measurement round trip.
/// </summary>
public sealed record MeasureResult(Candidate Candidate, MeasureError Error, double[] Costs, string? Message, double BuildSeconds, double RunSeconds)
{
    /// <summary>Mean seconds per run; +∞ on error.</summary>
    public double MeanCost => Error == MeasureError.None && Costs.Length > 0 ? Costs.Average() : double.PositiveInfinity;

    /// <summary>Throughput from <see cref="MeanCost"/>; 0 on error.</summary>
    public double Gflops => Error == MeasureError.None && Costs.Length > 0 && MeanCost > 0 ? Candidate.Workload.Flops / MeanCost / 1e9 : 0;

    /// <summary>Runs per repeat actually used (after <see cref="MeasureOptions.MinRepeatMs"/> raised it); 0 on error.</summary>
    public int Number { get; init; }
}
