using AutoKernel.Build.Cli;
using AutoKernel.Build.Measure;
using AutoKernel.Build.Records;
using AutoKernel.Build.Tasks;
using AutoKernel.Build.Tests.Support;
using AutoKernel.Build.Tuning;
using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Workloads;

namespace AutoKernel.Build.Tests.Measure;

/// <summary>
/// `bench-ops --log`: which record of a log it re-measures for a task. The fastest valid record of
/// this target, thread count and workload whose configuration still means the same; records of other
/// targets, thread counts or workloads, failed records and records whose knobs no longer match are
/// passed over, and on a tie the earliest in the file wins.
/// </summary>
public sealed class BenchOpsLogChoiceTests
{
    private static readonly CpuTarget Target = new(256, 2, "x64 AVX2, test machine");

    // 3x3 stride-1 convolution: conv2d_nchwc and conv2d_winograd_nchwc both support it.
    private static readonly Conv2dWorkload Conv = new(1, 16, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);

    private static readonly TuningTask Task = new(Conv, ["conv"]);

    private static readonly TaskSpace Space = new(Conv, Target);

    /// <summary>The <paramref name="nth"/> valid configuration of <paramref name="template"/>, as a record costing <paramref name="seconds"/>.</summary>
    private static TuningRecord Record(string template, int nth, double seconds, MeasureError error = MeasureError.None)
    {
        int s = Space.SpaceOf(template);
        var config = Space.Spaces[s].EnumerateValid().Skip(nth).First();
        var candidate = TuningJob.CandidateFor(Space, new Point(s, config), Epilogue.None);
        double[] costs = error == MeasureError.None ? [seconds] : [];
        return TuningRecord.FromResult(new MeasureResult(candidate, error, costs, error == MeasureError.None ? null : "planted", 0, 0), config, Target, DateTimeOffset.UnixEpoch);
    }

    private static (string Template, long Index) Chosen(params TuningRecord[] records)
    {
        using var temp = new TempDirectory();
        string path = temp.File("tune.log");
        RecordLog.Append(path, records);
        var chosen = BenchOpsCommand.Tuned(RecordLog.Load(path), Task, Epilogue.None, Target);
        return chosen.Count == 0 ? ("", -1) : Assert.Single(chosen) is var c ? (c.Template, c.ConfigIndex) : default;
    }

    private static (string, long) Key(TuningRecord r) => (r.Template, r.ConfigIndex);

    [Fact]
    public void The_fastest_valid_matching_record_is_chosen()
    {
        var slow = Record("conv2d_nchwc", 0, 3e-3);
        var fastest = Record("conv2d_winograd_nchwc", 1, 2e-3);
        var tie = Record("conv2d_nchwc", 2, 2e-3);
        var failedButFast = Record("conv2d_nchwc", 3, 0, MeasureError.WrongAnswer);
        var otherThreads = Record("conv2d_nchwc", 4, 1e-3) with { Threads = 1 };
        var otherTarget = Record("conv2d_nchwc", 5, 1e-3) with { Target = "x64 AVX-512, another machine" };
        var otherWorkload = Record("conv2d_nchwc", 6, 1e-3) with { WorkloadKey = new Conv2dWorkload(1, 16, 8, 8, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1).Key };
        // Knobs that no longer match this version's space: the index now means something else.
        var changed = Record("conv2d_nchwc", 7, 1e-3);
        var firstKnob = changed.Knobs.First();
        changed = changed with { Knobs = changed.Knobs.ToDictionary(k => k.Key, k => k.Key == firstKnob.Key ? [.. k.Value.Select(v => v + 1000)] : k.Value) };
        Assert.Equal(Key(fastest), Chosen(slow, failedButFast, otherThreads, fastest, otherTarget, tie, otherWorkload, changed));
        // The tie, earlier in the file, wins.
        Assert.Equal(Key(tie), Chosen(slow, tie, fastest));
    }

    [Fact]
    public void A_log_with_no_usable_record_of_the_task_gives_no_candidate()
    {
        var failed = Record("conv2d_nchwc", 0, 0, MeasureError.Timeout);
        var otherThreads = Record("conv2d_nchwc", 1, 1e-3) with { Threads = 4 };
        var unknownTemplate = Record("conv2d_nchwc", 2, 1e-3) with { Template = "conv2d_retired" };
        Assert.Equal(("", -1L), Chosen(failed, otherThreads, unknownTemplate));
    }

    [Fact]
    public void The_candidate_is_the_records_kernel_for_the_tasks_epilogue()
    {
        var record = Record("conv2d_winograd_nchwc", 0, 1e-3);
        using var temp = new TempDirectory();
        string path = temp.File("tune.log");
        RecordLog.Append(path, [record]);
        var epilogue = new Epilogue(true, false, "Relu", 0, 0);
        var candidate = Assert.Single(BenchOpsCommand.Tuned(RecordLog.Load(path), Task, epilogue, Target));
        var point = Space.Find(record.Template, record.ConfigIndex)!;
        var expected = TuningJob.CandidateFor(Space, point, epilogue);
        Assert.Equal(expected.ClassName, candidate.ClassName);
        Assert.Equal(expected.Source, candidate.Source);
        Assert.Equal(epilogue, candidate.Epilogue);
    }
}
