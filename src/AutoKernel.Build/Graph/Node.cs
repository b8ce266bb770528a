using System.Globalization;

namespace AutoKernel.Build.Graph;

public enum AttributeKind
{
    Float,
    Int,
    String,
    Tensor,
    Floats,
    Ints,
    Strings,
}

/// <summary>A node attribute. Exactly the field that matches <see cref="Kind"/> is meaningful.</summary>
public sealed record NodeAttribute(string Name, AttributeKind Kind)
{
    public float F { get; init; }
    public long I { get; init; }
    public string S { get; init; } = "";
    public Tensor? T { get; init; }
    public float[] Floats { get; init; } = [];
    public long[] Ints { get; init; } = [];
    public string[] Strings { get; init; } = [];

    public static NodeAttribute Float(string name, float value) => new(name, AttributeKind.Float) { F = value };
    public static NodeAttribute Int(string name, long value) => new(name, AttributeKind.Int) { I = value };
    public static NodeAttribute String(string name, string value) => new(name, AttributeKind.String) { S = value };
    public static NodeAttribute FromTensor(string name, Tensor value) => new(name, AttributeKind.Tensor) { T = value };
    public static NodeAttribute FloatList(string name, float[] value) => new(name, AttributeKind.Floats) { Floats = value };
    public static NodeAttribute IntList(string name, long[] value) => new(name, AttributeKind.Ints) { Ints = value };
    public static NodeAttribute StringList(string name, string[] value) => new(name, AttributeKind.Strings) { Strings = value };

    public override string ToString() => Kind switch
    {
        AttributeKind.Float => F.ToString(CultureInfo.InvariantCulture),
        AttributeKind.Int => I.ToString(CultureInfo.InvariantCulture),
        AttributeKind.String => S,
        AttributeKind.Tensor => T?.ToString() ?? "tensor",
        AttributeKind.Floats => "[" + string.Join(",", Floats.Select(f => f.ToString(CultureInfo.InvariantCulture))) + "]",
        AttributeKind.Ints => "[" + string.Join(",", Ints) + "]",
        AttributeKind.Strings => "[" + string.Join(",", Strings) + "]",
        _ => Kind.ToString(),
    };
}

/// <summary>
/// One operator application. Edges are value names, as in ONNX: an empty input name is an
/// omitted optional input.
/// </summary>
public sealed class Node
{
    public Node(string name, string opType, IEnumerable<string> inputs, IEnumerable<string> outputs, string domain = "")
    {
        Name = name;
        OpType = opType;
        Domain = domain;
        Inputs = [.. inputs];
        Outputs = [.. outputs];
    }

    public string Name { get; set; }

    public string OpType { get; set; }

    /// <summary>"" for the default ONNX domain ("ai.onnx"), <see cref="FusedOps.Domain"/> for AutoKernel's fused ops.</summary>
    public string Domain { get; set; }

    public List<string> Inputs { get; }

    public List<string> Outputs { get; }

    public Dictionary<string, NodeAttribute> Attributes { get; } = new(StringComparer.Ordinal);

    /// <summary>The input name at <paramref name="index"/>, or "" when the optional input is absent.</summary>
    public string Input(int index) => index < Inputs.Count ? Inputs[index] : "";

    public bool HasInput(int index) => Input(index).Length > 0;

    public bool Has(string attribute) => Attributes.ContainsKey(attribute);

    public Node Set(NodeAttribute attribute)
    {
        Attributes[attribute.Name] = attribute;
        return this;
    }

    public long GetInt(string name, long defaultValue) =>
        Attributes.TryGetValue(name, out var a) ? Expect(a, AttributeKind.Int).I : defaultValue;

    public float GetFloat(string name, float defaultValue) =>
        Attributes.TryGetValue(name, out var a) ? Expect(a, AttributeKind.Float).F : defaultValue;

    public string GetString(string name, string defaultValue) =>
        Attributes.TryGetValue(name, out var a) ? Expect(a, AttributeKind.String).S : defaultValue;

    public long[]? GetInts(string name) =>
        Attributes.TryGetValue(name, out var a) ? Expect(a, AttributeKind.Ints).Ints : null;

    public float[]? GetFloats(string name) =>
        Attributes.TryGetValue(name, out var a) ? Expect(a, AttributeKind.Floats).Floats : null;

    public Tensor? GetTensor(string name) =>
        Attributes.TryGetValue(name, out var a) ? Expect(a, AttributeKind.Tensor).T : null;

    /// <summary>A shallow copy with its own input, output and attribute collections.</summary>
    public Node Clone()
    {
        var copy = new Node(Name, OpType, Inputs, Outputs, Domain);
        foreach (var (k, v) in Attributes)
            copy.Attributes[k] = v;
        return copy;
    }

    public override string ToString() => $"node '{Name}' ({OpType})";

    private NodeAttribute Expect(NodeAttribute a, AttributeKind kind) =>
        a.Kind == kind ? a : throw new ModelException($"attribute '{a.Name}' is {a.Kind.ToString().ToLowerInvariant()}, expected {kind.ToString().ToLowerInvariant()}") { Node = this };
}
