using AutoKernel.Build.Compile;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Records;
using AutoKernel.Build.Tasks;
using AutoKernel.Build.Tests.Support;
using AutoKernel.Build.Tuning;
using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Plans;
using AutoKernel.Runtime.Models;
using AutoKernel.Runtime.Threading;

namespace AutoKernel.Build.Tests.Compile;

[CollectionDefinition(nameof(AllocationSensitive), DisableParallelization = true)]
public sealed class AllocationSensitive;

/// <summary>The generated model class as an app uses it: construction, Run's contract, weights sharing, allocation.</summary>
[Collection(nameof(AllocationSensitive))]
public sealed class GeneratedModelTests
{
    private static readonly CpuTarget Target = new(Targets.CpuTargets.Host().VectorBits, 2, Targets.CpuTargets.Host().Description);

    private static LoadedModel Mlp(int seed = 1)
    {
        var b = new ModelBuilder("mlp");
        var r = new Random(seed);
        string x = b.Input("features", DataType.Float, 4, 64);
        string h = b.Node("Gemm", [x, b.Initializer("w1", Graphs.RandomFloats(r.Next(), 96, 64)), b.Initializer("b1", Graphs.RandomFloats(r.Next(), 96))], a => a.Int("transB", 1));
        string relu = b.Node("Relu", [h]);
        string y = b.Node("MatMul", [relu, b.Initializer("w2", Graphs.RandomFloats(r.Next(), 96, 10))]);
        b.Output(y);
        return Graphs.Prepare(b.Build());
    }

    private static (GeneratedModel Model, CompiledModel Compiled) Build(LoadedModel loaded) =>
        ModelCompiler.Compile(loaded, RecordLog.Empty, Target) is var compiled ? (GeneratedModel.Build(compiled, "Mlp"), compiled) : default;

