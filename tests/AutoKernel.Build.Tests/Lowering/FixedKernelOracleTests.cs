using System.Runtime.Loader;
using AutoKernel.Build.Compare;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Lowering;
using AutoKernel.Build.Measure;
using AutoKernel.Build.Reference;
using AutoKernel.Build.Tests.Support;
using AutoKernel.Build.Zoo;
using AutoKernel.Generator.Kernels;
using AutoKernel.Runtime.Kernels;
using AutoKernel.Runtime.Threading;

namespace AutoKernel.Build.Tests.Lowering;

/// <summary>
/// Every untuned node of the zoo networks that lowers to a generated fixed kernel computes what the
/// reference executor computes for that node (the oracle), on random inputs of the node's shapes.
/// </summary>
public sealed class FixedKernelOracleTests
{
    private const int Block = 16;

    public static TheoryData<string, int> Networks() => new()
    {
        { "resnet18", 64 },
        { "squeezenet1_1", 64 },
        { "googlenet", 64 },
        { "densenet121", 32 },
        { "shufflenet_v2_x1_0", 64 },
        { "mobilenet_v3_small", 64 },
    };

    [Theory]
    [MemberData(nameof(Networks))]
    public void Generated_fixed_kernels_match_the_reference(string name, int imageSize)
    {
        var graph = Graphs.Prepare(ModelZoo.Create(name, imageSize: imageSize)).Optimized;
        var lowered = graph.Nodes.Select(n => (Node: n, Op: FixedOpLowering.Lower(graph, n, Block))).Where(x => x.Op is not null).ToList();
        Assert.NotEmpty(lowered);

        var target = new CpuTarget(512, 2, "test");
        using var build = new BatchBuilder().Build([.. lowered.Select((x, i) => ($"F.K{i}", FixedKernels.Emit(x.Op!, target, "F", $"K{i}")))]);
        Assert.All(build.Errors, e => Assert.Null(e));
        using var pool = new WorkerPool(2);
        var random = new Random(7);
        for (int i = 0; i < lowered.Count; i++)
        {
            var (node, op) = (lowered[i].Node, lowered[i].Op!);
            var assembly = new AssemblyLoadContext(null, isCollectible: true).LoadFromAssemblyPath(build.Assemblies[i]!);
            var kernel = (IFixedKernel)Activator.CreateInstance(assembly.GetType($"F.K{i}", throwOnError: true)!)!;

            var inputs = node.Inputs.Select(v => v.Length == 0 ? null : graph.Initializers.TryGetValue(v, out var c) ? c : Graphs.RandomFloats(random.Next(), graph.TypeOf(v)!.Shape)).ToArray();
            var expected = ReferenceKernels.Run(node, graph.Opset, inputs)[0];
            var actual = StandardLayout.Run(kernel, [.. inputs.Take(op.Inputs.Count).Select(t => t!.Floats)], expected.Length, pool);
            var result = TensorComparison.Compare(Tensor.FromFloats(expected.Shape, actual), expected, 1e-5, 1e-5);
            Assert.True(result.Passed, $"{name} node {node.Name} ({node.OpType}): {result}");
        }
    }
}
