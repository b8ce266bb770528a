namespace AutoKernel.Build.Graph.Passes;

/// <summary>The simplification pipeline that runs after <see cref="GraphResolver"/>.</summary>
public static class GraphOptimizer
{
    /// <summary>Pass names in the order they run, for documentation and --help.</summary>
    public static readonly IReadOnlyList<string> PassNames =
        [IdentityElimination.Name, BatchNormFolding.Name, EpilogueFusion.Name, DeadCodeElimination.Name];

    /// <summary>Rewrites a resolved graph in place.</summary>
    public static void Run(ModelGraph graph, PassReport report)
    {
        IdentityElimination.Run(graph, report);
        BatchNormFolding.Run(graph, report);
        EpilogueFusion.Run(graph, report);
        DeadCodeElimination.Run(graph, report);
    }
}
