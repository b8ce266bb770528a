using System.Globalization;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Onnx.Proto;
using Google.Protobuf;

namespace AutoKernel.Build.Onnx;

/// <summary>
/// One dimension of a graph input or output shape: a fixed size, a named symbolic size
/// (ONNX dim_param), or unknown. Ints and strings convert implicitly, so shapes can be written
/// as <c>1, 3, 32, 32</c> or <c>"N", 3, 32, 32</c>; a negative size means unknown.
/// </summary>
public readonly record struct Dim
{
    private Dim(long? value, string? param)
    {
        Value = value;
        Param = param;
    }

    /// <summary>The fixed size, or null for a symbolic or unknown dimension.</summary>
    public long? Value { get; }

    /// <summary>The symbolic name (dim_param), or null.</summary>
    public string? Param { get; }

    public static Dim Unknown => new(null, null);

    public static Dim Fixed(long value) => value < 0 ? Unknown : new Dim(value, null);

    public static Dim Symbolic(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return new Dim(null, name);
    }

    public static implicit operator Dim(int value) => Fixed(value);

    public static implicit operator Dim(long value) => Fixed(value);

    public static implicit operator Dim(string name) => Symbolic(name);

    public override string ToString() =>
        Value is long v ? v.ToString(CultureInfo.InvariantCulture) : Param ?? "?";
}

/// <summary>Collects the attributes of one node; every method returns the builder for chaining.</summary>
public sealed class AttributeBuilder
{
    private readonly NodeProto _node;

    internal AttributeBuilder(NodeProto node) => _node = node;

    public AttributeBuilder Int(string name, long value) =>
        Add(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value });

    public AttributeBuilder Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.Add(values);
        return Add(a);
    }

    public AttributeBuilder Float(string name, float value) =>
        Add(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value });

    public AttributeBuilder Floats(string name, params float[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Floats };
        a.Floats.Add(values);
        return Add(a);
    }

    public AttributeBuilder String(string name, string value) =>
        Add(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) });

    public AttributeBuilder Tensor(string name, Tensor value) =>
        Add(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Tensor, T = TensorProtos.FromTensor(value, name) });

    private AttributeBuilder Add(AttributeProto attribute)
    {
        ArgumentException.ThrowIfNullOrEmpty(attribute.Name);
        foreach (var existing in _node.Attribute)
        {
            if (existing.Name == attribute.Name)
                throw new ArgumentException($"attribute '{attribute.Name}' is set twice on node '{_node.Name}'");
        }
        _node.Attribute.Add(attribute);
        return this;
    }
}

/// <summary>
/// A small fluent builder for ONNX models, for tests, samples and the model zoo. Values are
/// referred to by name; every node input must already be defined (a graph input, an
/// initializer or an earlier node's output), so the nodes come out in topological order.
/// </summary>
public sealed class ModelBuilder
{
    private readonly ModelProto _model;
    private readonly GraphProto _graph;
    private readonly HashSet<string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _nodeNames = new(StringComparer.Ordinal);
    private readonly HashSet<string> _outputs = new(StringComparer.Ordinal);
    private int _autoNode;

    public ModelBuilder(string graphName, int opset = 17, long irVersion = 8, string producer = "AutoKernel")
    {
        ArgumentException.ThrowIfNullOrEmpty(graphName);
        ArgumentOutOfRangeException.ThrowIfLessThan(opset, 1);
        _graph = new GraphProto { Name = graphName };
        _model = new ModelProto
        {
            IrVersion = irVersion,
            ProducerName = producer,
            ProducerVersion = typeof(ModelBuilder).Assembly.GetName().Version?.ToString() ?? "",
            Graph = _graph,
        };
        _model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        Opset = opset;
    }

    /// <summary>The default-domain opset the model imports.</summary>
    public int Opset { get; }

    /// <summary>True when <paramref name="name"/> is already a value of the graph.</summary>
    public bool Has(string name) => _values.Contains(name);

    /// <summary>Imports an extra operator set, for nodes of a custom domain.</summary>
    public ModelBuilder ImportOpset(string domain, long version)
    {
        foreach (var o in _model.OpsetImport)
        {
            if (o.Domain == domain)
                throw new ArgumentException($"opset domain '{domain}' is already imported");
        }
        _model.OpsetImport.Add(new OperatorSetIdProto { Domain = domain, Version = version });
        return this;
    }

