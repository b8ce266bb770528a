using System.Globalization;
using System.Runtime.CompilerServices;
using AutoKernel.Build.Graph;

namespace AutoKernel.Build.Reference;

/// <summary>
/// One kernel invocation: the node, the model's default-domain opset and the input tensors, with
/// validating accessors. Every problem is reported through <see cref="Fail"/> so that it carries the
/// node and opset.
/// </summary>
internal sealed class OpContext(Node node, int opset, Tensor?[] inputs)
{
    public Node Node { get; } = node;

    public int Opset { get; } = opset;

    public string Op => Node.OpType;

    public int InputCount => inputs.Length;

    public ModelException Fail(string message) => new(message) { Node = Node, Opset = Opset };

    /// <summary>Interpolated messages are formatted with the invariant culture.</summary>
    public ModelException Fail(ref InvariantString message) => Fail(message.ToStringAndClear());

    /// <summary>The input at <paramref name="index"/>, or null when absent.</summary>
    public Tensor? Optional(int index) => index < inputs.Length ? inputs[index] : null;

    /// <summary>A required input.</summary>
    public Tensor Input(int index) =>
        Optional(index) ?? throw Fail(string.Create(CultureInfo.InvariantCulture, $"{Op} is missing required input {index}"));

    /// <summary>A required input of one of the given element types.</summary>
    public Tensor Input(int index, params DataType[] types)
    {
        var t = Input(index);
        CheckType(t, index, types);
        return t;
    }

    public Tensor? Optional(int index, params DataType[] types)
    {
        var t = Optional(index);
        if (t is not null)
            CheckType(t, index, types);
        return t;
    }

    public void CheckType(Tensor t, int index, DataType[] types)
    {
        if (Array.IndexOf(types, t.Type) < 0)
            throw Fail(string.Create(CultureInfo.InvariantCulture, $"{Op} does not support {t.Type.Name()} input {index}"));
    }

    /// <summary>A required float input.</summary>
    public Tensor Float(int index) => Input(index, DataType.Float);

    /// <summary>Requires <paramref name="t"/> to have rank <paramref name="rank"/>.</summary>
    public void CheckRank(Tensor t, int rank, string what = "input")
    {
        if (t.Rank != rank)
            throw Fail(string.Create(CultureInfo.InvariantCulture, $"{Op} expects {rank}-D {what}, got {ShapeMath.Format(t.Shape)}"));
    }

    /// <summary>Normalizes an axis attribute or input value against <paramref name="rank"/>.</summary>
    public int Axis(long axis, int rank)
    {
        int a = ShapeMath.NormalizeAxis(axis, rank);
        if (a < 0)
            throw Fail(string.Create(CultureInfo.InvariantCulture, $"{Op} axis {axis} is out of range for rank {rank}"));
        return a;
    }

    /// <summary>An integer input holding a shape-like vector (int32 or int64), as int64 values.</summary>
    public long[] Int64s(Tensor t, string what)
    {
        if (t.Type is not (DataType.Int64 or DataType.Int32))
            throw Fail($"{Op} {what} must be int64, got {t.Type.Name()}");
        if (t.Rank > 1)
            throw Fail($"{Op} {what} must be 1-D, got {ShapeMath.Format(t.Shape)}");
        return t.ToInt64Array();
    }

    /// <summary>A scalar (or 1-element) input as a double.</summary>
    public double ScalarValue(Tensor t, string what)
    {
        if (t.Length != 1)
            throw Fail($"{Op} {what} must be a scalar, got {ShapeMath.Format(t.Shape)}");
        return t.GetDouble(0);
    }

    /// <summary>Rejects an attribute that became an input in <paramref name="sinceOpset"/>.</summary>
    public void Replaced(string attribute, int sinceOpset)
    {
        if (Opset >= sinceOpset && Node.Has(attribute))
            throw Fail(string.Create(CultureInfo.InvariantCulture, $"{Op} attribute '{attribute}' is an input from opset {sinceOpset} on"));
    }

    public long Int(string name, long defaultValue) => Node.GetInt(name, defaultValue);

    public float FloatAttr(string name, float defaultValue) => Node.GetFloat(name, defaultValue);

    public string String(string name, string defaultValue) => Node.GetString(name, defaultValue);

    public long[]? Ints(string name) => Node.GetInts(name);

    /// <summary>An int attribute that must fit in an int.</summary>
    public int SmallInt(string name, long defaultValue)
    {
        long v = Int(name, defaultValue);
        if (v < int.MinValue || v > int.MaxValue)
            throw Fail(string.Create(CultureInfo.InvariantCulture, $"{Op} attribute '{name}' value {v} is out of range"));
        return (int)v;
    }

    /// <summary>Checks a dimension value computed from model data and narrows it to int.</summary>
    public int Dim(long value, string what)
    {
        if (value < 0 || value > int.MaxValue)
            throw Fail(string.Create(CultureInfo.InvariantCulture, $"{Op} {what} {value} is not a valid dimension"));
        return (int)value;
    }

    /// <summary>Element count of a shape, failing when it is too large for one tensor.</summary>
    public int Count(int[] shape)
    {
        long n = 1;
        foreach (int d in shape)
        {
            n *= d;
            if (n > Array.MaxLength)
                throw Fail($"{Op} output shape {ShapeMath.Format(shape)} is too large");
        }
        return (int)n;
    }
}

/// <summary>An interpolated string formatted with <see cref="CultureInfo.InvariantCulture"/>.</summary>
[InterpolatedStringHandler]
internal ref struct InvariantString
{
    private DefaultInterpolatedStringHandler inner;

    public InvariantString(int literalLength, int formattedCount) =>
        inner = new DefaultInterpolatedStringHandler(literalLength, formattedCount, CultureInfo.InvariantCulture);

    public void AppendLiteral(string value) => inner.AppendLiteral(value);

    public void AppendFormatted<T>(T value) => inner.AppendFormatted(value);

    public void AppendFormatted<T>(T value, string? format) => inner.AppendFormatted(value, format);

    public void AppendFormatted(string? value) => inner.AppendFormatted(value);

    public string ToStringAndClear() => inner.ToStringAndClear();
}