    [Fact]
    public void Run_allocates_nothing_with_two_threads()
    {
        var (model, _) = Build(Mlp());
        using (model)
        using (var instance = model.CreateInstance(threads: 2))
        {
            float[][] inputs = [new float[4 * 64]], outputs = [new float[40]];
            for (int i = 0; i < 20; i++)
                model.Run(instance, inputs, outputs);
            long before = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < 200; i++)
                model.Run(instance, inputs, outputs);
            long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
            Assert.Equal(0, allocated);
        }
    }

    [Fact]
    public void Wrong_lengths_dispose_and_concurrent_runs_fail_clearly()
    {
        var (model, _) = Build(Mlp());
        using (model)
        {
            var instance = model.CreateInstance(threads: 1);
            var e = Assert.Throws<ArgumentException>(() => model.Run(instance, [new float[7]], [new float[40]]));
            Assert.Contains("'features'", e.Message, StringComparison.Ordinal);
            Assert.Contains("256", e.Message, StringComparison.Ordinal);
            Assert.Throws<ArgumentException>(() => model.Run(instance, [new float[256]], [new float[41]]));

            // Two threads on one instance: one of them must be refused, never a corrupted arena.
            bool refused = false;
            var barrier = new Barrier(2);
            var threads = Enumerable.Range(0, 2).Select(_ => new Thread(() =>
            {
                float[][] i = [new float[256]], o = [new float[40]];
                barrier.SignalAndWait();
                for (int k = 0; k < 20000 && !Volatile.Read(ref refused); k++)
                {
                    try
                    {
                        model.Run(instance, i, o);
                    }
                    catch (InvalidOperationException ex) when (ex.Message.Contains("already executing", StringComparison.Ordinal))
                    {
                        Volatile.Write(ref refused, true);
                    }
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            Assert.True(refused, "concurrent Run on one instance was never refused");

            instance.Dispose();
            Assert.Throws<ObjectDisposedException>(() => model.Run(instance, [new float[256]], [new float[40]]));
        }
    }

    [Fact]
    public void Instances_share_one_copy_of_the_weights_and_run_at_once()
    {
        var (model, _) = Build(Mlp());
        using (model)
        {
            int before = ModelWeights.LoadedCount;
            var a = model.CreateInstance(threads: 1);
            var b = model.CreateInstance(threads: 1);
            Assert.Equal(before + 1, ModelWeights.LoadedCount);
            var input = Graphs.RandomFloats(3, 4, 64).Floats;
            float[] expected = new float[40];
            model.Run(a, [input], [expected]);
            Parallel.For(0, 2, k =>
            {
                var o = new float[40];
                for (int i = 0; i < 200; i++)
                {
                    model.Run(k == 0 ? a : b, [input], [o]);
                    Assert.Equal(expected, o);
                }
            });
            a.Dispose();
            Assert.Equal(before + 1, ModelWeights.LoadedCount);
            b.Dispose();
            Assert.Equal(before, ModelWeights.LoadedCount);
        }
    }

    [Fact]
    public void A_shared_pool_and_weights_from_a_file_work_and_mismatched_weights_are_refused()
    {
        var (model, compiled) = Build(Mlp());
        using var temp = new TempDirectory();
        var (_, weights) = CompileOutput.Write(compiled, temp.Path, "mlp");
        using (model)
        using (var pool = new WorkerPool(2))
        {
            using (var instance = model.CreateInstance(new ModelOptions { Pool = pool, WeightsPath = weights }))
                model.Run(instance, [new float[256]], [new float[40]]);

            // Weights of another compile (other random weights, same shapes) do not belong to this class.
            var other = ModelCompiler.Compile(Mlp(seed: 2), RecordLog.Empty, Target);
            var (_, otherWeights) = CompileOutput.Write(other, temp.Path, "other");
            var e = Assert.Throws<InvalidDataException>(() => model.CreateInstance(new ModelOptions { WeightsPath = otherWeights }));
            Assert.Contains("do not belong", e.Message, StringComparison.Ordinal);

            File.WriteAllBytes(temp.File("cut.weights"), File.ReadAllBytes(weights)[..100]);
            Assert.Throws<InvalidDataException>(() => model.CreateInstance(new ModelOptions { WeightsPath = temp.File("cut.weights") }));
            Assert.Throws<FileNotFoundException>(() => model.CreateInstance(new ModelOptions { WeightsPath = temp.File("missing.weights") }));
        }
    }

    [Fact]
    public void Compile_is_deterministic()
    {
        var a = ModelCompiler.Compile(Mlp(), RecordLog.Empty, Target);
        var b = ModelCompiler.Compile(Mlp(), RecordLog.Empty, Target);
        Assert.Equal(PlanFormat.Write(a.Plan), PlanFormat.Write(b.Plan));
        Assert.Equal(a.Payload, b.Payload);
    }

    /// <summary>The invariant: the kernel the tuner compiled for a logged record is byte for byte the kernel in the generated model.</summary>
    [Fact]
    public void A_logged_records_kernel_source_is_the_generated_kernel_source()
    {
        var loaded = Mlp();
        using var temp = new TempDirectory();
        var log = SyntheticLogs.For(loaded, Target, temp.File("tune.log"), seed: 9);
        var compiled = ModelCompiler.Compile(loaded, log, Target);
        Assert.Empty(compiled.Warnings);
        using var model = GeneratedModel.Build(compiled, "Mlp");
        var generated = model.Sources.ToDictionary(s => s.HintName, s => s.Source, StringComparer.Ordinal);
        int checkedKernels = 0;
        foreach (var node in loaded.Optimized.Nodes)
        {
            if (TaskExtractor.WorkloadOf(loaded.Optimized, node) is not { } workload)
                continue;
            var best = log.BestFor(Target.Description, Target.Cores, workload.Key)!;
            var space = new TaskSpace(workload, Target);
            var point = space.Find(best.Template, best.ConfigIndex)!;
            var candidate = TuningJob.CandidateFor(space, point, TaskExtractor.EpilogueOf(node));
            string hint = candidate.ClassName + ".g.cs";
            Assert.True(generated.ContainsKey(hint), $"the generated model has no {hint}");
            Assert.Equal(candidate.Source, generated[hint]);
            checkedKernels++;
        }
        Assert.Equal(2, checkedKernels);
    }
}
