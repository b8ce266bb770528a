namespace AutoKernel.Build.Graph.Passes;

/// <summary>Drops nodes whose outputs nothing reads, and initializers no node reads.</summary>
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
}
