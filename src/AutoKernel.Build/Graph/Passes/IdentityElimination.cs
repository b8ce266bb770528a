namespace AutoKernel.Build.Graph.Passes;

/// <summary>Removes Identity and inference-mode Dropout nodes, rewiring their readers to the input.</summary>
public static class IdentityElimination
{
    public const string Name = "remove-identity";

    public static void Run(ModelGraph graph, PassReport report)
    {
        var removed = new OpTally();
        foreach (var node in graph.Nodes.ToList())
        {
            if (node.Domain.Length != 0 || node.OpType is not ("Identity" or "Dropout"))
                continue;
            if (node.Outputs.Skip(1).Any(o => o.Length > 0 && graph.Consumers(o).Any() || graph.IsGraphOutput(o)))
                continue; // a Dropout mask is read: keep the node
            string source = node.Inputs[0];
            string result = node.Outputs[0];
            if (graph.IsGraphOutput(result))
            {
                // The graph output's name must survive: rename the source instead, when it is a plain
                // intermediate value produced by a node.
                if (graph.Producer(source) is null || graph.IsGraphOutput(source))
                    continue;
                graph.Nodes.Remove(node);
                graph.RenameValue(source, result);
            }
            else
            {
                graph.Nodes.Remove(node);
                graph.ReplaceUses(result, source);
                graph.ValueTypes.Remove(result);
            }
            removed.Tally(node.OpType);
        }
        report.AddCounts(Name, "removed", removed);
    }
}
