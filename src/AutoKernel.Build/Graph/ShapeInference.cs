namespace AutoKernel.Build.Graph;

/// <summary>
/// Per-operator static shape and element-type inference. Every input shape handed in is static
/// and every output shape produced is static; operators whose output shape depends on data need
/// that data as a known constant. Bad models raise <see cref="ModelException"/> with the node and
/// opset filled in and a one-line message naming the operator and what is wrong.
/// </summary>
public static partial class ShapeInference
{
    private delegate TensorType?[] Rule(Ctx c);

    private static readonly Dictionary<string, Rule> OnnxRules = BuildOnnxRules();

    private static readonly Dictionary<string, Rule> FusedRules = new(StringComparer.Ordinal)
    {
        [FusedOps.FusedConv] = FusedConv,
        [FusedOps.FusedGemm] = FusedGemm,
        [FusedOps.FusedMatMul] = FusedMatMul,
    };

    /// <summary>The default-domain operators this class knows, for listings and diagnostics.</summary>
    public static IReadOnlyCollection<string> SupportedOnnxOperators => OnnxRules.Keys;

    /// <summary>True when <paramref name="opType"/> in <paramref name="domain"/> has a shape rule here.</summary>
    public static bool IsSupported(string domain, string opType) =>
        IsOnnxDomain(domain) ? OnnxRules.ContainsKey(opType)
        : domain == FusedOps.Domain && FusedRules.ContainsKey(opType);

    /// <summary>
    /// Output types of one node, one per node output name (node.Outputs.Count entries; an output named "" gets null).
    /// </summary>
    /// <param name="node">The node.</param>
    /// <param name="opset">Default-domain opset of the model.</param>
    /// <param name="inputs">The type of input i, null where the optional input is absent.</param>
    /// <param name="constants">The value of input i when it is a known constant, else null.</param>
    public static TensorType?[] Infer(Node node, int opset, TensorType?[] inputs, Tensor?[] constants)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(constants);

        Rule? rule = null;
        bool known = IsOnnxDomain(node.Domain) ? OnnxRules.TryGetValue(node.OpType, out rule)
            : node.Domain == FusedOps.Domain && FusedRules.TryGetValue(node.OpType, out rule);
        if (!known || rule is null)
        {
            string where = IsOnnxDomain(node.Domain) ? "" : $" in domain '{node.Domain}'";
            throw new ModelException($"operator {node.OpType}{where} is not supported") { Node = node, Opset = opset };
        }

        var c = new Ctx(node, opset, inputs, constants);
        TensorType?[] produced;
        try
        {
            produced = rule(c);
        }
        catch (ModelException e)
        {
            e.Node ??= node;
            if (e.Opset == 0)
                e.Opset = opset;
            throw;
        }
        catch (OverflowException e)
        {
            throw new ModelException($"{node.OpType} output shape is too large", e) { Node = node, Opset = opset };
        }
        catch (Exception e) when (e is ArgumentException or IndexOutOfRangeException or InvalidOperationException or InvalidCastException)
        {
            // Safety net: every rule validates its inputs, but a malformed model must never surface as a crash.
            throw new ModelException($"{node.OpType} has invalid inputs or attributes ({e.Message})", e) { Node = node, Opset = opset };
        }

