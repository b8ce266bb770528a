using System.Globalization;
using AutoKernel.Build.Graph.Passes;
using AutoKernel.Build.Limits;
using AutoKernel.Build.Reference;

namespace AutoKernel.Build.Graph;

/// <summary>
/// Makes an imported graph static: fixes the input shapes the user gave, infers every value's
/// type and shape, and folds every node whose inputs are all constant (Shape/Gather/Concat
/// chains, ConstantOfShape-made weights, Constant nodes). Folding and inference run in one walk
/// because data-dependent shapes (Reshape, Slice, Resize, ...) need the folded values.
/// </summary>
public static class GraphResolver
{
    /// <summary>Parses "name=1,3,224,224" as given to --input-shape.</summary>
    public static KeyValuePair<string, int[]> ParseInputShape(string text)
    {
        int eq = text.LastIndexOf('=');
        if (eq <= 0 || eq == text.Length - 1)
            throw new ModelException($"--input-shape '{text}' is not of the form name=d0,d1,...") { Kind = ModelErrorKind.InputShape };
        string name = text[..eq];
        string[] parts = text[(eq + 1)..].Split(',', StringSplitOptions.TrimEntries);
        var dims = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out dims[i]) || dims[i] <= 0)
                throw new ModelException($"--input-shape '{text}': dimension '{parts[i]}' is not a positive integer") { Kind = ModelErrorKind.InputShape };
        }
        return new(name, dims);
    }

    /// <summary>
    /// Resolves <paramref name="graph"/> in place. <paramref name="inputShapes"/> fixes dynamic
    /// input dimensions (and may restate static ones). Adds a "fold-constants" entry to the report,
    /// and a "fold-deferred" one when folds were left to run time. <paramref name="budget"/> defaults
    /// to <see cref="MemoryBudget.Current"/>.
    /// </summary>
    public static void Resolve(ModelGraph graph, IReadOnlyDictionary<string, int[]>? inputShapes = null, PassReport? report = null, MemoryBudget? budget = null)
    {
        budget ??= MemoryBudget.Current;
        try
        {
            CheckInitializers(graph, budget);
            ResolveInputs(graph, inputShapes ?? new Dictionary<string, int[]>(), budget);
            var deferred = new OpTally();
            var folded = Propagate(graph, budget, deferred);
            report?.AddCounts("fold-constants", "folded", folded);
            if (deferred.Count > 0)
                report?.AddCounts("fold-deferred", "left to run time", deferred);
        }
        catch (ModelException e)
        {
            throw e.At(graph.SourcePath, graph.Opset);
        }
    }

    /// <summary>The initializers (already read, each within the budget) must also fit together.</summary>
    private static void CheckInitializers(ModelGraph graph, MemoryBudget budget)
    {
        long total = 0;
        foreach (var t in graph.Initializers.Values)
            total = Math.Min(long.MaxValue / 2, total + MemoryBudget.BytesOf(t));
        budget.CheckBytes(string.Create(CultureInfo.InvariantCulture, $"the model's {graph.Initializers.Count} initializers"), total);
    }

    private static void ResolveInputs(ModelGraph graph, IReadOnlyDictionary<string, int[]> inputShapes, MemoryBudget budget)
    {
        foreach (string name in inputShapes.Keys)
        {
            if (!graph.Inputs.Exists(i => i.Name == name))
                throw new ModelException($"--input-shape names '{name}', which is not a graph input (inputs: {string.Join(", ", graph.Inputs.Select(i => i.Name))})") { Kind = ModelErrorKind.InputShape };
        }
        for (int k = 0; k < graph.Inputs.Count; k++)
        {
            var input = graph.Inputs[k];
            var declared = input.Type.Shape;
            if (inputShapes.TryGetValue(input.Name, out int[]? given))
            {
                if (given.Length != declared.Length)
                    throw new ModelException($"--input-shape {input.Name}={string.Join(",", given)} has rank {given.Length}, but the model declares {ShapeMath.Format(declared)}") { Kind = ModelErrorKind.InputShape };
                for (int d = 0; d < given.Length; d++)
                {
                    if (declared[d] >= 0 && declared[d] != given[d])
                        throw new ModelException($"--input-shape {input.Name}={string.Join(",", given)} conflicts with the model's static shape {ShapeMath.Format(declared)} at dimension {d}") { Kind = ModelErrorKind.InputShape };
                }
                input = input with { Type = input.Type with { Shape = given } };
                graph.Inputs[k] = input;
            }
            else if (!input.Type.IsStatic)
            {
                string dims = string.Join(",", declared.Select((d, i) => d >= 0 ? d.ToString(CultureInfo.InvariantCulture) : input.DimParams.ElementAtOrDefault(i) ?? "?"));
                string example = string.Join(",", declared.Select(d => d >= 0 ? d : 1));
                throw new ModelException($"input '{input.Name}' has dynamic shape [{dims}]; fix it with --input-shape {input.Name}={example}") { Kind = ModelErrorKind.InputShape };
            }
            budget.CheckValue($"input '{input.Name}'", input.Type);
            graph.ValueTypes[input.Name] = input.Type;
        }
    }

    private static OpTally Propagate(ModelGraph graph, MemoryBudget budget, OpTally deferred)
    {
        var folded = new OpTally();
        var kept = new List<Node>(graph.Nodes.Count);
        int opset = graph.Opset;
        foreach (var node in graph.Nodes)
        {
            if (!ModelPipeline.IsSupported(node.Domain, node.OpType))
                throw new ModelException($"operator {node.OpType} is not supported") { Node = node, Opset = opset, Kind = ModelErrorKind.Unsupported };

            var types = new TensorType?[node.Inputs.Count];
            var constants = new Tensor?[node.Inputs.Count];
            bool allConstant = true;
            for (int i = 0; i < node.Inputs.Count; i++)
            {
                string name = node.Inputs[i];
                if (name.Length == 0)
                    continue;
                graph.Initializers.TryGetValue(name, out constants[i]);
                types[i] = graph.TypeOf(name) ?? throw new ModelException($"input '{name}' has no known type") { Node = node, Opset = opset };
                allConstant &= constants[i] is not null;
            }
            if (opset < 7 && LegacyBroadcastOps.Contains(node.OpType))
                NormalizeLegacyBroadcast(graph, node, types, constants, kept);
            if (opset < 7 && node.OpType == "PRelu")
                NormalizeLegacyPRelu(graph, node, types, constants);

            // Shape and Size of a statically shaped value are constants, whatever the value.
            if (node.Domain.Length == 0 && node.OpType is "Shape" or "Size" && types.Length == 1 && types[0] is { IsStatic: true } known)
            {
                var value = ShapeValue(node, known, opset);
                graph.Initializers[node.Outputs[0]] = value;
                graph.ValueTypes[node.Outputs[0]] = TensorType.Of(value);
                folded.Tally(node.OpType);
                continue;
            }

            TensorType?[]? inferred = null;
            if (allConstant && IsFoldable(node))
            {
                inferred = InferForFold(node, opset, types, constants);
                if (inferred is not null)
                    CheckOutputs(node, opset, inferred, budget);
                if (inferred is null || FitsFold(inferred, constants, budget))
                {
                    Tensor[] values = ReferenceKernels.Run(node, opset, constants);
                    if (inferred is null)
                        CheckOutputs(node, opset, [.. values.Select(TensorType.Of)], budget);
                    for (int o = 0; o < node.Outputs.Count; o++)
                    {
                        if (node.Outputs[o].Length == 0)
                            continue;
                        if (o >= values.Length)
                            throw new ModelException($"produced {values.Length} outputs, but the node names {node.Outputs.Count}") { Node = node, Opset = opset };
                        graph.Initializers[node.Outputs[o]] = values[o];
                        graph.ValueTypes[node.Outputs[o]] = TensorType.Of(values[o]);
                    }
                    folded.Tally(node.OpType);
                    continue;
                }
                deferred.Tally(node.OpType);
            }

            var outputs = inferred ?? ShapeInference.Infer(node, opset, types, constants);
            for (int o = 0; o < node.Outputs.Count; o++)
            {
                if (node.Outputs[o].Length == 0)
                    continue;
                var t = o < outputs.Length ? outputs[o] : null;
                if (t is null || !t.IsStatic)
                    throw new ModelException($"output '{node.Outputs[o]}' has no static shape") { Node = node, Opset = opset };
                graph.ValueTypes[node.Outputs[o]] = t;
            }
            CheckOutputs(node, opset, outputs, budget);
            kept.Add(node);
        }
        graph.Nodes.Clear();
        graph.Nodes.AddRange(kept);
        CheckOutputs(graph);
        return folded;
    }

    /// <summary>
    /// The output types of an all-constant node, inferred before folding it; null when inference
    /// cannot tell (the fold then runs as before, and the kernel reports what is wrong).
    /// </summary>
    private static TensorType?[]? InferForFold(Node node, int opset, TensorType?[] types, Tensor?[] constants)
    {
        try
        {
            var outputs = ShapeInference.Infer(node, opset, types, constants);
            for (int o = 0; o < node.Outputs.Count; o++)
            {
                if (node.Outputs[o].Length > 0 && (o >= outputs.Length || outputs[o] is not { IsStatic: true }))
                    return null;
            }
            return outputs;
        }
        catch (ModelException)
        {
            return null;
        }
    }

    /// <summary>
    /// A fold may run when each output is within the fold limit, or has no more elements than the
    /// node's largest constant input: the file already holds that much, so a Transpose, Cast or
    /// Slice of a big weight still folds, while an output that outgrows its inputs (ConstantOfShape,
    /// Range, Expand, Tile, a broadcast) cannot be made to grow without bound along a chain.
    /// </summary>
    private static bool FitsFold(TensorType?[] outputs, Tensor?[] constants, MemoryBudget budget)
    {
        long largestInput = constants.Max(c => (long?)c?.Length) ?? 0;
        foreach (var t in outputs)
        {
            if (t is null)
                continue;
            if (MemoryBudget.BytesOf(t) > budget.FoldLimitBytes && MemoryBudget.ElementsOf(t.Shape) > largestInput)
                return false;
        }
        return true;
    }

    /// <summary>Each output must be a tensor AutoKernel can hold, within the budget on its own.</summary>
    private static void CheckOutputs(Node node, int opset, TensorType?[] outputs, MemoryBudget budget)
    {
        for (int o = 0; o < node.Outputs.Count && o < outputs.Length; o++)
        {
            if (node.Outputs[o].Length == 0 || outputs[o] is not { } t)
                continue;
            try
            {
                budget.CheckValue($"output '{node.Outputs[o]}'", t);
            }
            catch (ModelException e)
            {
                e.Node = node;
                e.Opset = opset;
                throw;
            }
        }
    }

    /// <summary>Binary operators that took 'broadcast' and 'axis' attributes before opset 7.</summary>
    private static readonly HashSet<string> LegacyBroadcastOps = new(StringComparer.Ordinal)
    {
        "Add", "Sub", "Mul", "Div", "Pow", "And", "Or", "Xor", "Equal", "Greater", "Less",
    };

    /// <summary>
    /// Before opset 7, B broadcast onto A only with broadcast=1, aligned at 'axis' (default: the
    /// trailing dimensions). Rewrites B to the equivalent numpy-broadcast shape by appending unit
    /// dimensions (reshaping a constant, or inserting a Reshape), then drops the legacy attributes.
    /// </summary>
    private static void NormalizeLegacyBroadcast(ModelGraph graph, Node node, TensorType?[] types, Tensor?[] constants, List<Node> kept)
    {
        bool broadcast = node.GetInt("broadcast", 0) == 1;
        long axisAttr = node.GetInt("axis", long.MinValue);
        node.Attributes.Remove("broadcast");
        node.Attributes.Remove("axis");
        if (!broadcast || types.Length < 2 || types[0] is not { } a || types[1] is not { } b)
            return;
        long axis = axisAttr == long.MinValue ? a.Rank - b.Rank : axisAttr < 0 ? axisAttr + a.Rank : axisAttr;
        int trailing = a.Rank - (int)axis - b.Rank;
        if (axis < 0 || trailing < 0)
            throw new ModelException($"legacy broadcast of {b} onto {a} at axis {axisAttr} is out of range") { Node = node, Opset = graph.Opset };
        if (trailing == 0)
            return;
        int[] shape = [.. b.Shape, .. Enumerable.Repeat(1, trailing)];
        string aligned = UniqueName(graph, $"{node.Inputs[1]}_aligned");
        if (constants[1] is { } c)
        {
            constants[1] = c.Reshape(shape);
            graph.Initializers[aligned] = constants[1]!;
        }
        else
        {
            string shapeName = UniqueName(graph, $"{aligned}_shape");
            graph.Initializers[shapeName] = Tensor.Vector([.. shape.Select(d => (long)d)]);
            kept.Add(new Node($"{node.Name}_align", "Reshape", [node.Inputs[1], shapeName], [aligned]));
        }
        types[1] = b with { Shape = shape };
        graph.ValueTypes[aligned] = types[1]!;
        node.Inputs[1] = aligned;
    }

    /// <summary>
    /// Before opset 7, PRelu's slope was one value or one per channel (axis 1), not broadcast
    /// numpy-style: a [C] slope on an [N, C, ...] input becomes [C, 1, ...].
    /// </summary>
    private static void NormalizeLegacyPRelu(ModelGraph graph, Node node, TensorType?[] types, Tensor?[] constants)
    {
        if (types.Length < 2 || types[0] is not { Rank: > 2 } x || types[1] is not { Rank: 1 } slope || slope.Shape[0] != x.Shape[1] || slope.Shape[0] == 1)
            return;
        if (constants[1] is not { } c)
            throw new ModelException("a per-channel slope computed at run time is not supported before opset 7") { Node = node, Opset = graph.Opset };
        int[] shape = [c.Length, .. Enumerable.Repeat(1, x.Rank - 2)];
        string aligned = UniqueName(graph, $"{node.Inputs[1]}_per_channel");
        constants[1] = c.Reshape(shape);
        graph.Initializers[aligned] = constants[1]!;
        types[1] = slope with { Shape = shape };
        node.Inputs[1] = aligned;
    }

    /// <summary>The value of Shape (with opset 15's start/end slice) or Size for a known type.</summary>
    private static Tensor ShapeValue(Node node, TensorType type, int opset)
    {
        if (node.OpType == "Size")
            return Tensor.Scalar(type.ElementCount);
        int rank = type.Rank;
        long start = opset >= 15 ? node.GetInt("start", 0) : 0;
        long end = opset >= 15 ? node.GetInt("end", rank) : rank;
        var (from, to) = ShapeMath.ShapeRange(start, end, rank);
        return Tensor.Vector([.. type.Shape[from..to].Select(d => (long)d)]);
    }

    /// <summary>A value name not yet used in the graph, based on <paramref name="stem"/>.</summary>
    internal static string UniqueName(ModelGraph graph, string stem)
    {
        string name = stem;
        for (int k = 1; graph.Initializers.ContainsKey(name) || graph.ValueTypes.ContainsKey(name); k++)
            name = string.Create(CultureInfo.InvariantCulture, $"{stem}_{k}");
        return name;
    }

    /// <summary>
    /// Every deterministic node with constant inputs folds. Nothing AutoKernel supports is
    /// random, so that is all of them; the hook stays for ops like RandomNormal.
    /// </summary>
    private static bool IsFoldable(Node node) => node.OpType is not ("RandomNormal" or "RandomUniform" or "RandomNormalLike" or "RandomUniformLike" or "Multinomial");

    private static void CheckOutputs(ModelGraph graph)
    {
        for (int k = 0; k < graph.Outputs.Count; k++)
        {
            var output = graph.Outputs[k];
            var actual = graph.TypeOf(output.Name) ?? throw new ModelException($"graph output '{output.Name}' has no inferred type");
            var declared = output.Type;
            bool conflict = declared.ElementType != DataType.Undefined && declared.ElementType != actual.ElementType;
            if (declared.Shape.Length > 0)
            {
                conflict |= declared.Shape.Length != actual.Shape.Length;
                for (int d = 0; !conflict && d < declared.Shape.Length; d++)
                    conflict |= declared.Shape[d] >= 0 && declared.Shape[d] != actual.Shape[d];
            }
            if (conflict)
                throw new ModelException($"graph output '{output.Name}' is declared {declared} but computes {actual} (shape mismatch)");
            graph.Outputs[k] = output with { Type = actual };
        }
    }
}
