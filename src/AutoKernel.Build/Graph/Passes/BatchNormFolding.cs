namespace AutoKernel.Build.Graph.Passes;

/// <summary>
/// Folds an inference-mode BatchNormalization into the Conv, ConvTranspose or Gemm that feeds it:
/// with s = scale / sqrt(var + eps), the weights of output channel c are multiplied by s[c] and the
/// bias becomes (bias - mean) * s + beta. Applies when the producer's weights and every BN
/// parameter are constant and the producer's output is read by the BN alone.
/// </summary>
public static class BatchNormFolding
{
    public const string Name = "fold-batchnorm";

    public static void Run(ModelGraph graph, PassReport report)
    {
        var folded = new OpTally();
        var uses = graph.UseCounts();
        foreach (var bn in graph.Nodes.ToList())
        {
            if (bn.Domain.Length != 0 || bn.OpType != "BatchNormalization" || bn.Outputs.Skip(1).Any(o => o.Length > 0))
                continue;
            string x = bn.Inputs[0];
            var producer = graph.Producer(x);
            if (producer is null || producer.Domain.Length != 0 || uses.GetValueOrDefault(x) != 1 || producer.Outputs[0] != x)
                continue;
            if (!TryConstant(graph, bn, 1, out var scale) || !TryConstant(graph, bn, 2, out var beta)
                || !TryConstant(graph, bn, 3, out var mean) || !TryConstant(graph, bn, 4, out var variance))
                continue;
            float epsilon = bn.GetFloat("epsilon", 1e-5f);
            int channels = scale.Length;
            if (beta.Length != channels || mean.Length != channels || variance.Length != channels)
                continue;
            var s = new float[channels];
            var shift = new float[channels];
            for (int c = 0; c < channels; c++)
            {
                s[c] = scale[c] / MathF.Sqrt(variance[c] + epsilon);
                shift[c] = beta[c] - mean[c] * s[c];
            }
            if (!FoldInto(graph, producer, s, shift))
                continue;
            graph.Nodes.Remove(bn);
            graph.ValueTypes.Remove(x);
            graph.RenameValue(x, bn.Outputs[0]);
            folded.Tally($"{producer.OpType}+BatchNormalization");
        }
        report.AddCounts(Name, "folded", folded);
    }

    private static bool TryConstant(ModelGraph graph, Node node, int input, out float[] values)
    {
        values = [];
        if (!node.HasInput(input) || !graph.Initializers.TryGetValue(node.Inputs[input], out var t) || t.Type != DataType.Float)
            return false;
        values = t.Floats;
        return true;
    }

    /// <summary>Rewrites the producer's weights and bias as new initializers (weights may be shared).</summary>
    private static bool FoldInto(ModelGraph graph, Node producer, float[] s, float[] shift)
    {
        int channels = s.Length;
        if (!graph.Initializers.TryGetValue(producer.Input(1), out var w) || w.Type != DataType.Float)
            return false;
        float[] bias;
        int biasInput = 2;
        if (producer.HasInput(biasInput))
        {
            if (!graph.Initializers.TryGetValue(producer.Inputs[biasInput], out var b) || b.Type != DataType.Float || b.Length != channels)
                return false;
            bias = b.Floats;
        }
        else
        {
            bias = new float[channels];
        }

        float[] weights = (float[])w.Floats.Clone();
        float biasScale = 1f;
        switch (producer.OpType)
        {
            case "Conv":
                // W: [Cout, Cin/g, k...]; output channel = first axis.
                if (w.Shape[0] != channels)
                    return false;
                ScaleRows(weights, s);
                break;
            case "ConvTranspose":
            {
                // W: [Cin, Cout/g, k...]; output channel = g * (Cout/g) + second-axis index.
                int group = (int)producer.GetInt("group", 1);
                int perGroup = w.Shape[1];
                if (perGroup * group != channels || w.Shape[0] % group != 0)
                    return false;
                int inPerGroup = w.Shape[0] / group;
                int kernel = w.Length / (w.Shape[0] * perGroup);
                for (int ci = 0; ci < w.Shape[0]; ci++)
                {
                    int g = ci / inPerGroup;
                    for (int co = 0; co < perGroup; co++)
                    {
                        float f = s[g * perGroup + co];
                        int start = (ci * perGroup + co) * kernel;
                        for (int k = 0; k < kernel; k++)
                            weights[start + k] *= f;
                    }
                }
                break;
            }
            case "Gemm":
            {
                // Y = alpha * A * B' + beta * C, output columns = channels; BN on a [N, C] input.
                if (producer.GetInt("transA", 0) != 0 || w.Rank != 2)
                    return false;
                bool transB = producer.GetInt("transB", 0) != 0;
                int n = transB ? w.Shape[0] : w.Shape[1];
                if (n != channels)
                    return false;
                // transB: B is [N, K], one row per output column; otherwise [K, N], one column each.
                if (transB)
                    ScaleRows(weights, s);
                else
                    ScaleColumns(weights, s);
                biasScale = producer.GetFloat("beta", 1f);
                if (producer.HasInput(biasInput) && graph.Initializers[producer.Inputs[biasInput]].Rank != 1)
                    return false;
                break;
            }
            default:
                return false;
        }

        var newBias = new float[channels];
        for (int c = 0; c < channels; c++)
            newBias[c] = bias[c] * biasScale * s[c] + shift[c];
        if (producer.OpType == "Gemm")
            producer.Set(NodeAttribute.Float("beta", 1f));

        string wName = GraphResolver.UniqueName(graph, producer.Inputs[1] + "_bn");
        string bName = GraphResolver.UniqueName(graph, producer.Name + "_bias_bn");
        graph.Initializers[wName] = new Tensor(DataType.Float, w.Shape, weights);
        graph.Initializers[bName] = Tensor.FromFloats([channels], newBias);
        producer.Inputs[1] = wName;
        while (producer.Inputs.Count <= biasInput)
            producer.Inputs.Add("");
        producer.Inputs[biasInput] = bName;
        return true;
    }

    /// <summary>
    /// Scales a row-major array viewed as [s.Length, rest]: every element of row c by s[c].
    /// </summary>
    private static void ScaleRows(float[] data, float[] s)
    {
        int block = data.Length / s.Length;
        for (int c = 0; c < s.Length; c++)
        {
            for (int k = 0; k < block; k++)
                data[c * block + k] *= s[c];
        }
    }

    /// <summary>
    /// Scales a row-major array viewed as [rows, s.Length]: every element of column c by s[c].
    /// </summary>
    private static void ScaleColumns(float[] data, float[] s)
    {
        int columns = s.Length;
        for (int i = 0; i < data.Length; i++)
            data[i] *= s[i % columns];
    }
}
