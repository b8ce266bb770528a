using System.Globalization;
using AutoKernel.Generator.Plans;

namespace AutoKernel.Build.Compile;

/// <summary>What `autokernel compile` prints: steps by kind, where each task's schedule came from, transforms, memory.</summary>
public sealed class CompileReport
{
    private readonly Dictionary<string, string> _tasks = new(StringComparer.Ordinal);

    public int TunedSteps { get; private set; }

    public int FixedSteps { get; private set; }

    public int TransformSteps { get; private set; }

    public int CopySteps { get; private set; }

    /// <summary>Reshape-like nodes that alias their input's buffer (no step).</summary>
    public int Views { get; set; }

    /// <summary>Elementwise steps that write over their dying input instead of a buffer of their own.</summary>
    public int InPlace { get; set; }

    /// <summary>One line per inserted layout transform: value, shape, from and to.</summary>
    public List<string> Transforms { get; } = [];

    public long ArenaFloats { get; set; }

    /// <summary>Sum of all intermediate buffers, as if none were reused.</summary>
    public long IntermediateFloats { get; private set; }

    public long WeightsBytes { get; set; }

    /// <summary>Task (workload key) → where its schedule came from (record, similar-target, fallback).</summary>
    public IReadOnlyDictionary<string, string> Tasks => _tasks;

    public IEnumerable<string> UntunedTasks => _tasks.Where(t => t.Value != TunedStep.FromRecord).Select(t => t.Key);

    public void CountTask(string key, string source) => _tasks.TryAdd(key, source);

    public void Finish(IEnumerable<PlanStep> steps, long intermediateFloats)
    {
        foreach (var s in steps)
        {
            switch (s.Kind)
            {
                case PlanStep.TunedKind: TunedSteps++; break;
                case PlanStep.FixedKind: FixedSteps++; break;
                case PlanStep.TransformKind: TransformSteps++; break;
                default: CopySteps++; break;
            }
        }
        IntermediateFloats = intermediateFloats;
    }

    public void Write(TextWriter w)
    {
        var c = CultureInfo.InvariantCulture;
        w.WriteLine(string.Create(c, $"steps: {TunedSteps + FixedSteps + TransformSteps + CopySteps} ({TunedSteps} tuned, {FixedSteps} fixed, {TransformSteps} layout transforms, {CopySteps} copies), {Views} views"));
        int fromRecord = _tasks.Count(t => t.Value == TunedStep.FromRecord);
        w.WriteLine(string.Create(c, $"tasks: {_tasks.Count} ({fromRecord} from this target's records, {_tasks.Count(t => t.Value == TunedStep.FromSimilarTarget)} from a similar target's, {_tasks.Count(t => t.Value == TunedStep.FromFallback)} fallback)"));
        foreach (var t in _tasks.Where(t => t.Value != TunedStep.FromRecord))
            w.WriteLine($"  {t.Value,-14} {t.Key}");
        w.WriteLine(string.Create(c, $"layout transforms: {Transforms.Count}"));
        foreach (string t in Transforms)
            w.WriteLine("  " + t);
        w.WriteLine(string.Create(c, $"arena: {Bytes(ArenaFloats * 4)} (intermediate tensors: {Bytes(IntermediateFloats * 4)} before reuse; {InPlace} steps in place)"));
        w.WriteLine($"weights: {Bytes(WeightsBytes)}");
    }

    public static string Bytes(long bytes) =>
        bytes >= 1 << 20 ? string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:F1} MiB")
        : bytes >= 1 << 10 ? string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:F1} KiB")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes} B");
}
