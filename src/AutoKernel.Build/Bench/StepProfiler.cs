using System.Diagnostics;
using AutoKernel.Generator.Plans;

namespace AutoKernel.Build.Bench;

/// <summary>
/// Runs a generated model's plan step by step with a timestamp after each step, to split a run's
/// time by step kind (tuned, fixed, transform, copy). The model class itself has no timing hooks:
/// this is a separate class compiled into the same assembly as the generated sources (see
/// <see cref="Compile.GeneratedModel.CreateProfiler"/>), calling the same kernel classes with the
/// same weights, in the plan's order, on an arena of its own. The timestamps cost a little per
/// step, so a profiled run is somewhat slower than the model's own Run.
/// </summary>
public sealed class StepProfiler : IDisposable
{
    /// <summary>The step kinds, in report order.</summary>
    public static readonly IReadOnlyList<string> Kinds = [PlanStep.TunedKind, PlanStep.FixedKind, PlanStep.TransformKind, PlanStep.CopyKind];

    private readonly ModelPlan _plan;
    private readonly IDisposable _profiler;
    private readonly Action<IDisposable, float[][], float[][]> _run;
    private readonly long[] _ticks;
    private readonly long[] _lengths;

    internal StepProfiler(ModelPlan plan, IDisposable profiler, Action<IDisposable, float[][], float[][]> run, Func<IDisposable, long[]> ticks)
    {
        _plan = plan;
        _profiler = profiler;
        _run = run;
        _ticks = ticks(profiler);
        _lengths = [.. plan.Inputs.Concat(plan.Outputs).Select(v => v.Shape.Aggregate(1L, (p, d) => p * d))];
    }

    /// <summary>Profiled runs since creation or <see cref="Reset"/>.</summary>
    public long Runs { get; private set; }

    /// <summary>Runs the plan once: inputs and outputs in the plan's order, standard layout (as the model's Run).</summary>
    public void Run(float[][] inputs, float[][] outputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        if (inputs.Length != _plan.Inputs.Count || outputs.Length != _plan.Outputs.Count)
            throw new ArgumentException($"the model has {_plan.Inputs.Count} inputs and {_plan.Outputs.Count} outputs");
        for (int i = 0; i < _lengths.Length; i++)
        {
            var array = i < inputs.Length ? inputs[i] : outputs[i - inputs.Length];
            if (array is null || array.Length != _lengths[i])
                throw new ArgumentException($"value #{i} must have {_lengths[i]} floats");
        }
        _run(_profiler, inputs, outputs);
        Runs++;
    }

    /// <summary>Forgets the time accumulated so far (e.g. after warm-up runs).</summary>
    public void Reset()
    {
        Array.Clear(_ticks);
        Runs = 0;
    }

    /// <summary>Seconds spent in each step over all runs since the last reset.</summary>
    public double[] StepSeconds() => [.. _ticks.Select(t => (double)t / Stopwatch.Frequency)];

    /// <summary>Seconds per step kind over all runs since the last reset (every kind present, zero if it has no steps).</summary>
    public Dictionary<string, double> KindSeconds()
    {
        var seconds = Kinds.ToDictionary(k => k, _ => 0.0, StringComparer.Ordinal);
        var steps = StepSeconds();
        for (int i = 0; i < steps.Length; i++)
        {
            string kind = _plan.Steps[i].Kind;
            seconds[kind] = seconds.GetValueOrDefault(kind) + steps[i];
        }
        return seconds;
    }

    public void Dispose() => _profiler.Dispose();
}
