using AutoKernel.Build.Graph;

using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Workloads;

namespace AutoKernel.Build.Tasks;

/// <summary>A distinct workload and the nodes that run it.</summary>
public sealed record TuningTask(Workload Workload, IReadOnlyList<string> Nodes)
{
    public string Key => Workload.Key;

    /// <summary>Operations for all nodes that share the workload, per model run.</summary>
    public long TotalFlops => Workload.Flops * Nodes.Count;
}

/// <summary>Finds the distinct tunable workloads of an optimized graph, in order of first use.</summary>
public static class TaskExtractor
{
    public static IReadOnlyList<TuningTask> Extract(ModelGraph graph)
    {
        var byKey = new Dictionary<string, (Workload Workload, List<string> Nodes)>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var node in graph.Nodes)
        {
            var workload = WorkloadOf(graph, node);
            if (workload is null)
                continue;
            if (!byKey.TryGetValue(workload.Key, out var entry))
            {
                entry = (workload, []);
                byKey[workload.Key] = entry;
                order.Add(workload.Key);
            }
            entry.Nodes.Add(node.Name);
        }
        return [.. order.Select(k => new TuningTask(byKey[k].Workload, byKey[k].Nodes))];
    }

    /// <summary>
    /// The epilogue a tunable node fuses: bias, residual add, activation. Bias is input 2 being
    /// present: for a tunable dense node that is exactly when <see cref="DenseOperands.For"/> gives a
    /// bias (Gemm's C with beta folded in, or FusedMatMul's bias).
    /// </summary>
    public static Epilogue EpilogueOf(Node node)
    {
        var activation = FusedOps.IsFused(node) ? FusedOps.ActivationOf(node) : Graph.Activation.None;
        return new Epilogue(node.HasInput(2), FusedOps.IsFused(node) && node.HasInput(FusedOps.ResidualInput), activation.Kind, activation.Alpha, activation.Beta);
    }

    /// <summary>The workload a node runs, or null when the node is not tunable.</summary>
    public static Workload? WorkloadOf(ModelGraph graph, Node node)
    {
        bool onnx = node.Domain.Length == 0;
        bool fused = node.Domain == FusedOps.Domain;
        if (!onnx && !fused)
            return null;
        string op = fused && node.OpType.StartsWith("Fused", StringComparison.Ordinal) ? node.OpType["Fused".Length..] : node.OpType;
        var a = graph.TypeOf(node.Input(0));
        var b = graph.TypeOf(node.Input(1));
        if (a is null || b is null || a.ElementType != DataType.Float || b.ElementType != DataType.Float)
            return null;
        switch (op)
        {
            case "Conv" when a.Rank == 4:
            {
                var geo = ConvGeometry.Of(node, a.Shape, b.Shape);
                return new Conv2dWorkload(
                    a.Shape[0], a.Shape[1], a.Shape[2], a.Shape[3],
                    b.Shape[0], geo.Kernel[0], geo.Kernel[1],
                    geo.Strides[0], geo.Strides[1],
                    geo.PadsBegin[0], geo.PadsBegin[1], geo.PadsEnd[0], geo.PadsEnd[1],
                    geo.Dilations[0], geo.Dilations[1], geo.Groups);
            }
            // Dense: only the forms the dense kernel computes exactly with DenseOperands' constants
            // (see DenseOperands: transA=0, constant B with any transB and alpha, a per-column
            // constant C with any beta). Any other Gemm runs on the generic fixed Gemm kernel.
            case "Gemm":
                return DenseForm.Of(graph, node, out _)?.Workload;
            case "MatMul" when a.Rank >= 2 && b.Rank == 2 && graph.Initializers.ContainsKey(node.Input(1)):
                return DenseForm.Of(graph, node, out _)?.Workload;
            case "MatMul" when a.Rank >= 2 && b.Rank >= 2:
            {
                var output = graph.TypeOf(node.Outputs[0]);
                if (output is null)
                    return null;
                int m = output.Shape[^2];
                int n = output.Shape[^1];
                int batch = (int)(output.ElementCount / ((long)m * n));
                return new BatchMatMulWorkload(batch, m, n, a.Shape[^1]);
            }
            default:
                return null;
        }
    }
}
