using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using AutoKernel.Generator.Kernels.Fixed;

namespace AutoKernel.Generator.Kernels;

/// <summary>
/// An untuned operator with static shapes, everything its kernel needs in plain values so that it
/// serializes exactly: the op type, the logical (standard-layout) shapes of the kernel inputs and
/// output, the channel block (0 = standard row-major; b &gt;= 1 = NCHW[b]c for the computed 4-D
/// inputs and the output, initializer inputs listed in the "constant_inputs" attribute stay
/// standard) and attributes as invariant-culture text (ints "1,2,3", floats in round-trip form).
/// Equality is by value over all fields.
/// </summary>
public sealed class FixedOp : IEquatable<FixedOp>
{
    private readonly int[][] _inputs;

    public FixedOp(string opType, IReadOnlyList<int[]> inputs, int[] output, int block,
                   IEnumerable<KeyValuePair<string, string>>? attributes = null)
    {
        OpType = opType ?? throw new ArgumentNullException(nameof(opType));
        if (inputs is null)
            throw new ArgumentNullException(nameof(inputs));
        _inputs = inputs.Select(s => (int[])(s ?? throw new ArgumentNullException(nameof(inputs))).Clone()).ToArray();
        Output = (int[])(output ?? throw new ArgumentNullException(nameof(output))).Clone();
        if (block < 0)
            throw new ArgumentOutOfRangeException(nameof(block));
        Block = block;
        var list = (attributes ?? Enumerable.Empty<KeyValuePair<string, string>>())
            .Select(kv => new KeyValuePair<string, string>(kv.Key ?? throw new ArgumentException("null attribute name"), kv.Value ?? ""))
            .OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        for (int i = 1; i < list.Count; i++)
        {
            if (string.Equals(list[i - 1].Key, list[i].Key, StringComparison.Ordinal))
                throw new ArgumentException($"attribute '{list[i].Key}' is given twice", nameof(attributes));
        }
        Attributes = list;
    }

    public string OpType { get; }

    /// <summary>Logical (standard-layout) shapes of the kernel's inputs, in kernel order.</summary>
    public IReadOnlyList<int[]> Inputs => _inputs;

    /// <summary>Logical output shape.</summary>
    public int[] Output { get; }

    public int Block { get; }

    /// <summary>Sorted by key (ordinal), unique keys.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Attributes { get; }

    public bool Has(string name) => Find(name) is not null;

    public string? GetString(string name) => Find(name);

    public string GetString(string name, string defaultValue) => Find(name) ?? defaultValue;

    public int GetInt(string name, int defaultValue) =>
        Find(name) is string s ? int.Parse(s, NumberStyles.Integer, CultureInfo.InvariantCulture) : defaultValue;

    public float GetFloat(string name, float defaultValue) => Find(name) is string s ? ParseFloat(s) : defaultValue;

    /// <summary>The int list attribute, empty when absent.</summary>
    public int[] GetInts(string name) =>
        Find(name) is string s && s.Length > 0
            ? s.Split(',').Select(v => int.Parse(v, NumberStyles.Integer, CultureInfo.InvariantCulture)).ToArray()
            : new int[0];

    /// <summary>The float list attribute, empty when absent.</summary>
    public float[] GetFloats(string name) =>
        Find(name) is string s && s.Length > 0 ? s.Split(',').Select(ParseFloat).ToArray() : new float[0];

    /// <summary>Invariant text of an int list ("1,2,3").</summary>
    public static string Ints(IEnumerable<int> values) =>
        string.Join(",", values.Select(v => v.ToString(CultureInfo.InvariantCulture)));

    /// <summary>Round-trip invariant text of a float ("0.1", "Infinity", "-Infinity", "NaN").</summary>
    public static string Float(float value) =>
        float.IsPositiveInfinity(value) ? "Infinity"
        : float.IsNegativeInfinity(value) ? "-Infinity"
        : float.IsNaN(value) ? "NaN"
        : value.ToString("R", CultureInfo.InvariantCulture);

