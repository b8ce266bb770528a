using AutoKernel.Build.Graph;
using AutoKernel.Build.Graph.Passes;
using AutoKernel.Build.Limits;
using AutoKernel.Build.Onnx;

namespace AutoKernel.Build;

/// <summary>A model after import: the resolved graph as the file describes it, and the optimized one.</summary>
public sealed record LoadedModel(string Path, ModelGraph Resolved, ModelGraph Optimized, PassReport Report);

/// <summary>Import → resolve shapes and fold constants → simplification passes.</summary>
public static class ModelPipeline
{
    /// <summary>True when the pipeline can import, resolve and execute the operator.</summary>
    public static bool IsSupported(string domain, string opType) =>
        ShapeInference.IsSupported(domain, opType) && Reference.ReferenceKernels.IsSupported(domain, opType);

    /// <summary>Operators of the default ONNX domain the pipeline supports, sorted.</summary>
    public static IReadOnlyList<string> SupportedOperators { get; } =
        [.. ShapeInference.SupportedOnnxOperators.Where(op => IsSupported("", op)).Order(StringComparer.Ordinal)];

    /// <summary>
    /// Imports and prepares a model within <paramref name="budget"/> (default:
    /// <see cref="MemoryBudget.Current"/>, which the commands set from --memory-limit).
    /// </summary>
    public static LoadedModel Load(string path, IReadOnlyDictionary<string, int[]>? inputShapes = null, MemoryBudget? budget = null)
    {
        using var scope = budget is null ? null : MemoryBudget.Use(budget);
        var graph = OnnxImporter.Load(path);
        return Prepare(graph, inputShapes);
    }

    public static LoadedModel Prepare(ModelGraph graph, IReadOnlyDictionary<string, int[]>? inputShapes = null, MemoryBudget? budget = null)
    {
        var report = new PassReport();
        GraphResolver.Resolve(graph, inputShapes, report, budget);
        var optimized = graph.Clone();
        try
        {
            GraphOptimizer.Run(optimized, report);
        }
        catch (ModelException e)
        {
            throw e.At(graph.SourcePath, graph.Opset);
        }
        return new LoadedModel(graph.SourcePath, graph, optimized, report);
    }
}