        var result = new TensorType?[node.Outputs.Count];
        for (int i = 0; i < result.Length; i++)
        {
            if (node.Outputs[i].Length == 0)
                continue;
            if (i >= produced.Length || produced[i] is null)
                throw c.Fail($"{node.OpType} has {node.Outputs.Count} outputs, but at most {CountProduced(produced)} are supported");
            var t = produced[i]!;
            if (!t.IsStatic)
                throw c.Fail($"{node.OpType} output {i} has a non-static shape {ShapeMath.Format(t.Shape)}");
            result[i] = t;
        }
        return result;
    }

    private static int CountProduced(TensorType?[] produced)
    {
        int n = 0;
        while (n < produced.Length && produced[n] is not null)
            n++;
        return n;
    }

    private static bool IsOnnxDomain(string domain) => domain is "" or "ai.onnx";

    private static Dictionary<string, Rule> BuildOnnxRules()
    {
        var r = new Dictionary<string, Rule>(StringComparer.Ordinal);
        AddElementwiseRules(r);
        AddConvRules(r);
        AddTensorRules(r);
        AddReduceRules(r);
        return r;
    }

    /// <summary>The node being inferred, its inputs, and helpers that validate and fail with context.</summary>
    private sealed class Ctx(Node node, int opset, TensorType?[] inputs, Tensor?[] constants)
    {
        public Node Node { get; } = node;

        public int Opset { get; } = opset;

        public string Op => Node.OpType;

        public ModelException Fail(string message) => new(message) { Node = Node, Opset = Opset };

        /// <summary>Checks the number of input slots (absent optional ones count) is within range.</summary>
        public void InputCount(int min, int max)
        {
            int n = Node.Inputs.Count;
            while (n > min && Node.Inputs[n - 1].Length == 0)
                n--;
            if (n < min || n > max)
            {
                string expect = min == max ? $"{min}" : max == int.MaxValue ? $"at least {min}" : $"{min} to {max}";
                throw Fail($"{Op} expects {expect} inputs, got {n}");
            }
        }

        public bool Has(int i) => Node.HasInput(i);

        private string Describe(int i) => $"input {i} ('{Node.Input(i)}')";

        /// <summary>The type of a required input.</summary>
        public TensorType In(int i)
        {
            if (!Node.HasInput(i))
                throw Fail($"{Op} is missing required input {i}");
            var t = i < inputs.Length ? inputs[i] : null;
            if (t is null)
                throw Fail($"{Op} {Describe(i)} has no known type");
            if (!t.IsStatic)
                throw Fail($"{Op} {Describe(i)} has a non-static shape {ShapeMath.Format(t.Shape)}");
            return t;
        }

        /// <summary>The type of an optional input, null when absent.</summary>
        public TensorType? Opt(int i) => Node.HasInput(i) ? In(i) : null;

        /// <summary>The constant value of input i, or null (absent or computed at run time).</summary>
        public Tensor? ConstOrNull(int i) => Node.HasInput(i) && i < constants.Length ? constants[i] : null;

        /// <summary>The constant value of a present input; fails when it is computed at run time.</summary>
        public Tensor Const(int i, string what)
        {
            if (!Node.HasInput(i))
                throw Fail($"{Op} needs a {what} input");
            return ConstOrNull(i)
                ?? throw Fail($"{Op} needs a constant {what} input; '{Node.Input(i)}' is computed at run time");
        }

        /// <summary>A constant 1-D (or scalar) integer input as int64 values.</summary>
        public long[] ConstInts(int i, string what)
        {
            var t = Const(i, what);
            if (t.Type is not (DataType.Int64 or DataType.Int32))
                throw Fail($"{Op} {what} input must be int64, got {t.Type.Name()}");
            if (t.Rank > 1)
                throw Fail($"{Op} {what} input must be 1-D, got shape {ShapeMath.Format(t.Shape)}");
            return t.ToInt64Array();
        }

        /// <summary>A constant 1-D (or scalar) floating-point input.</summary>
        public double[] ConstFloats(int i, string what)
        {
            var t = Const(i, what);
            if (!t.Type.IsFloatingPoint())
                throw Fail($"{Op} {what} input must be float, got {t.Type.Name()}");
            if (t.Rank > 1)
                throw Fail($"{Op} {what} input must be 1-D, got shape {ShapeMath.Format(t.Shape)}");
            var r = new double[t.Length];
            for (int k = 0; k < r.Length; k++)
                r[k] = t.GetDouble(k);
            return r;
        }

        public long Int(string name, long defaultValue) => Node.GetInt(name, defaultValue);

        /// <summary>An int attribute restricted to 0 or 1.</summary>
        public bool Flag(string name, bool defaultValue)
        {
            long v = Node.GetInt(name, defaultValue ? 1 : 0);
            return v switch
            {
                0 => false,
                1 => true,
                _ => throw Fail($"{Op} attribute {name} must be 0 or 1, got {v}"),
            };
        }

        public string Str(string name, string defaultValue) => Node.GetString(name, defaultValue);

        public long[]? Ints(string name) => Node.GetInts(name);

        public float[]? Floats(string name) => Node.GetFloats(name);

        /// <summary>Normalizes an axis into [0, rank); fails when out of range.</summary>
        public int Axis(long axis, int rank, string what = "axis")
        {
            int a = ShapeMath.NormalizeAxis(axis, rank);
            if (a < 0)
                throw Fail($"{Op} {what} {axis} is out of range for rank {rank}");
            return a;
        }

        /// <summary>Normalizes a list of axes; fails on out-of-range or repeated axes.</summary>
        public int[] Axes(IReadOnlyList<long> axes, int rank, string what = "axes")
        {
            var result = new int[axes.Count];
            var seen = new bool[rank];
            for (int k = 0; k < result.Length; k++)
            {
                int a = ShapeMath.NormalizeAxis(axes[k], rank);
                if (a < 0)
                    throw Fail($"{Op} {what} value {axes[k]} is out of range for rank {rank}");
                if (seen[a])
                    throw Fail($"{Op} {what} [{string.Join(",", axes)}] repeat axis {a}");
                seen[a] = true;
                result[k] = a;
            }
            return result;
        }

        /// <summary>A dimension computed in 64 bits, checked to be a valid size.</summary>
        public int Dim(long value, string what)
        {
            if (value < 0)
                throw Fail($"{Op} {what} would be negative ({value})");
            if (value > int.MaxValue)
                throw Fail($"{Op} {what} is too large ({value})");
            return (int)value;
        }

        public void SameType(TensorType a, TensorType b, string what)
        {
            if (a.ElementType != b.ElementType)
                throw Fail($"{Op} {what} has type {b.ElementType.Name()} but expected {a.ElementType.Name()}");
        }

        public void FloatingPoint(TensorType t, string what = "input")
        {
            if (!t.ElementType.IsFloatingPoint())
                throw Fail($"{Op} needs a floating-point {what}, got {t.ElementType.Name()}");
        }

        public void Numeric(TensorType t, string what = "input")
        {
            if (t.ElementType == DataType.Bool)
                throw Fail($"{Op} does not accept a bool {what}");
        }

        public void Rank(TensorType t, int min, int max, string what = "input")
        {
            if (t.Rank >= min && t.Rank <= max)
                return;
            string expect = min == max ? $"a {min}-D" : max == int.MaxValue ? $"at least a {min}-D" : RankList(min, max);
            throw Fail($"{Op} expects {expect} {what}, got rank {t.Rank}");
        }

        private static string RankList(int min, int max)
        {
            var parts = Enumerable.Range(min, max - min + 1).Select(r => $"{r}-D").ToArray();
            return parts.Length == 2 ? $"a {parts[0]} or {parts[1]}" : $"a {string.Join(", ", parts[..^1])} or {parts[^1]}";
        }

        /// <summary>Multidirectional broadcast of two shapes, failing with both shapes in the message.</summary>
        public int[] Broadcast(int[] a, int[] b)
        {
            return ShapeMath.Broadcast(a, b)
                ?? throw Fail($"{Op} cannot broadcast {ShapeMath.Format(a)} with {ShapeMath.Format(b)}");
        }
    }

    private static TensorType T(DataType type, int[] shape) => new(type, shape);

    private static TensorType?[] One(TensorType t) => [t];

    private static string Fmt(int[] shape) => ShapeMath.Format(shape);

    private static string Fmt(IEnumerable<long> values) => "[" + string.Join(",", values) + "]";
}
