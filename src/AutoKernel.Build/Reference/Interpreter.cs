using AutoKernel.Build.Graph;
using AutoKernel.Build.Limits;

namespace AutoKernel.Build.Reference;

/// <summary>
/// Runs a whole <see cref="ModelGraph"/> with <see cref="ReferenceKernels"/>: nodes in list order
/// (they are topologically sorted), each intermediate value released after its last reader.
/// <para>
/// It counts the bytes of the values it holds (initializers, inputs, intermediates; a storage array
/// shared by several values, as Reshape's, once) and refuses to run a node when those bytes plus
/// its outputs' would exceed the <see cref="MemoryBudget"/>: a one-line error naming the node,
/// instead of an out-of-memory crash. Kernels' own scratch buffers are not counted.
/// </para>
/// </summary>
public sealed class Interpreter
{
    /// <summary>Used when the graph does not declare a default-domain opset.</summary>
    public const int DefaultOpset = 25;

    private readonly ModelGraph graph;
    private readonly int opset;
    private readonly Dictionary<string, int> lastUse = new(StringComparer.Ordinal);
    private readonly HashSet<string> outputs;
    private readonly MemoryBudget budget;

    /// <param name="budget">The memory the run may hold at once (default: <see cref="MemoryBudget.Current"/>).</param>
    public Interpreter(ModelGraph graph, MemoryBudget? budget = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        this.graph = graph;
        this.budget = budget ?? MemoryBudget.Current;
        opset = graph.Opset > 0 ? graph.Opset : DefaultOpset;
        outputs = new HashSet<string>(graph.Outputs.Select(o => o.Name), StringComparer.Ordinal);
        for (int i = 0; i < graph.Nodes.Count; i++)
        {
            foreach (string input in graph.Nodes[i].Inputs)
            {
                if (input.Length > 0)
                    lastUse[input] = i;
            }
        }
    }

    /// <summary>The most bytes of values the last <see cref="Run"/> held at once (counting each node's outputs with its inputs).</summary>
    public long PeakBytes { get; private set; }

    /// <summary>Runs the graph on <paramref name="inputs"/> (by graph input name) and returns the graph outputs by name.</summary>
    public IReadOnlyDictionary<string, Tensor> Run(IReadOnlyDictionary<string, Tensor> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var values = new Dictionary<string, Tensor>(graph.Initializers, StringComparer.Ordinal);
        foreach (var (name, _) in inputs)
        {
            if (!graph.Inputs.Exists(i => i.Name == name))
                throw new ModelException($"'{name}' is not an input of the graph") { File = graph.SourcePath, Opset = opset };
        }
        foreach (var input in graph.Inputs)
        {
            if (inputs.TryGetValue(input.Name, out var t))
            {
                Check(input, t);
                values[input.Name] = t;
            }
            else if (!values.ContainsKey(input.Name))
            {
                throw new ModelException($"no value given for graph input '{input.Name}'") { File = graph.SourcePath, Opset = opset };
            }
        }
        var live = new LiveBytes();
        foreach (var v in values.Values)
            live.Add(v);
        PeakBytes = live.Bytes;
        if (live.Bytes > budget.LimitBytes)
            throw new ModelException($"the model's inputs and initializers need {MemoryBudget.Format(live.Bytes)}, more than {budget.Describe()}") { File = graph.SourcePath, Opset = opset, Kind = ModelErrorKind.MemoryLimit };

        for (int n = 0; n < graph.Nodes.Count; n++)
        {
            var node = graph.Nodes[n];
            var args = new Tensor?[node.Inputs.Count];
            for (int i = 0; i < args.Length; i++)
            {
                string name = node.Inputs[i];
                if (name.Length == 0)
                    continue;
                args[i] = values.TryGetValue(name, out var v) ? v
                    : throw new ModelException($"input '{name}' has no value (not computed before this node)") { Node = node, Opset = opset, File = graph.SourcePath };
            }
            long needed = OutputBytes(node);
            PeakBytes = Math.Max(PeakBytes, Math.Min(long.MaxValue / 2, live.Bytes + needed));
            if (live.Bytes + needed > budget.LimitBytes)
                throw new ModelException($"running it needs {MemoryBudget.Format(needed)} for its outputs while {MemoryBudget.Format(live.Bytes)} are held, more than {budget.Describe()}")
                { Node = node, Opset = opset, File = graph.SourcePath, Kind = ModelErrorKind.MemoryLimit };
            Tensor[] results;
            try
            {
                results = ReferenceKernels.Run(node, opset, args);
            }
            catch (ModelException e)
            {
                throw e.At(graph.SourcePath, opset);
            }
            for (int i = 0; i < node.Outputs.Count && i < results.Length; i++)
            {
                string name = node.Outputs[i];
                if (name.Length > 0 && (outputs.Contains(name) || lastUse.GetValueOrDefault(name, -1) > n))
                {
                    if (values.Remove(name, out var old))
                        live.Remove(old);
                    values[name] = results[i];
                    live.Add(results[i]);
                }
            }
            // Release values whose last reader was this node (graph outputs and initializers stay).
            foreach (string name in node.Inputs)
            {
                if (name.Length > 0 && lastUse[name] == n && !outputs.Contains(name) && !graph.Initializers.ContainsKey(name) && values.Remove(name, out var dead))
                    live.Remove(dead);
            }
        }

        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var output in graph.Outputs)
        {
            result[output.Name] = values.TryGetValue(output.Name, out var t) ? t
                : throw new ModelException($"graph output '{output.Name}' was not computed") { File = graph.SourcePath, Opset = opset };
        }
        return result;
    }

    /// <summary>Bytes of the node's outputs as the resolved graph types them (an unknown type counts nothing).</summary>
    private long OutputBytes(Node node)
    {
        long bytes = 0;
        foreach (string name in node.Outputs)
        {
            if (name.Length > 0 && graph.TypeOf(name) is { IsStatic: true } type)
                bytes = Math.Min(long.MaxValue / 2, bytes + MemoryBudget.BytesOf(type));
        }
        return bytes;
    }

    /// <summary>Bytes of the storage arrays held, each counted once however many values share it.</summary>
    private sealed class LiveBytes
    {
        private readonly Dictionary<Array, int> _holders = new(ReferenceEqualityComparer.Instance);

        public long Bytes { get; private set; }

        public void Add(Tensor t)
        {
            if (_holders.TryGetValue(t.Data, out int n))
            {
                _holders[t.Data] = n + 1;
                return;
            }
            _holders[t.Data] = 1;
            Bytes += MemoryBudget.BytesOf(t);
        }

        public void Remove(Tensor t)
        {
            if (!_holders.TryGetValue(t.Data, out int n))
                return;
            if (n > 1)
            {
                _holders[t.Data] = n - 1;
                return;
            }
            _holders.Remove(t.Data);
            Bytes -= MemoryBudget.BytesOf(t);
        }
    }

    private void Check(GraphValue input, Tensor t)
    {
        var type = input.Type;
        if (type.ElementType != DataType.Undefined && type.ElementType != t.Type)
            throw new ModelException($"graph input '{input.Name}' is {type.ElementType.Name()}, got {t.Type.Name()}") { File = graph.SourcePath };
        bool match = type.Rank == t.Rank;
        for (int i = 0; match && i < type.Rank; i++)
            match = type.Shape[i] < 0 || type.Shape[i] == t.Shape[i];
        if (!match)
            throw new ModelException($"graph input '{input.Name}' has shape {ShapeMath.Format(type.Shape)}, got {ShapeMath.Format(t.Shape)}") { File = graph.SourcePath };
    }
}