    public static string Floats(IEnumerable<float> values) => string.Join(",", values.Select(Float));

    public static float ParseFloat(string s) => s switch
    {
        "Infinity" => float.PositiveInfinity,
        "-Infinity" => float.NegativeInfinity,
        "NaN" => float.NaN,
        _ => float.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture),
    };

    private string? Find(string name)
    {
        foreach (var kv in Attributes)
        {
            if (string.Equals(kv.Key, name, StringComparison.Ordinal))
                return kv.Value;
        }
        return null;
    }

    public bool Equals(FixedOp? other) =>
        other is not null
        && OpType == other.OpType && Block == other.Block
        && Output.SequenceEqual(other.Output)
        && _inputs.Length == other._inputs.Length && _inputs.Zip(other._inputs, (a, b) => a.SequenceEqual(b)).All(x => x)
        && Attributes.Count == other.Attributes.Count
        && Attributes.Zip(other.Attributes, (a, b) => a.Key == b.Key && a.Value == b.Value).All(x => x);

    public override bool Equals(object? obj) => obj is FixedOp o && Equals(o);

    public override int GetHashCode()
    {
        unchecked
        {
            int h = StringComparer.Ordinal.GetHashCode(OpType) * 31 + Block;
            foreach (int[] s in _inputs)
                h = h * 31 + Hash(s);
            h = h * 31 + Hash(Output);
            foreach (var kv in Attributes)
                h = (h * 31 + StringComparer.Ordinal.GetHashCode(kv.Key)) * 31 + StringComparer.Ordinal.GetHashCode(kv.Value);
            return h;
        }
    }

    private static int Hash(int[] s)
    {
        unchecked
        {
            int h = s.Length;
            foreach (int d in s)
                h = h * 17 + d;
            return h;
        }
    }

    public override string ToString() =>
        OpType + " " + string.Join(" ", Inputs.Select(FixedEmit.Shape)) + " -> " + FixedEmit.Shape(Output)
        + (Block > 0 ? " block " + Block.ToString(CultureInfo.InvariantCulture) : "")
        + string.Concat(Attributes.Select(kv => " " + kv.Key + "=" + (kv.Value.Length > 40 ? kv.Value.Substring(0, 40) + "..." : kv.Value)));
}

/// <summary>
/// Emits C# for <see cref="FixedOp"/>s: one public sealed unsafe class implementing
/// AutoKernel.Runtime.Kernels.IFixedKernel. Each operator family lives in Kernels/Fixed.
/// </summary>
public static class FixedKernels
{
    private static readonly (Func<FixedOp, bool> Supports, Action<CodeWriter, FixedOp, CpuTarget> Emit)[] Families =
    {
        (DataMovement.Supports, DataMovement.Emit),
        (Elementwise.Supports, Elementwise.Emit),
        (Pooling.Supports, Pooling.Emit),
        (Reduction.Supports, Reduction.Emit),
        (Softmax.Supports, Softmax.Emit),
        (Normalization.Supports, Normalization.Emit),
        (ResizeKernels.Supports, ResizeKernels.Emit),
        (MatMul.Supports, MatMul.Emit),
        (Convolution.Supports, Convolution.Emit),
    };

    public static bool Supports(FixedOp op)
    {
        if (op is null)
            throw new ArgumentNullException(nameof(op));
        try
        {
            return FixedEmit.ValidLayout(op) && Families.Any(f => f.Supports(op));
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            return false;
        }
    }

    public static string Emit(FixedOp op, CpuTarget target, string ns, string className)
    {
        if (!Supports(op))
            throw new ArgumentException($"no fixed kernel for {op}", nameof(op));
        var family = Families.First(f => f.Supports(op));
        return FixedEmit.Class(op, ns, className, w => family.Emit(w, op, target));
    }
}
