namespace AutoKernel.Build.Graph.Passes;

/// <summary>
/// Fuses Conv, Gemm and MatMul with what follows them into one <see cref="FusedOps"/> node:
/// a constant per-channel Add becomes the bias, an Add of a same-shaped computed value becomes
/// the residual input, and a following activation becomes the epilogue's activation, in that
/// order (bias, residual, activation). Each absorbed value must have no other reader.
/// </summary>
public static class EpilogueFusion
{
    public const string Name = "fuse-epilogues";

    public static void Run(ModelGraph graph, PassReport report)
    {
        var fused = new OpTally();
        foreach (var root in graph.Nodes.ToList())
        {
            if (root.Domain.Length != 0 || root.OpType is not ("Conv" or "Gemm" or "MatMul"))
                continue;
            var pattern = Absorb(graph, root);
            if (pattern is not null)
                fused.Tally(pattern);
        }
        report.AddCounts(Name, "fused", fused);
    }

    /// <summary>Grows the epilogue of <paramref name="root"/>; returns a description, or null when nothing fused.</summary>
    private static string? Absorb(ModelGraph graph, Node root)
    {
        var fusedNode = root.Clone();
        fusedNode.Domain = FusedOps.Domain;
        fusedNode.OpType = "Fused" + root.OpType;
        while (fusedNode.Inputs.Count < 4)
            fusedNode.Inputs.Add("");

        var absorbed = new List<Node>();
        var parts = new List<string> { root.OpType };
        string current = root.Outputs[0];
        var outputType = graph.TypeOf(current);
        if (outputType is null || outputType.ElementType != DataType.Float)
            return null;
        var uses = graph.UseCounts();
        bool hasActivation = false;
        while (!hasActivation && uses.GetValueOrDefault(current) == 1 && !graph.IsGraphOutput(current))
        {
            var next = graph.Consumers(current).Single();
            if (next.Domain.Length != 0 || next.Outputs.Count != 1)
                break;
            if (next.OpType == "Add" && next.Inputs.Count == 2)
            {
                string other = next.Inputs[0] == current ? next.Inputs[1] : next.Inputs[0];
                if (other == current || !SameType(graph.TypeOf(next.Outputs[0]), outputType))
                    break;
                if (fusedNode.Inputs[FusedOps.ResidualInput].Length == 0 && TryAddBias(graph, fusedNode, other, outputType))
                {
                    parts.Add("bias");
                }
                else if (fusedNode.Inputs[FusedOps.ResidualInput].Length == 0 && !graph.Initializers.ContainsKey(other)
                    && SameType(graph.TypeOf(other), outputType))
                {
                    fusedNode.Inputs[FusedOps.ResidualInput] = other;
                    parts.Add("Add");
                }
                else
                {
                    break;
                }
            }
            else if (Activations.Fusable.Contains(next.OpType) && TryActivation(graph, next, out var activation))
            {
                fusedNode.Set(NodeAttribute.String(FusedOps.ActivationAttribute, activation.Kind));
                fusedNode.Set(NodeAttribute.Float(FusedOps.AlphaAttribute, activation.Alpha));
                fusedNode.Set(NodeAttribute.Float(FusedOps.BetaAttribute, activation.Beta));
                parts.Add(next.OpType);
                hasActivation = true;
            }
            else
            {
                break;
            }
            absorbed.Add(next);
            current = next.Outputs[0];
        }
        if (absorbed.Count == 0)
            return null;

        // The fused node takes the place of the last absorbed node: a residual input may be
        // computed after the root, never after the node that read it.
        while (fusedNode.Inputs.Count > 0 && fusedNode.Inputs[^1].Length == 0)
            fusedNode.Inputs.RemoveAt(fusedNode.Inputs.Count - 1);
        fusedNode.Outputs[0] = current;
        int at = graph.Nodes.IndexOf(absorbed[^1]);
        graph.Nodes[at] = fusedNode;
        graph.Nodes.Remove(root);
        foreach (var n in absorbed.Take(absorbed.Count - 1))
            graph.Nodes.Remove(n);
        graph.ValueTypes.Remove(root.Outputs[0]);
        foreach (var n in absorbed.Take(absorbed.Count - 1))
            graph.ValueTypes.Remove(n.Outputs[0]);
        return string.Join("+", parts);
    }

    private static bool SameType(TensorType? a, TensorType? b) => a is not null && b is not null && a.Equals(b);

    /// <summary>
    /// Takes a constant addend as bias when it is one value per output channel: [C,1,1] / [1,C,1,1]
    /// for Conv (channel axis 1), [N] / [1,N] for Gemm and MatMul (last axis).
    /// </summary>
    private static bool TryAddBias(ModelGraph graph, Node fused, string addend, TensorType output)
    {
        if (!graph.Initializers.TryGetValue(addend, out var c) || c.Type != DataType.Float)
            return false;
        bool conv = fused.OpType == FusedOps.FusedConv;
        int axis = conv ? 1 : output.Rank - 1;
        int channels = output.Shape[axis];
        if (c.Length != channels || c.Rank > output.Rank)
            return false;
        // The addend's only non-unit dimension must line up with the channel axis.
        int offset = output.Rank - c.Rank;
        for (int d = 0; d < c.Rank; d++)
        {
            if (c.Shape[d] != 1 && d + offset != axis)
                return false;
        }
        if (fused.OpType == FusedOps.FusedGemm && fused.GetFloat("beta", 1f) != 1f && fused.Inputs[2].Length > 0)
            return false;

        float[] bias = (float[])c.Floats.Clone();
        if (fused.Inputs[2].Length > 0)
        {
            if (!graph.Initializers.TryGetValue(fused.Inputs[2], out var existing) || existing.Length != channels || existing.Type != DataType.Float)
                return false;
            // A Gemm C of shape [M,1] with M == N has N values too, but one per row: not mergeable.
            if (existing.Rank > 1 && existing.Shape[^2] != 1)
                return false;
            for (int k = 0; k < channels; k++)
                bias[k] += existing.Floats[k];
        }
        else if (fused.OpType == FusedOps.FusedGemm)
        {
            fused.Set(NodeAttribute.Float("beta", 1f));
        }
        string name = GraphResolver.UniqueName(graph, fused.Name + "_bias");
        graph.Initializers[name] = Tensor.FromFloats([channels], bias);
        fused.Inputs[2] = name;
        return true;
    }

    /// <summary>An activation node's kind and parameters; false when Clip's bounds are not constant scalars.</summary>
    internal static bool TryActivation(ModelGraph graph, Node node, out Activation activation)
    {
        var (alpha, beta) = Activations.DefaultParameters(node);
        if (node.OpType == "Clip" && graph.Opset >= 11)
        {
            // Clip-11 takes min and max as optional inputs; they must be constant scalars.
            alpha = float.MinValue; // an absent bound is numeric_limits lowest/max, as unfused
            beta = float.MaxValue;
            if (node.HasInput(1))
            {
                if (!graph.Initializers.TryGetValue(node.Inputs[1], out var min) || min.Length != 1)
                {
                    activation = Activation.None;
                    return false;
                }
                alpha = (float)min.GetDouble(0);
            }
            if (node.HasInput(2))
            {
                if (!graph.Initializers.TryGetValue(node.Inputs[2], out var max) || max.Length != 1)
                {
                    activation = Activation.None;
                    return false;
                }
                beta = (float)max.GetDouble(0);
            }
        }
        activation = new Activation(node.OpType, alpha, beta);
        return true;
    }
}
