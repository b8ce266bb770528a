using AutoKernel.Build.Measure;
using AutoKernel.Build.Records;
using AutoKernel.Build.Tasks;
using AutoKernel.Build.Tests.Support;
using AutoKernel.Build.Tuning;
using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Workloads;

namespace AutoKernel.Build.Tests.Tuning;

/// <summary>
/// Resuming from a log (<see cref="TuningJob"/>'s replay and <see cref="TuningJob.PointOf"/>):
/// records that no longer name a valid point of this version's space are ignored, each with a
/// warning, and count neither as trials nor towards the budget. Nothing is measured here.
/// </summary>
public sealed class TuningJobTests : IDisposable
{
    private static readonly CpuTarget Target = new(256, 1, "test AVX2");

    /// <summary>Conv 8->16, 3x3, pad 1, on 12x12: 2 * 16 * 12 * 12 * 8 * 3 * 3 = 331776 flops.</summary>
    private static readonly Conv2dWorkload Conv = new(1, 8, 12, 12, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A record of the point as the tuner writes it, measured at 1 ms a run.</summary>
    private static TuningRecord RecordOf(TaskSpace space, Point point)
    {
        var candidate = TuningJob.CandidateFor(space, point, Epilogue.None);
        var result = new MeasureResult(candidate, MeasureError.None, [1e-3], null, 0, 0);
        return TuningRecord.FromResult(result, point.Config, Target, DateTimeOffset.UnixEpoch);
    }

    [Fact]
    public void RecordsThatNoLongerMatchTheSpaceAreIgnoredWithAWarningAndDoNotCountTowardsTheBudget()
    {
        var space = new TaskSpace(Conv, Target);
        Assert.True(space.Spaces.Count >= 2, "the 3x3 convolution has direct and Winograd schedules");
        var valid = space.Spaces[0].EnumerateValid().Take(2).ToList();
        var good = new Point(0, valid[0]);
        var other = new Point(0, valid[1]);
        // An index of a template whose constraints reject it (the tuner never measures one).
        var (invalidSpace, invalidIndex) = FirstInvalid(space);
        var invalid = space.Spaces[invalidSpace].Decode(invalidIndex);

        string key = Conv.Key, name = space.Spaces[0].Template, invalidName = space.Spaces[invalidSpace].Template;
        var goodRecord = RecordOf(space, good);
        var otherRecord = RecordOf(space, other);
        string firstKnob = space.Spaces[0].Knobs[0].Name;
        var records = new List<TuningRecord>
        {
            goodRecord,
            // The same point again: one trial, not two.
            goodRecord with { Timestamp = DateTimeOffset.UnixEpoch.AddSeconds(1) },
            // The index of `other` with the knob values of `good` (a space whose knobs changed).
            otherRecord with { Knobs = goodRecord.Knobs },
            // A knob this version does not have, and one knob missing.
            otherRecord with { Knobs = new Dictionary<string, int[]>(otherRecord.Knobs) { ["retired_knob"] = [1] } },
            otherRecord with { Knobs = otherRecord.Knobs.Where(k => k.Key != firstKnob).ToDictionary() },
            // A template this version does not have, and an index past the end of the space (a
            // negative one cannot be written: the record format refuses it).
            goodRecord with { Template = "conv2d_retired" },
            goodRecord with { ConfigIndex = space.Spaces[0].Size },
            // Matching knob values, but the configuration is invalid in this version.
            RecordOf(space, good) with
            {
                Template = invalidName,
                ConfigIndex = invalidIndex,
                Knobs = invalid.Space.Knobs.Select((k, i) => (k.Name, Values: k[invalid.Choices[i]].ToArray())).ToDictionary(t => t.Name, t => t.Values),
            },
            // Another target's record of the same point is another task's and never looked at.
            otherRecord with { Target = "another machine" },
        };
        string log = _dir.File("tune.log");
        RecordLog.Append(log, records);

        using var runner = new Runner(new MeasureOptions());
        var job = new TuningJob(Target, runner, log, new TuneSettings { Tuner = "random" });
        var task = new TuningTask(Conv, ["conv"]);
        Assert.Equal(1, job.LoggedTrials(task));
        string[] expected =
        [
            $"{key}: {name} #{other.Index} does not match this version's schedule space; ignored",
            $"{key}: conv2d_retired #{good.Index} does not match this version's schedule space; ignored",
            $"{key}: {name} #{space.Spaces[0].Size} does not match this version's schedule space; ignored",
            $"{key}: {invalidName} #{invalidIndex} is not a valid configuration in this version's schedule space; ignored",
        ];
        // The knob mismatches give one warning text three times (changed values, extra, missing knob).
        Assert.Equal([expected[0], expected[0], expected[0], .. expected[1..]], job.Warnings);

        // A budget of 1 is spent by the one good record: nothing is measured (the runner never
        // starts), and its throughput is 331776 flops / 1 ms = 0.331776 GFLOPS.
        job.Warnings.Clear();
        var outcome = job.Tune(task, Epilogue.None, [], TestContext.Current.CancellationToken, trials: 1);
        Assert.Equal((1, 0, (TuneStop?)TuneStop.Budget), (outcome.Resumed, outcome.Measured, outcome.Stop));
        Assert.Equal(TaskSpace.KeyOf(good), TaskSpace.KeyOf(outcome.Best!.Point));
        Assert.Equal(0.331776, outcome.Best.Gflops, 12);
        Assert.Equal(0, runner.ChildStarts);
        Assert.Equal(4, job.Warnings.Distinct().Count());
    }

    [Fact]
    public void PointOfAcceptsARecordThatStillMatches()
    {
        var space = new TaskSpace(Conv, Target);
        var point = new Point(1, space.Spaces[1].EnumerateValid().Take(50).Last());
        var warnings = new List<string>();
        var found = TuningJob.PointOf(space, RecordOf(space, point), warnings);
        Assert.Equal(TaskSpace.KeyOf(point), TaskSpace.KeyOf(found!));
        Assert.Empty(warnings);
    }

    private static (int Space, long Index) FirstInvalid(TaskSpace space)
    {
        for (int s = 0; s < space.Spaces.Count; s++)
        {
            for (long i = 0; i < space.Spaces[s].Size; i++)
            {
                if (!space.Spaces[s].IsValid(space.Spaces[s].Decode(i)))
                    return (s, i);
            }
        }
        throw new InvalidOperationException("every configuration of the convolution's spaces is valid: pick a workload with constraints");
    }
}
