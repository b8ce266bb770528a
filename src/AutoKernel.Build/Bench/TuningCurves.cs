using System.Globalization;
using AutoKernel.Build.Measure;
using AutoKernel.Build.Records;
using AutoKernel.Build.Tasks;
using AutoKernel.Build.Tuning;
using AutoKernel.Generator.Kernels;

namespace AutoKernel.Build.Bench;

/// <summary>Best throughput after each trial of one tuning run.</summary>
public sealed record Curve(int Task, string Tuner, int Seed, double[] Best, double Seconds)
{
    /// <summary>1-based trial at which the curve first reaches <paramref name="gflops"/>; null when it never does.</summary>
    public int? TrialsToReach(double gflops)
    {
        for (int i = 0; i < Best.Length; i++)
        {
            if (Best[i] >= gflops)
                return i + 1;
        }
        return null;
    }
}

/// <summary>
/// The tuning-curve benchmark: every tuner, every seed, the same budget, on the same tasks. A
/// configuration is measured once per benchmark run and its result shared by every tuner that
/// proposes it, so that tuners are compared on identical measurements (and the run is cheaper).
/// Tuner variant "xgb-transfer" is the model-based tuner warm-started with history records of
/// the other workloads.
/// </summary>
public sealed class TuningCurves(CpuTarget target, Runner runner, string? logPath)
{
    private readonly Dictionary<(string Workload, string Template, long Index), MeasureResult> _measured = [];

    public int Measurements { get; private set; }

    public Curve Run(int taskNumber, TuningTask task, Epilogue epilogue, string tuner, int seed, int budget, int batchSize, IReadOnlyList<TuningRecord> history)
    {
        var space = new TaskSpace(task.Workload, target);
        bool transfer = tuner == "xgb-transfer";
        var t = Tuner.Create(transfer ? "xgb" : tuner, space, seed);
        if (transfer)
        {
            ((ModelBasedTuner)t).AddHistory(TuningJob.HistorySamples(history.Where(r => r.WorkloadKey != task.Key), target, []));
        }
        var best = new List<double>();
        double running = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        t.Tune(budget, (points, ct) => Measure(task, epilogue, space, points), new TuneOptions
        {
            BatchSize = batchSize,
            Callbacks = [p =>
            {
                foreach (var trial in p.Batch)
                    best.Add(running = Math.Max(running, trial.Gflops));
            }],
        });
        return new Curve(taskNumber, tuner, seed, [.. best], clock.Elapsed.TotalSeconds);
    }

    private List<Trial> Measure(TuningTask task, Epilogue epilogue, TaskSpace space, IReadOnlyList<Point> points)
    {
        var missing = points.Where(p => !_measured.ContainsKey(Key(task, space, p))).ToList();
        if (missing.Count > 0)
        {
            var results = runner.Measure([.. missing.Select(p => TuningJob.CandidateFor(space, p, epilogue))]);
            Measurements += results.Count;
            var now = DateTimeOffset.UtcNow;
            for (int i = 0; i < results.Count; i++)
                _measured[Key(task, space, missing[i])] = results[i];
            if (logPath is not null)
                RecordLog.Append(logPath, [.. results.Select((r, i) => TuningRecord.FromResult(r, missing[i].Config, target, now))]);
        }
        return [.. points.Select(p => { var r = _measured[Key(task, space, p)]; return new Trial(p, r.Gflops, r); })];
    }

    private static (string, string, long) Key(TuningTask task, TaskSpace space, Point p) => (task.Key, space.Templates[p.Space].Name, p.Index);
}
