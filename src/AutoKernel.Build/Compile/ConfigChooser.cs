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
/// Picks each task's schedule, as AutoTVM's apply_history_best with its fallback: the best record
/// of this target and thread count; else the best record of a target with the same ISA and vector
/// width (another CPU model, or another thread count), saying so; else a configuration chosen by
/// rule (<see cref="FallbackConfig"/>). Records whose template and knob values no longer match this
/// version's space are skipped.
/// </summary>
public sealed class ConfigChooser(RecordLog log, CpuTarget target)
{
    private readonly Dictionary<string, ChosenConfig> _chosen = new(StringComparer.Ordinal);

    public CpuTarget Target { get; } = target;

    /// <summary>One line per task that did not use an exact record (AutoTVM's fallback warning).</summary>
    public List<string> Warnings { get; } = [];

    public ChosenConfig Choose(Workload workload)
    {
        if (_chosen.TryGetValue(workload.Key, out var known))
            return known;
        var space = new TaskSpace(workload, Target);
        var ignored = new List<string>();
        ChosenConfig? chosen = Best(space, log.Records.Where(r => r.Target == Target.Description && r.Threads == Target.Cores), ignored, TunedStep.FromRecord);
        if (chosen is null)
        {
            string isa = IsaOf(Target.Description);
            var similar = log.Records.Where(r => IsaOf(r.Target) == isa)
                .OrderBy(r => r.Threads == Target.Cores ? 0 : 1);
            chosen = Best(space, similar, ignored, TunedStep.FromSimilarTarget);
            if (chosen is not null)
            {
                Warnings.Add($"{workload.Key}: no record for {Target.Description} with {Target.Cores} thread(s); using the best record from '{chosen.Record!.Target}' with {chosen.Record.Threads} thread(s), {chosen.Describe()}");
            }
        }
        if (chosen is null)
        {
            chosen = FallbackConfig.Choose(workload, Target);
            Warnings.Add($"{workload.Key}: no tuning record for {Target.Description} with {Target.Cores} thread(s); using the fallback configuration {chosen.Describe()}, which may be much slower (run autokernel tune)");
        }
        _chosen[workload.Key] = chosen;
        return chosen;
    }

    private static ChosenConfig? Best(TaskSpace space, IEnumerable<TuningRecord> records, List<string> ignored, string source)
    {
        var key = space.Workload!.Key;
        // Same ordering as RecordLog.Best: lowest mean cost, the earliest on a tie (OrderBy is stable).
        foreach (var r in records.Where(r => r.IsValid && r.WorkloadKey == key).OrderBy(r => r.MeanCost))
        {
            if (TuningJob.PointOf(space, r, ignored) is { } point)
                return new ChosenConfig(space.Templates[point.Space], point.Config, source, r);
        }
        return null;
    }

    /// <summary>"x64 AVX-512, AMD EPYC 9654" → "x64 AVX-512": architecture and vector ISA, without the CPU model.</summary>
    public static string IsaOf(string description)
    {
        int comma = description.IndexOf(',', StringComparison.Ordinal);
        return comma < 0 ? description : description[..comma];
    }
}
