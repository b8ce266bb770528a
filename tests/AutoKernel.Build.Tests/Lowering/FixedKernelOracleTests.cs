using AutoKernel.Build.Lowering;
using AutoKernel.Build.Tasks;
using AutoKernel.Build.Tests.Support;
using AutoKernel.Build.Zoo;

namespace AutoKernel.Build.Tests.Lowering;

/// <summary>
/// Every node of every zoo network that is not a tuning task lowers to a generated fixed kernel,
/// and each kernel computes what the reference executor computes for that node (the oracle), on
/// random inputs, in standard layout and with the node's activations in NCHW8c and NCHW16c
/// (ops that cannot run blocked come back with Block 0).
/// </summary>
public sealed class FixedKernelOracleTests
{
    public static TheoryData<string> Networks() => [.. ModelZoo.Names];

    /// <summary>The smallest image size each network accepts (AlexNet's adaptive pool needs 63).</summary>
    private static int ImageSize(string name) => name == "alexnet" ? 63 : 32;

    [Theory]
    [MemberData(nameof(Networks))]
    public void Every_untuned_zoo_node_has_a_kernel_that_matches_the_reference(string name)
    {
        var graph = Graphs.Prepare(ModelZoo.Create(name, imageSize: ImageSize(name))).Optimized;
        var untuned = graph.Nodes.Where(n => TaskExtractor.WorkloadOf(graph, n) is null).ToList();
        Assert.NotEmpty(untuned);
        var all = new List<(OracleCase Case, LoweredOp Op)>();
        foreach (int block in new[] { 0, 8, 16 })
        {
            // Sums over long reductions (Gemm over K) differ from the reference's order by float rounding.
            var cases = untuned.Select(n => new OracleCase($"{name}@{block}", graph, n, block,
                n.OpType is "Gemm" or "FusedGemm" or "MatMul" or "FusedMatMul" or "Conv" or "FusedConv" or "ConvTranspose" ? 1e-4 : 1e-5));
            var lowered = FixedKernelHarness.LowerAll(cases);
            if (block > 0)
            {
                // The ops that sit between convolutions stay blocked when asked to.
                Assert.Contains(lowered, x => x.Op.Op.Block == block);
                Assert.All(lowered.Where(x => x.Op.Op.Block > 0), x => Assert.Equal(block, x.Op.Op.Block));
            }
            all.AddRange(lowered);
        }
        FixedKernelHarness.CheckLowered(all);
    }

    [Theory]
    [InlineData("mobilenet_v3_small")]
    public void Unoptimized_graphs_lower_too(string name)
    {
        // Before the passes: BatchNormalization and activations stand alone, Clip carries its bounds as inputs.
        var graph = Graphs.Prepare(ModelZoo.Create(name, imageSize: 32)).Resolved;
        var untuned = graph.Nodes.Where(n => TaskExtractor.WorkloadOf(graph, n) is null).ToList();
        Assert.Contains(untuned, n => n.OpType == "BatchNormalization");
        var lowered = FixedKernelHarness.LowerAll(untuned.Select(n => new OracleCase($"{name}@16", graph, n, 16, n.OpType == "Gemm" ? 1e-4 : 1e-5)));
        Assert.Contains(lowered, x => x.Op.Op.OpType == "BatchNormalization" && x.Op.Op.Block == 16);
        FixedKernelHarness.CheckLowered(lowered);
    }

    [Theory]
    [InlineData("resnet18")]
    [InlineData("mobilenet_v3_small")]
    public void Tuned_nodes_lower_to_fixed_kernels_too(string name)
    {
        // A tuned node has a fallback fixed kernel as well (the compiler can still choose it).
        var graph = Graphs.Prepare(ModelZoo.Create(name, imageSize: ImageSize(name))).Optimized;
        var tuned = graph.Nodes.Where(n => TaskExtractor.WorkloadOf(graph, n) is not null).Take(6).ToList();
        Assert.NotEmpty(tuned);
        FixedKernelHarness.Check(tuned.Select(n => new OracleCase(name, graph, n, 0, 1e-4)));
    }
}
