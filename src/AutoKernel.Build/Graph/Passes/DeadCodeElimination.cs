namespace AutoKernel.Build.Graph.Passes;

/// <summary>
/// Drops nodes whose outputs nothing reads, and initializers no node reads. A kept node's
/// optional outputs that nothing reads lose their names (an empty name is an omitted output),
/// so later stages need not compute them.
/// </summary>
public static class DeadCodeElimination
{
    public const string Name = "remove-dead-code";

    public static void Run(ModelGraph graph, PassReport report)
    {
        var removed = new OpTally();
        var live = new HashSet<string>(graph.Outputs.Select(o => o.Name), StringComparer.Ordinal);
        var kept = new List<Node>(graph.Nodes.Count);
        for (int k = graph.Nodes.Count - 1; k >= 0; k--)
        {
            var n = graph.Nodes[k];
            if (n.Outputs.Any(live.Contains))
            {
                DropUnreadOptionalOutputs(graph, n, live);
                kept.Add(n);
                foreach (string i in n.Inputs)
                    live.Add(i);
            }
            else
            {
                removed.Tally(n.OpType);
                foreach (string o in n.Outputs)
                    graph.ValueTypes.Remove(o);
            }
        }
        kept.Reverse();
        graph.Nodes.Clear();
        graph.Nodes.AddRange(kept);
        int weights = 0;
        foreach (string name in graph.Initializers.Keys.ToList())
        {
            if (!live.Contains(name))
            {
                graph.Initializers.Remove(name);
                weights++;
            }
        }
        if (weights > 0)
            removed["initializer"] = weights;
        report.AddCounts(Name, "removed", removed);
    }

    /// <summary>For each operator with optional outputs, the index of the first optional one.</summary>
    private static readonly Dictionary<string, int> FirstOptionalOutput = new(StringComparer.Ordinal)
    {
        ["LayerNormalization"] = 1, // Mean, InvStdDev
        ["Dropout"] = 1,            // mask
        ["MaxPool"] = 1,            // Indices
        ["BatchNormalization"] = 1, // training statistics
    };

    private static void DropUnreadOptionalOutputs(ModelGraph graph, Node n, HashSet<string> live)
    {
        if (n.Domain.Length != 0 || !FirstOptionalOutput.TryGetValue(n.OpType, out int first))
            return;
        for (int o = first; o < n.Outputs.Count; o++)
        {
            if (n.Outputs[o].Length > 0 && !live.Contains(n.Outputs[o]))
            {
                graph.ValueTypes.Remove(n.Outputs[o]);
                n.Outputs[o] = "";
            }
        }
        while (n.Outputs.Count > 1 && n.Outputs[^1].Length == 0)
            n.Outputs.RemoveAt(n.Outputs.Count - 1);
    }
}
