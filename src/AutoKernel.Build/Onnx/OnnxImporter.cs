using System.Globalization;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Onnx.Proto;
using Google.Protobuf;

namespace AutoKernel.Build.Onnx;

/// <summary>Reads an ONNX ModelProto into a <see cref="ModelGraph"/>.</summary>
public static class OnnxImporter
{
    /// <summary>Default-domain opsets AutoKernel implements. Older models must be converted first.</summary>
    public const int MinOpset = 6;

    /// <summary>
    /// The newest default-domain opset whose operator semantics AutoKernel implements. Opsets 23 to 25
    /// changed no supported operator for the element types AutoKernel runs (they added float4, float8e8m0
    /// and 2-bit types, and Cast's round_mode for float8e8m0).
    /// </summary>
    public const int MaxOpset = 25;

    /// <summary>Reads and imports a model file. Every problem is a <see cref="ModelException"/> naming the file.</summary>
    public static ModelGraph Load(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelException($"cannot read model: {e.Message}") { File = path };
        }
        return Import(Parse(bytes, path), path, Path.GetDirectoryName(Path.GetFullPath(path)));
    }

    public static ModelProto Parse(byte[] bytes, string path)
    {
        if (bytes.Length == 0)
            throw new ModelException("file is empty, not an ONNX model") { File = path };
        try
        {
            return ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ModelException($"not a valid ONNX model (protobuf: {e.Message.TrimEnd('.')})") { File = path };
        }
    }

    /// <summary>
    /// Converts a parsed model. <paramref name="modelDirectory"/> resolves external tensor data;
    /// pass null for an in-memory model.
    /// </summary>
    public static ModelGraph Import(ModelProto model, string sourcePath, string? modelDirectory)
    {
        var g = new ModelGraph { SourcePath = sourcePath };
        try
        {
            ImportInto(g, model, modelDirectory);
        }
        catch (ModelException e)
        {
            throw e.At(sourcePath, g.Opset);
        }
        return g;
    }

    private static void ImportInto(ModelGraph g, ModelProto model, string? modelDirectory)
    {
        if (model.Graph is null || (model.Graph.Node.Count == 0 && model.Graph.Output.Count == 0))
            throw new ModelException("model has no graph (is this an ONNX file?)");
        ReadOpsets(g, model);
        var graph = model.Graph;
        g.Name = graph.Name;

        foreach (var init in graph.Initializer)
        {
            if (string.IsNullOrEmpty(init.Name))
                throw new ModelException("an initializer has no name");
            g.Initializers[init.Name] = TensorProtos.ToTensor(init, modelDirectory);
        }

        var inputNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var input in graph.Input)
        {
            // ONNX's checker (and so ONNX Runtime) requires single assignment: one name, one input.
            if (!string.IsNullOrEmpty(input.Name) && !inputNames.Add(input.Name))
                throw new ModelException($"graph input '{input.Name}' is listed more than once");
            // Models from IR version < 4 also list initializers as graph inputs; those are constants.
            if (g.Initializers.ContainsKey(input.Name))
                continue;
            g.Inputs.Add(ReadValue(input, "input"));
        }
        foreach (var output in graph.Output)
            g.Outputs.Add(ReadValue(output, "output", allowUnknownShape: true));

        var nodes = new List<Node>(graph.Node.Count);
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < graph.Node.Count; i++)
        {
            nodes.Add(ReadNode(graph.Node[i], i, names, OpsetFor(g, graph.Node[i].Domain)));
        }
        g.Nodes.AddRange(TopologicalOrder(g, nodes));
    }

    private static void ReadOpsets(ModelGraph g, ModelProto model)
    {
        foreach (var op in model.OpsetImport)
            g.Opsets[op.Domain == "ai.onnx" ? "" : op.Domain] = (int)Math.Clamp(op.Version, 0, int.MaxValue);
        if (!g.Opsets.TryGetValue("", out int opset))
        {
            // IR version 1-2 models carried no opset_import; ONNX treats them as opset 1.
            throw new ModelException("model imports no default-domain opset (opset_import is empty)");
        }
        if (opset < MinOpset || opset > MaxOpset)
            throw new ModelException($"opset {opset} is not supported; AutoKernel supports default-domain opsets {MinOpset} to {MaxOpset} (convert the model with onnx.version_converter)") { Opset = opset, Kind = ModelErrorKind.Unsupported };
    }

    private static int OpsetFor(ModelGraph g, Node node) => OpsetFor(g, node.Domain);

    private static int OpsetFor(ModelGraph g, string domain) =>
        g.Opsets.TryGetValue(domain == "ai.onnx" ? "" : domain, out int v) ? v : 0;

    private static GraphValue ReadValue(ValueInfoProto info, string role, bool allowUnknownShape = false)
    {
        if (string.IsNullOrEmpty(info.Name))
            throw new ModelException($"a graph {role} has no name");
        if (info.Type is null || info.Type.ValueCase != TypeProto.ValueOneofCase.TensorType)
        {
            if (allowUnknownShape)
                return new GraphValue(info.Name, new TensorType(DataType.Undefined, []));
            throw new ModelException($"graph {role} '{info.Name}' is not a tensor");
        }
        var tt = info.Type.TensorType;
        if (!DataTypes.IsSupported(tt.ElemType))
        {
            if (allowUnknownShape && tt.ElemType == 0)
                return new GraphValue(info.Name, new TensorType(DataType.Undefined, []));
            throw new ModelException($"graph {role} '{info.Name}' has element type {DataTypes.OnnxName(tt.ElemType)}, which AutoKernel does not support") { Kind = ModelErrorKind.Unsupported };
        }
        if (tt.Shape is null)
        {
            if (allowUnknownShape)
                return new GraphValue(info.Name, new TensorType((DataType)tt.ElemType, []));
            throw new ModelException($"graph {role} '{info.Name}' has no shape; give one with --input-shape {info.Name}=...") { Kind = ModelErrorKind.InputShape };
        }
        var shape = new int[tt.Shape.Dim.Count];
        var dimParams = new string?[shape.Length];
        for (int i = 0; i < shape.Length; i++)
        {
            var dim = tt.Shape.Dim[i];
            if (dim.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && dim.DimValue >= 0 && dim.DimValue <= int.MaxValue)
            {
                shape[i] = (int)dim.DimValue;
            }
            else
            {
                shape[i] = -1;
                dimParams[i] = dim.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam && dim.DimParam.Length > 0
                    ? dim.DimParam
                    : "?";
            }
        }
        return new GraphValue(info.Name, new TensorType((DataType)tt.ElemType, shape)) { DimParams = dimParams };
    }

    private static Node ReadNode(NodeProto proto, int index, HashSet<string> names, int opset)
    {
        string name = proto.Name;
        if (string.IsNullOrEmpty(name) || !names.Add(name))
        {
            // Unnamed (or duplicate) nodes get a readable, unique name for messages.
            name = string.Create(CultureInfo.InvariantCulture, $"{proto.OpType}_{index}");
            while (!names.Add(name))
                name += "_";
        }
        var node = new Node(name, proto.OpType, proto.Input, proto.Output, proto.Domain);
        if (string.IsNullOrEmpty(proto.OpType))
            throw new ModelException("node has no op_type") { Node = node };
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var attr in proto.Attribute)
        {
            CheckAttribute(attr, node, opset);
            if (!seen.Add(attr.Name))
                throw new ModelException($"attribute '{attr.Name}' is given more than once") { Node = node, Opset = opset };
        }
        if (node.Domain is not ("" or "ai.onnx"))
            throw new ModelException($"operator domain '{node.Domain}' is not supported") { Node = node, Opset = opset, Kind = ModelErrorKind.Unsupported };
        OperatorSchemas.Validate(node, proto.Attribute, opset);
        foreach (var attr in proto.Attribute)
            node.Set(ReadAttribute(attr, node));
        return node;
    }

    /// <summary>
    /// The checks ONNX's checker makes on every attribute, whatever the operator: a name, a type,
    /// and no value outside the field that type names (a second value is always in another field).
    /// ONNX Runtime refuses a model that fails them.
    /// </summary>
    private static void CheckAttribute(AttributeProto a, Node node, int opset)
    {
        if (a.Name.Length == 0)
            throw new ModelException("an attribute has no name") { Node = node, Opset = opset };
        if (a.Type == AttributeProto.Types.AttributeType.Undefined)
            throw new ModelException($"attribute '{a.Name}' has no type (its type is UNDEFINED; ONNX requires one)") { Node = node, Opset = opset };

        // proto3 cannot tell a scalar set to 0 from an unset one, so a zero scalar counts as absent:
        // this refuses only what ONNX Runtime, which sees proto2's field presence, refuses too.
        string? field = null;
        Use(a.F != 0, "f", AttributeProto.Types.AttributeType.Float);
        Use(a.I != 0, "i", AttributeProto.Types.AttributeType.Int);
        Use(!a.S.IsEmpty, "s", AttributeProto.Types.AttributeType.String);
        Use(a.T is not null, "t", AttributeProto.Types.AttributeType.Tensor);
        Use(a.G is not null, "g", AttributeProto.Types.AttributeType.Graph);
        Use(a.Floats.Count > 0, "floats", AttributeProto.Types.AttributeType.Floats);
        Use(a.Ints.Count > 0, "ints", AttributeProto.Types.AttributeType.Ints);
        Use(a.Strings.Count > 0, "strings", AttributeProto.Types.AttributeType.Strings);
        Use(a.Tensors.Count > 0, "tensors", AttributeProto.Types.AttributeType.Tensors);
        if (field is not null)
            throw new ModelException($"attribute '{a.Name}' has type {OperatorSchemas.TypeName(a.Type)} but holds a value in field '{field}'") { Node = node, Opset = opset };

        void Use(bool present, string name, AttributeProto.Types.AttributeType type)
        {
            if (present && type != a.Type)
                field ??= name;
        }
    }

    private static NodeAttribute ReadAttribute(AttributeProto a, Node node) => a.Type switch
    {
        AttributeProto.Types.AttributeType.Float => NodeAttribute.Float(a.Name, a.F),
        AttributeProto.Types.AttributeType.Int => NodeAttribute.Int(a.Name, a.I),
        AttributeProto.Types.AttributeType.String => NodeAttribute.String(a.Name, a.S.ToStringUtf8()),
        AttributeProto.Types.AttributeType.Tensor => NodeAttribute.FromTensor(a.Name, WithNode(() => TensorProtos.ToTensor(a.T ?? throw new ModelException($"attribute '{a.Name}' has type tensor but holds none")), node)),
        AttributeProto.Types.AttributeType.Floats => NodeAttribute.FloatList(a.Name, [.. a.Floats]),
        AttributeProto.Types.AttributeType.Ints => NodeAttribute.IntList(a.Name, [.. a.Ints]),
        AttributeProto.Types.AttributeType.Strings => NodeAttribute.StringList(a.Name, [.. a.Strings.Select(s => s.ToStringUtf8())]),
        _ => throw new ModelException($"attribute '{a.Name}' has type {OperatorSchemas.TypeName(a.Type)}, which AutoKernel does not support (subgraphs and sparse tensors are not)") { Node = node, Kind = ModelErrorKind.Unsupported },
    };

    private static T WithNode<T>(Func<T> read, Node node)
    {
        try
        {
            return read();
        }
        catch (ModelException e) when (e.Node is null)
        {
            e.Node = node;
            throw;
        }
    }

    /// <summary>
    /// Orders nodes so each comes after the producers of its inputs (ONNX requires this already;
    /// the check catches broken files). An input that nothing defines is an error naming the node.
    /// </summary>
    private static List<Node> TopologicalOrder(ModelGraph g, List<Node> nodes)
    {
        var producer = new Dictionary<string, Node>(StringComparer.Ordinal);
        foreach (var n in nodes)
        {
            foreach (string o in n.Outputs)
            {
                if (o.Length == 0)
                    continue;
                if (!producer.TryAdd(o, n) || g.Initializers.ContainsKey(o) || g.Inputs.Exists(i => i.Name == o))
                    throw new ModelException($"value '{o}' is defined more than once") { Node = n, Opset = OpsetFor(g, n) };
            }
        }
        foreach (var n in nodes)
        {
            foreach (string i in n.Inputs)
            {
                if (i.Length > 0 && !producer.ContainsKey(i) && !g.Initializers.ContainsKey(i) && !g.Inputs.Exists(v => v.Name == i))
                    throw new ModelException($"input '{i}' is not a graph input, an initializer or any node's output (missing initializer?)") { Node = n, Opset = OpsetFor(g, n) };
            }
        }
        foreach (var o in g.Outputs)
        {
            if (!producer.ContainsKey(o.Name) && !g.Initializers.ContainsKey(o.Name) && !g.Inputs.Exists(v => v.Name == o.Name))
                throw new ModelException($"graph output '{o.Name}' is not produced by any node");
        }

        // Kahn's algorithm, stable with respect to the file's order.
        var order = new List<Node>(nodes.Count);
        var state = new Dictionary<Node, int>(ReferenceEqualityComparer.Instance); // 1 = visiting, 2 = done
        foreach (var n in nodes)
            Visit(n);
        return order;

        void Visit(Node start)
        {
            var stack = new Stack<(Node Node, int Next)>();
            if (state.ContainsKey(start))
                return;
            stack.Push((start, 0));
            state[start] = 1;
            while (stack.Count > 0)
            {
                var (n, next) = stack.Pop();
                if (next < n.Inputs.Count)
                {
                    stack.Push((n, next + 1));
                    if (producer.TryGetValue(n.Inputs[next], out var p))
                    {
                        if (!state.TryGetValue(p, out int s))
                        {
                            state[p] = 1;
                            stack.Push((p, 0));
                        }
                        else if (s == 1)
                        {
                            throw new ModelException("the graph has a cycle") { Node = p, Opset = OpsetFor(g, p) };
                        }
                    }
                }
                else
                {
                    state[n] = 2;
                    order.Add(n);
                }
            }
        }
    }
}
