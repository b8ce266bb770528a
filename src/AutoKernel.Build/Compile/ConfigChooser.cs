using AutoKernel.Build.Records;
using AutoKernel.Build.Tuning;
using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Plans;
using AutoKernel.Generator.Schedules;
using AutoKernel.Generator.Workloads;

namespace AutoKernel.Build.Compile;

/// <summary>The schedule a tuned node is compiled with, and where it came from.</summary>
public sealed record ChosenConfig(KernelTemplate Template, Config Config, string Source, TuningRecord? Record)
{
    public string Describe() => $"{Template.Name} #{Config.Index} ({Config})";
}

/// <summary>
/// Picks each tuned node's schedule, as AutoTVM's apply_history_best with its fallback: the best
/// record of this target and thread count; else the best record of a target with the same ISA and
/// vector width (another CPU model, or another thread count), saying so; else a configuration
/// chosen by rule (<see cref="FallbackConfig"/>). Records whose template and knob values no longer
/// match this version's space are skipped.
/// <para>
/// Layouts: a node's input arrives in the channel block its producer chose. A record whose kernel
/// reads another block needs a layout transform first, so records are compared by their measured
/// cost plus, when their input block differs, an estimate of that transform
/// (<see cref="TransformSeconds"/>): a slightly slower schedule that reads the producer's layout
/// wins over a faster one that would need a copy of the whole tensor (a simplified form of TVM's
/// graph tuner, greedy along the graph).
/// </para>
/// </summary>
public sealed class ConfigChooser(RecordLog log, CpuTarget target)
{
    /// <summary>Bandwidth assumed for a layout transform's estimate (read and write), bytes per second.</summary>
    public const double TransformBandwidth = 10e9;

    /// <summary>Fixed cost assumed per transform step (the pool's dispatch), seconds.</summary>
    public const double TransformOverhead = 5e-6;

    private readonly Dictionary<(string, int), ChosenConfig> _chosen = [];
    private readonly HashSet<string> _warned = new(StringComparer.Ordinal);

    public CpuTarget Target { get; } = target;

    /// <summary>One line per task that did not use an exact record (AutoTVM's fallback warning).</summary>
    public List<CompileWarning> Warnings { get; } = [];

    /// <summary>The schedule for a node of <paramref name="workload"/> whose input is in layout <paramref name="inputBlock"/> (0 standard).</summary>
    public ChosenConfig Choose(Workload workload, int inputBlock = 0)
    {
        if (_chosen.TryGetValue((workload.Key, inputBlock), out var known))
            return known;
        var space = new TaskSpace(workload, Target);
        var ignored = new List<string>();
        double penalty = workload is Conv2dWorkload c ? TransformSeconds((long)c.Batch * c.InChannels * c.InHeight * c.InWidth) : 0;
        ChosenConfig? chosen = Best(space, log.Records.Where(r => r.Target == Target.Description && r.Threads == Target.Cores), ignored, TunedStep.FromRecord, inputBlock, penalty);
        bool warn = _warned.Add(workload.Key);
        if (chosen is null)
        {
            string isa = IsaOf(Target.Description);
            var sameThreads = log.Records.Where(r => IsaOf(r.Target) == isa && r.Threads == Target.Cores);
            var otherThreads = log.Records.Where(r => IsaOf(r.Target) == isa && r.Threads != Target.Cores);
            chosen = Best(space, sameThreads, ignored, TunedStep.FromSimilarTarget, inputBlock, penalty)
                ?? Best(space, otherThreads, ignored, TunedStep.FromSimilarTarget, inputBlock, penalty);
            if (chosen is not null && warn)
                Warnings.Add(new(CompileWarningKind.SimilarTarget, $"{workload.Kind} {workload.Shape}: no record for {Target.Description} with {Target.Cores} thread(s); using the best record from '{chosen.Record!.Target}' with {chosen.Record.Threads} thread(s), {chosen.Describe()}"));
        }
        if (chosen is null)
        {
            chosen = FallbackConfig.Choose(workload, Target, inputBlock);
            if (warn)
                Warnings.Add(new(CompileWarningKind.Fallback, $"{workload.Kind} {workload.Shape}: no tuning record for {Target.Description} with {Target.Cores} thread(s); using the fallback configuration {chosen.Describe()}, which may be much slower"));
        }
        if (warn && ignored.Count > 0)
            Warnings.Add(new(CompileWarningKind.StaleRecords, $"{workload.Kind} {workload.Shape}: {ignored.Count} record(s) no longer match this version's schedule space and were ignored (first: {ignored[0]})"));
        _chosen[(workload.Key, inputBlock)] = chosen;
        return chosen;
    }

    /// <summary>The estimated time of transforming a tensor of <paramref name="floats"/> floats into another layout.</summary>
    public static double TransformSeconds(long floats) => TransformOverhead + floats * 8.0 / TransformBandwidth;

    private ChosenConfig? Best(TaskSpace space, IEnumerable<TuningRecord> records, List<string> ignored, string source, int inputBlock, double penalty)
    {
        var key = space.Workload!.Key;
        ChosenConfig? best = null;
        double bestScore = double.PositiveInfinity;
        // Lowest mean cost plus the transform a different input layout needs; the earliest record on a tie.
        foreach (var r in records.Where(r => r.IsValid && r.WorkloadKey == key))
        {
            double score = r.MeanCost;
            if (score >= bestScore)
                continue;
            if (TuningJob.PointOf(space, r, ignored) is not { } point)
                continue;
            var template = space.Templates[point.Space];
            if (KernelLayouts.Of(template, point.Config, Target).Input != KernelLayouts.Normalize(inputBlock))
                score += penalty;
            if (score < bestScore)
                (best, bestScore) = (new ChosenConfig(template, point.Config, source, r), score);
        }
        return best;
    }

    /// <summary>"x64 AVX-512, AMD EPYC 9654" → "x64 AVX-512": architecture and vector ISA, without the CPU model.</summary>
    public static string IsaOf(string description)
    {
        int comma = description.IndexOf(',', StringComparison.Ordinal);
        return comma < 0 ? description : description[..comma];
    }
}
