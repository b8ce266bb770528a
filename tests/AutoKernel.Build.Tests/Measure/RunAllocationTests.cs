using AutoKernel.Build.Compile;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Measure;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Records;
using AutoKernel.Build.Tasks;
using AutoKernel.Build.Tests.Support;
using AutoKernel.Build.Tuning;
using AutoKernel.Generator.Kernels;

namespace AutoKernel.Build.Tests.Measure;

/// <summary>
/// "Run allocates nothing" (architecture.md §11) for a model with every kind of tuned kernel and
/// fixed operators between them, on a pool of two threads (so WorkerPool.For hands work out), with
/// the fallback schedules and with each task's other templates chosen through a log.
/// GC.GetTotalAllocatedBytes counts every thread: the collection runs alone.
/// </summary>
[Collection(nameof(AutoKernel.Build.Tests.Compile.AllocationSensitive))]
public sealed class RunAllocationTests(ITestOutputHelper output)
{
    private static readonly CpuTarget Target = new(Targets.CpuTargets.Host().VectorBits, 2, Targets.CpuTargets.Host().Description);

    /// <summary>3x3, 1x1 with a residual, depthwise and grouped convolutions, max pooling, Flatten, Gemm.</summary>
    private static LoadedModel AllKernels()
    {
        var b = new ModelBuilder("all_kernels");
        var r = new Random(7);
        Tensor W(params int[] shape) => Graphs.RandomFloats(r.Next(), shape);
        string x = b.Input("image", DataType.Float, 1, 8, 12, 12);
        string c1 = b.Node("Relu", [b.Node("Conv", [x, b.Initializer("w1", W(16, 8, 3, 3)), b.Initializer("b1", W(16))], a => a.Ints("pads", 1, 1, 1, 1).Ints("kernel_shape", 3, 3))]);
        string c2 = b.Node("Add", [b.Node("Conv", [c1, b.Initializer("w2", W(16, 16, 1, 1))], a => a.Ints("kernel_shape", 1, 1)), c1]);
        string dw = b.Node("Conv", [c2, b.Initializer("w3", W(16, 1, 3, 3))], a => a.Ints("pads", 1, 1, 1, 1).Ints("kernel_shape", 3, 3).Int("group", 16));
        string gc = b.Node("Conv", [dw, b.Initializer("w4", W(16, 4, 3, 3))], a => a.Ints("pads", 1, 1, 1, 1).Ints("kernel_shape", 3, 3).Int("group", 4));
        string pool = b.Node("MaxPool", [gc], a => a.Ints("kernel_shape", 2, 2).Ints("strides", 2, 2));
        string flat = b.Node("Flatten", [pool], a => a.Int("axis", 1));
        b.Output(b.Node("Gemm", [flat, b.Initializer("w5", W(10, 16 * 6 * 6)), b.Initializer("b5", W(10))], a => a.Int("transB", 1)));
        return Graphs.Prepare(b.Build());
    }

    /// <summary>A log that gives each task a valid configuration of its <paramref name="choice"/>-th template (the last when it has fewer).</summary>
    private static RecordLog LogChoosing(LoadedModel model, string path, int choice)
    {
        var records = new List<TuningRecord>();
        foreach (var task in TaskExtractor.Extract(model.Optimized))
        {
            var space = new TaskSpace(task.Workload, Target);
            if (space.Spaces.Count == 0)
                continue;
            int s = Math.Min(choice, space.Spaces.Count - 1);
            var config = space.Spaces[s].EnumerateValid().First();
            var candidate = TuningJob.CandidateFor(space, new Point(s, config), Epilogue.None);
            records.Add(TuningRecord.FromResult(new MeasureResult(candidate, MeasureError.None, [1e-3], null, 0, 0), config, Target, DateTimeOffset.UnixEpoch));
        }
        RecordLog.Append(path, records);
        return RecordLog.Load(path);
    }

    /// <summary>The fewest bytes the process allocated over one round of 50 runs, over 5 rounds, after warm-up.</summary>
    private static long FewestBytesPerRound(Action run)
    {
        for (int i = 0; i < 50; i++)
            run();
        long fewest = long.MaxValue;
        for (int round = 0; round < 5; round++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < 50; i++)
                run();
            fewest = Math.Min(fewest, GC.GetTotalAllocatedBytes(precise: true) - before);
        }
        return fewest;
    }

    [Theory]
    [InlineData(-1)] // no log: the fallback schedules
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void Run_allocates_nothing_with_every_kernel_kind(int choice)
    {
        var loaded = AllKernels();
        using var temp = new TempDirectory();
        var log = choice < 0 ? RecordLog.Empty : LogChoosing(loaded, temp.File("tune.log"), choice);
        var compiled = ModelCompiler.Compile(loaded, log, Target);
        if (choice >= 0)
            Assert.Empty(compiled.Warnings); // every task has its record (without one: a fallback warning each)
        using var model = GeneratedModel.Build(compiled, "AllKernels");
        var templates = model.Sources.Select(s => s.HintName).Order(StringComparer.Ordinal).ToList();
        output.WriteLine("generated: " + string.Join(", ", templates));
        using var instance = model.CreateInstance(threads: 2);
        float[][] inputs = [Graphs.RandomFloats(3, 1, 8, 12, 12).Floats], outputs = [new float[10]];
        long bytes = FewestBytesPerRound(() => model.Run(instance, inputs, outputs));
        Assert.Equal(0, bytes);
        Assert.All(outputs[0], v => Assert.True(float.IsFinite(v)));
    }
}
