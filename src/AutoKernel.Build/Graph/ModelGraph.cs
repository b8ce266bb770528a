namespace AutoKernel.Build.Graph;

/// <summary>A graph input or output: a name and its declared type.</summary>
public sealed record GraphValue(string Name, TensorType Type)
{
    /// <summary>Symbolic names of the dimensions that are unknown (dim_param), null entries for known ones.</summary>
    public string?[] DimParams { get; init; } = [];
}

/// <summary>
/// A static-shape tensor graph. Nodes are kept in topological order; values are named edges.
/// Initializers are the constant tensors (weights and folded constants).
/// </summary>
public sealed class ModelGraph
{
    public string Name { get; set; } = "";

    /// <summary>The file the graph came from, for error messages ("" when built in memory).</summary>
    public string SourcePath { get; set; } = "";

    /// <summary>Opset version per domain ("" is the default ONNX domain).</summary>
    public Dictionary<string, int> Opsets { get; } = new(StringComparer.Ordinal);

    public int Opset => Opsets.TryGetValue("", out int v) ? v : Opsets.TryGetValue("ai.onnx", out v) ? v : 0;

    public List<GraphValue> Inputs { get; } = [];

    public List<GraphValue> Outputs { get; } = [];

    public List<Node> Nodes { get; } = [];

    public Dictionary<string, Tensor> Initializers { get; } = new(StringComparer.Ordinal);

    /// <summary>Known type of every value (inputs, node outputs, initializers) after shape inference.</summary>
    public Dictionary<string, TensorType> ValueTypes { get; } = new(StringComparer.Ordinal);

    public TensorType? TypeOf(string value) =>
        ValueTypes.TryGetValue(value, out var t) ? t
        : Initializers.TryGetValue(value, out var c) ? TensorType.Of(c)
        : null;

    /// <summary>Nodes that read <paramref name="value"/>.</summary>
    public IEnumerable<Node> Consumers(string value) => Nodes.Where(n => n.Inputs.Contains(value));

    public Node? Producer(string value) => Nodes.FirstOrDefault(n => n.Outputs.Contains(value));

    public bool IsGraphOutput(string value) => Outputs.Exists(o => o.Name == value);

    /// <summary>A deep-enough copy for passes to rewrite without touching the original (tensors are shared, being immutable).</summary>
    public ModelGraph Clone()
    {
        var g = new ModelGraph { Name = Name, SourcePath = SourcePath };
        foreach (var (k, v) in Opsets)
            g.Opsets[k] = v;
        g.Inputs.AddRange(Inputs);
        g.Outputs.AddRange(Outputs);
        g.Nodes.AddRange(Nodes.Select(n => n.Clone()));
        foreach (var (k, v) in Initializers)
            g.Initializers[k] = v;
        foreach (var (k, v) in ValueTypes)
            g.ValueTypes[k] = v;
        return g;
    }

    /// <summary>Parameter count: elements of all float initializers.</summary>
    public long ParameterCount() =>
        Initializers.Values.Where(t => t.Type.IsFloatingPoint()).Sum(t => (long)t.Length);
}

public static class ModelGraphEditing
{
    /// <summary>Points every reader of <paramref name="from"/> (nodes and graph outputs) at <paramref name="to"/>.</summary>
    public static void ReplaceUses(this ModelGraph graph, string from, string to)
    {
        foreach (var n in graph.Nodes)
        {
            for (int i = 0; i < n.Inputs.Count; i++)
            {
                if (n.Inputs[i] == from)
                    n.Inputs[i] = to;
            }
        }
        for (int k = 0; k < graph.Outputs.Count; k++)
        {
            if (graph.Outputs[k].Name == from)
                graph.Outputs[k] = graph.Outputs[k] with { Name = to };
        }
    }

    /// <summary>Renames the value <paramref name="from"/> everywhere: its producer, readers, type and graph outputs.</summary>
    public static void RenameValue(this ModelGraph graph, string from, string to)
    {
        foreach (var n in graph.Nodes)
        {
            for (int o = 0; o < n.Outputs.Count; o++)
            {
                if (n.Outputs[o] == from)
                    n.Outputs[o] = to;
            }
        }
        graph.ReplaceUses(from, to);
        if (graph.ValueTypes.Remove(from, out var t))
            graph.ValueTypes[to] = t;
    }

    /// <summary>How many node inputs read each value (graph outputs count as one extra reader).</summary>
    public static Dictionary<string, int> UseCounts(this ModelGraph graph)
    {
        var uses = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var n in graph.Nodes)
        {
            foreach (string i in n.Inputs)
            {
                if (i.Length > 0)
                    uses[i] = uses.GetValueOrDefault(i) + 1;
            }
        }
        foreach (var o in graph.Outputs)
            uses[o.Name] = uses.GetValueOrDefault(o.Name) + 1;
        return uses;
    }
}
