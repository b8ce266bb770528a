using AutoKernel.Build.Measure;
using AutoKernel.Build.Records;
using AutoKernel.Build.Tasks;
using AutoKernel.Build.Tuning;
using AutoKernel.Generator.Kernels;

namespace AutoKernel.Build.Tests.Support;

/// <summary>
/// Tuning logs without measuring: for each task, a few records of random valid points (any
/// template) with made-up costs, so compiled models exercise schedules other than the fallback.
/// </summary>
public static class SyntheticLogs
{
    public static RecordLog For(LoadedModel model, CpuTarget target, string path, int seed, int perTask = 3)
    {
        var random = new Random(seed);
        var records = new List<TuningRecord>();
        foreach (var task in TaskExtractor.Extract(model.Optimized))
        {
            if (!KernelTemplates.All.Any(t => t.Supports(task.Workload)))
                continue;
            var space = new TaskSpace(task.Workload, target);
            for (int i = 0; i < perTask; i++)
            {
                int s = random.Next(space.Spaces.Count);
                var valid = space.Spaces[s].EnumerateValid().Take(5000).ToList();
                var config = valid[random.Next(valid.Count)];
                var candidate = TuningJob.CandidateFor(space, new Point(s, config), Epilogue.None);
                var result = new MeasureResult(candidate, MeasureError.None, [1e-3 * (1 + random.NextDouble())], null, 0, 0);
                records.Add(TuningRecord.FromResult(result, config, target, DateTimeOffset.UnixEpoch));
            }
        }
        RecordLog.Append(path, records);
        return RecordLog.Load(path);
    }
}