    /// <summary>Adds a graph input of the given type and shape; returns its name.</summary>
    public string Input(string name, DataType type, params Dim[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        Define(name);
        _graph.Input.Add(ValueInfo(name, type, shape));
        return name;
    }

    /// <summary>Adds a graph input with a fixed shape; returns its name.</summary>
    public string Input(string name, DataType type, int[] shape) =>
        Input(name, type, shape.Select(d => (Dim)d).ToArray());

    /// <summary>Adds a constant initializer; returns its name.</summary>
    public string Initializer(string name, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return Initializer(TensorProtos.FromTensor(tensor, name));
    }

    /// <summary>Adds a float initializer; returns its name.</summary>
    public string Initializer(string name, float[] data, params int[] shape) =>
        Initializer(name, Tensor.FromFloats(shape, data));

    /// <summary>Adds a ready-made TensorProto as an initializer (its name must be set); returns its name.</summary>
    public string Initializer(TensorProto tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        Define(tensor.Name);
        _graph.Initializer.Add(tensor);
        return tensor.Name;
    }

    /// <summary>
    /// Adds a node with one output and returns the output's name: <paramref name="output"/> when
    /// given, otherwise a unique name derived from the node's name. Pass "" as an input to leave an
    /// optional input out.
    /// </summary>
    public string Node(string opType, IReadOnlyList<string> inputs, Action<AttributeBuilder>? attributes = null,
        string? name = null, string? output = null, string domain = "") =>
        AddNode(opType, inputs, 1, attributes, name, output is null ? null : [output], domain)[0];

    /// <summary>Adds a node with <paramref name="outputs"/> outputs and returns their names.</summary>
    public string[] Node(string opType, IReadOnlyList<string> inputs, int outputs, Action<AttributeBuilder>? attributes = null,
        string? name = null, IReadOnlyList<string>? outputNames = null, string domain = "") =>
        AddNode(opType, inputs, outputs, attributes, name, outputNames, domain);

    /// <summary>
    /// Marks a value as a graph output. Without <paramref name="shape"/> the output's shape is left
    /// unknown; the element type defaults to float.
    /// </summary>
    public string Output(string name, DataType type = DataType.Float, Dim[]? shape = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!_values.Contains(name))
            throw new ArgumentException($"output '{name}' is not a value of the graph");
        if (!_outputs.Add(name))
            throw new ArgumentException($"'{name}' is already a graph output");
        _graph.Output.Add(ValueInfo(name, type, shape));
        return name;
    }

    /// <summary>The model. The builder keeps building into the same instance, so later additions show up in it.</summary>
    public ModelProto Build()
    {
        if (_graph.Output.Count == 0)
            throw new InvalidOperationException($"model '{_graph.Name}' has no outputs");
        return _model;
    }

    /// <summary>The serialized model.</summary>
    public byte[] ToBytes() => Build().ToByteArray();

    /// <summary>Writes the model to <paramref name="path"/> atomically.</summary>
    public void Save(string path) => ModelFiles.SaveAtomically(Build(), path);

    private string[] AddNode(string opType, IReadOnlyList<string> inputs, int outputs, Action<AttributeBuilder>? attributes,
        string? name, IReadOnlyList<string>? outputNames, string domain)
    {
        ArgumentException.ThrowIfNullOrEmpty(opType);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentOutOfRangeException.ThrowIfLessThan(outputs, 1);
        if (outputNames is not null && outputNames.Count != outputs)
            throw new ArgumentException($"{opType} node has {outputs} outputs but {outputNames.Count} output names were given");

        string nodeName = name ?? UniqueNodeName(opType);
        if (!_nodeNames.Add(nodeName))
            throw new ArgumentException($"node name '{nodeName}' is used twice");
        var node = new NodeProto { OpType = opType, Name = nodeName, Domain = domain };
        foreach (string input in inputs)
        {
            ArgumentNullException.ThrowIfNull(input, nameof(inputs));
            if (input.Length != 0 && !_values.Contains(input))
                throw new ArgumentException($"input '{input}' of node '{nodeName}' ({opType}) is not defined yet");
            node.Input.Add(input);
        }
        var result = new string[outputs];
        for (int i = 0; i < outputs; i++)
        {
            string o = outputNames?[i] ?? UniqueValueName($"{nodeName}_output_{i}");
            Define(o);
            result[i] = o;
            node.Output.Add(o);
        }
        attributes?.Invoke(new AttributeBuilder(node));
        _graph.Node.Add(node);
        return result;
    }

    private void Define(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!_values.Add(name))
            throw new ArgumentException($"value name '{name}' is defined twice");
    }

    private string UniqueNodeName(string opType)
    {
        string candidate;
        do
        {
            candidate = string.Create(CultureInfo.InvariantCulture, $"{opType}_{_autoNode++}");
        }
        while (_nodeNames.Contains(candidate));
        return candidate;
    }

    private string UniqueValueName(string wanted)
    {
        if (!_values.Contains(wanted))
            return wanted;
        for (int k = 1; ; k++)
        {
            string candidate = string.Create(CultureInfo.InvariantCulture, $"{wanted}_{k}");
            if (!_values.Contains(candidate))
                return candidate;
        }
    }

    private static ValueInfoProto ValueInfo(string name, DataType type, Dim[]? shape)
    {
        if (type == DataType.Undefined)
            throw new ArgumentException($"value '{name}' needs an element type");
        var tensorType = new TypeProto.Types.Tensor { ElemType = (int)type };
        if (shape is not null)
        {
            var s = new TensorShapeProto();
            foreach (var d in shape)
            {
                var dim = new TensorShapeProto.Types.Dimension();
                if (d.Value is long v)
                    dim.DimValue = v;
                else if (d.Param is string p)
                    dim.DimParam = p;
                s.Dim.Add(dim);
            }
            tensorType.Shape = s;
        }
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensorType } };
    }
}

/// <summary>Writing model files safely.</summary>
public static class ModelFiles
{
    /// <summary>
    /// Writes <paramref name="model"/> to <paramref name="path"/> atomically: the bytes go to a
    /// temporary file in the same folder, which is flushed and then renamed over the target. On
    /// failure the temporary file is deleted and an existing target is left untouched.
    /// </summary>
    public static void SaveAtomically(ModelProto model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        WriteAtomically(path, stream => model.WriteTo(stream));
    }

    /// <summary>Writes whatever <paramref name="write"/> puts in the stream to <paramref name="path"/> atomically.</summary>
    public static void WriteAtomically(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{path}' has no folder", nameof(path));
        string temp = Path.Combine(directory, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try
            {
                File.Delete(temp);
            }
            catch (IOException)
            {
                // best effort: the original exception matters more
            }
            catch (UnauthorizedAccessException)
            {
            }
            throw;
        }
    }
}
