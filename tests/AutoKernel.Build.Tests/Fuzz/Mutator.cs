using System.Globalization;
using AutoKernel.Build.Onnx.Proto;
using Google.Protobuf;

namespace AutoKernel.Build.Tests.Fuzz;

/// <summary>
/// One fuzz case: the model file's bytes, the files written beside it (external data), extra
/// command-line arguments, and a readable description of every mutation applied, for the report.
/// </summary>
public sealed record FuzzCase(int Seed, int Index, string SeedModel, byte[] Model, IReadOnlyDictionary<string, byte[]> Files,
    IReadOnlyList<string> ExtraArgs, IReadOnlyList<string> Mutations)
{
    /// <summary>"seed:index", what AUTOKERNEL_FUZZ_CASE takes to replay the case.</summary>
    public string Id => string.Create(CultureInfo.InvariantCulture, $"{Seed}:{Index}");

    public string Describe() => $"case {Id} on {SeedModel}: {string.Join("; ", Mutations)}";
}

/// <summary>
/// Makes fuzz cases from the seed models. A case is a pure function of (seed, index): the same pair
/// always gives the same bytes, so any failure replays with AUTOKERNEL_FUZZ_CASE=seed:index.
/// About a third of the cases mutate the serialized bytes (bit flips, truncation, inserted or deleted
/// bytes, corrupted varints); the rest mutate the parsed ModelProto one to three times (dims, element
/// types, attributes, names, opsets, initializer data, external data, node order, cycles, operator
/// types, constant values, input shapes on the command line).
/// </summary>
public static class Mutator
{
    /// <summary>The name of the model file a case writes.</summary>
    public const string ModelFileName = "model.onnx";

    /// <summary>Extreme and edge values for dims, attribute ints and int64 constants.</summary>
    private static readonly long[] EdgeInts =
    [
        0, 1, -1, 2, 3, -2, 7, 100, 1 << 20, int.MaxValue, (long)int.MaxValue + 1, 1L << 32, -(1L << 31) - 1,
        int.MinValue, long.MaxValue, long.MinValue, long.MaxValue - 1, 1L << 40, -100, 1 << 16, 46341,
    ];

    private static readonly float[] EdgeFloats =
    [
        0f, -0f, 1f, -1f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.MaxValue, float.MinValue,
        float.Epsilon, 1e-30f, 1e30f, 0.5f, 3.5f, -7f, 2147483648f, 1e10f,
    ];

    /// <summary>Attribute names that some supported operator reads.</summary>
    private static readonly string[] AttributeNames =
    [
        "axis", "axes", "perm", "pads", "strides", "kernel_shape", "dilations", "group", "mode", "keepdims", "epsilon",
        "alpha", "beta", "gamma", "to", "value", "split", "starts", "ends", "blocksize", "ceil_mode", "count_include_pad",
        "transA", "transB", "auto_pad", "output_padding", "output_shape", "coordinate_transformation_mode", "nearest_mode",
        "cubic_coeff_a", "exclude_outside", "extrapolation_value", "size", "bias", "storage_order", "allowzero",
        "noop_with_empty_axes", "select_last_index", "min", "max", "scales", "stash_type", "training_mode", "momentum",
        "num_outputs", "antialias", "keep_aspect_ratio_policy", "fmod", "direction", "ratio", "seed",
    ];

    private static readonly string[] StringValues =
    [
        "", "nearest", "linear", "cubic", "constant", "reflect", "edge", "wrap", "CRD", "DCR", "SAME_UPPER", "SAME_LOWER", "VALID",
        "NOTSET", "half_pixel", "align_corners", "asymmetric", "pytorch_half_pixel", "tf_crop_and_resize", "floor", "ceil",
        "round_prefer_floor", "bogus", "\0", new string('x', 300),
    ];

    private static readonly string[] OpTypes =
    [
        "Relu", "Add", "Mul", "Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "Gemm", "MatMul",
        "BatchNormalization", "InstanceNormalization", "LayerNormalization", "LRN", "Softmax", "LogSoftmax", "Resize",
        "Upsample", "Reshape", "Flatten", "Transpose", "Concat", "Split", "Slice", "Pad", "Squeeze", "Unsqueeze", "Gather",
        "Shape", "Size", "Cast", "Constant", "ConstantOfShape", "Expand", "Tile", "Range", "DepthToSpace", "SpaceToDepth",
        "ReduceMean", "ReduceSum", "ReduceMax", "ReduceProd", "Where", "Clip", "PRelu", "Pow", "Dropout", "Identity", "Not",
        "Equal", "And", "Sum", "Max", "Mean", "Min", "Sigmoid", "Exp", "Div", "Sub", "Erf", "FancyOp", "",
    ];

    public static FuzzCase Create(int seed, int index)
    {
        var rng = new Random(Mix(seed, index));
        var seeds = SeedModels.All;
        var seedModel = seeds[rng.Next(seeds.Count)];
        var state = new State(rng, seedModel.Model.Clone());
        if (rng.Next(3) == 0)
        {
            byte[] bytes = state.Model.ToByteArray();
            int n = 1 + (rng.Next(4) == 0 ? rng.Next(4) : 0);
            for (int i = 0; i < n; i++)
                bytes = MutateBytes(rng, bytes, state.Mutations);
            return new FuzzCase(seed, index, seedModel.Name, bytes, state.Files, state.Args, state.Mutations);
        }
        if (rng.Next(2) == 0)
        {
            // Declared output and intermediate shapes would reject most shape changes as a mismatch
            // before any shape rule or kernel runs; without them the change flows through the graph.
            foreach (var o in state.Graph.Output)
            {
                if (o.Type?.TensorType is { } tensorType)
                    tensorType.Shape = null;
            }
            state.Graph.ValueInfo.Clear();
            state.Note("output shapes cleared");
        }
        int count = 1 + rng.Next(3);
        for (int i = 0; i < count; i++)
            MutateStructure(state);
        return new FuzzCase(seed, index, seedModel.Name, state.Model.ToByteArray(), state.Files, state.Args, state.Mutations);
    }

    private static int Mix(int seed, int index)
    {
        ulong h = (uint)seed * 0x9E3779B97F4A7C15UL ^ (uint)index * 0xC2B2AE3D27D4EB4FUL;
        h ^= h >> 29;
        h *= 0xBF58476D1CE4E5B9UL;
        h ^= h >> 32;
        return (int)(h & 0x7FFFFFFF);
    }

    private sealed class State(Random rng, ModelProto model)
    {
        public Random Rng { get; } = rng;
        public ModelProto Model { get; } = model;
        public Dictionary<string, byte[]> Files { get; } = new(StringComparer.Ordinal);
        public List<string> Args { get; } = [];
        public List<string> Mutations { get; } = [];
        public GraphProto Graph => Model.Graph;

        public void Note(string text) => Mutations.Add(text);

        public T Pick<T>(IReadOnlyList<T> items) => items[Rng.Next(items.Count)];
    }

    // ---------------------------------------------------------------- byte level

    private static byte[] MutateBytes(Random rng, byte[] bytes, List<string> notes)
    {
        if (bytes.Length == 0)
        {
            notes.Add("bytes: insert into empty");
            return [(byte)rng.Next(256)];
        }
        switch (rng.Next(8))
        {
            case 0:
            {
                int flips = 1 + rng.Next(8);
                var copy = (byte[])bytes.Clone();
                var at = new List<string>();
                var varints = WireFormat.Varints(copy, 5000);
                for (int i = 0; i < flips; i++)
                {
                    int p = varints.Count > 0 && rng.Next(2) == 0 ? varints[rng.Next(varints.Count)].Offset : rng.Next(copy.Length);
                    int bit = rng.Next(8);
                    copy[p] ^= (byte)(1 << bit);
                    at.Add(string.Create(CultureInfo.InvariantCulture, $"{p}.{bit}"));
                }
                notes.Add($"bytes: flip bits {string.Join(",", at)}");
                return copy;
            }
            case 1:
            {
                int keep = rng.Next(bytes.Length);
                notes.Add(string.Create(CultureInfo.InvariantCulture, $"bytes: truncate to {keep} of {bytes.Length}"));
                return bytes[..keep];
            }
            case 2:
            {
                int p = rng.Next(bytes.Length + 1);
                int n = 1 + rng.Next(16);
                var insert = new byte[n];
                rng.NextBytes(insert);
                notes.Add(string.Create(CultureInfo.InvariantCulture, $"bytes: insert {n} random bytes at {p}"));
                return [.. bytes[..p], .. insert, .. bytes[p..]];
            }
            case 3:
            {
                int p = rng.Next(bytes.Length);
                int n = 1 + rng.Next(Math.Min(64, bytes.Length - p));
                notes.Add(string.Create(CultureInfo.InvariantCulture, $"bytes: delete {n} at {p}"));
                return [.. bytes[..p], .. bytes[(p + n)..]];
            }
            case 4:
            {
                int p = rng.Next(bytes.Length);
                int n = 1 + rng.Next(Math.Min(32, bytes.Length - p));
                var copy = (byte[])bytes.Clone();
                byte fill = rng.Next(2) == 0 ? (byte)0xFF : (byte)0x00;
                Array.Fill(copy, fill, p, n);
                notes.Add(string.Create(CultureInfo.InvariantCulture, $"bytes: fill {n} at {p} with 0x{fill:X2}"));
                return copy;
            }
            case 5:
            {
                int p = rng.Next(bytes.Length);
                int n = 1 + rng.Next(Math.Min(256, bytes.Length - p));
                int to = rng.Next(bytes.Length + 1);
                notes.Add(string.Create(CultureInfo.InvariantCulture, $"bytes: copy {n} from {p} to {to}"));
                return [.. bytes[..to], .. bytes.AsSpan(p, n), .. bytes[to..]];
            }
            default:
                return CorruptVarint(rng, bytes, notes);
        }
    }

    private static readonly ulong[] VarintValues =
    [
        0, 1, 0x7F, 0x80, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x100000000, long.MaxValue, ulong.MaxValue,
        unchecked((ulong)-2L), unchecked((ulong)(long)int.MinValue),
    ];

    private static byte[] CorruptVarint(Random rng, byte[] bytes, List<string> notes)
    {
        var varints = WireFormat.Varints(bytes);
        if (varints.Count == 0)
        {
            notes.Add("bytes: no varint found, truncate by one");
            return bytes[..^1];
        }
        var v = varints[rng.Next(varints.Count)];
        byte[] replacement;
        string what;
        switch (rng.Next(4))
        {
            case 0:
                // An unterminated varint: every byte has the continuation bit.
                replacement = Enumerable.Repeat((byte)0xFF, v.Length + rng.Next(11)).ToArray();
                what = "unterminated";
                break;
            case 1:
                // The same value with redundant continuation bytes (valid but overlong), or overlong past 10 bytes.
                replacement = [.. bytes.AsSpan(v.Offset, v.Length)];
                int extra = 1 + rng.Next(10);
                replacement[^1] |= 0x80;
                replacement = [.. replacement, .. Enumerable.Repeat((byte)0x80, extra - 1), 0x00];
                what = $"overlong by {extra}";
                break;
            case 2 when v.Role == WireFormat.VarintRole.LengthPrefix:
            {
                ulong old = Decode(bytes, v.Offset);
                long delta = rng.Next(2) == 0 ? rng.Next(1, 9) : -rng.Next(1, 9);
                ulong value = (ulong)Math.Max(0, (long)old + delta);
                replacement = WireFormat.Encode(value);
                what = string.Create(CultureInfo.InvariantCulture, $"length {old} -> {value}");
                break;
            }
            default:
            {
                ulong value = VarintValues[rng.Next(VarintValues.Length)];
                replacement = WireFormat.Encode(value);
                what = string.Create(CultureInfo.InvariantCulture, $"value -> {value}");
                break;
            }
        }
        notes.Add(string.Create(CultureInfo.InvariantCulture, $"bytes: varint ({v.Role}) at {v.Offset} {what}"));
        return [.. bytes[..v.Offset], .. replacement, .. bytes[(v.Offset + v.Length)..]];
    }

    private static ulong Decode(byte[] b, int p)
    {
        ulong value = 0;
        for (int shift = 0; shift < 64 && p < b.Length; shift += 7)
        {
            byte x = b[p++];
            value |= (ulong)(x & 0x7F) << shift;
            if ((x & 0x80) == 0)
                break;
        }
        return value;
    }

    // ---------------------------------------------------------------- structural

    private static void MutateStructure(State s)
    {
        switch (s.Rng.Next(24))
        {
            case 20:
            case 21:
            case 22:
            case 23:
                MutateAttributePlausibly(s);
                break;
            case 16:
            case 17:
            case 18:
                MutateConstantValues(s, plausible: true);
                break;
            case 19:
                MutateInputDims(s);
                break;
            case 0:
            case 1:
                MutateDims(s);
                break;
            case 2:
                MutateElementType(s);
                break;
            case 3:
            case 4:
            case 5:
                MutateAttribute(s);
                break;
            case 6:
                MutateNames(s);
                break;
            case 7:
                MutateOpset(s);
                break;
            case 8:
                MutateInitializerData(s);
                break;
            case 9:
                MutateExternalData(s);
                break;
            case 10:
                MutateNodeOrder(s);
                break;
            case 11:
                MutateOpType(s);
                break;
            case 12:
            case 13:
                MutateConstantValues(s, plausible: false);
                break;
            case 14:
                MutateInputShapeArgument(s);
                break;
            default:
                MutateGraphInput(s);
                break;
        }
    }

    private static long EdgeInt(Random rng) => EdgeInts[rng.Next(EdgeInts.Length)];

    /// <summary>
    /// An edge value for a graph input's dim: small, non-positive, or too large for any tensor. Dims
    /// in between (65536, 2^20) make valid inputs whose reference run takes minutes on the zoo
    /// networks: slow, not a fault, and no use within a per-case time limit.
    /// </summary>
    private static long EdgeInputDim(Random rng)
    {
        long v;
        do
        {
            v = EdgeInt(rng);
        }
        while (v > 100 && v < int.MaxValue);
        return v;
    }

    private static float EdgeFloat(Random rng) => EdgeFloats[rng.Next(EdgeFloats.Length)];

    private static string I(long v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>Every tensor shape of the graph's value infos (inputs, outputs, value_info).</summary>
    private static List<(string Where, ValueInfoProto Info)> ValueInfos(GraphProto g)
    {
        var all = new List<(string, ValueInfoProto)>();
        all.AddRange(g.Input.Select(v => ("input", v)));
        all.AddRange(g.Output.Select(v => ("output", v)));
        all.AddRange(g.ValueInfo.Select(v => ("value_info", v)));
        return all;
    }

    private static void MutateDims(State s)
    {
        var rng = s.Rng;
        if (rng.Next(2) == 0 && s.Graph.Initializer.Count > 0)
        {
            var t = s.Pick(s.Graph.Initializer);
            if (t.Dims.Count > 0 && rng.Next(4) != 0)
            {
                int d = rng.Next(t.Dims.Count);
                long v = EdgeInt(rng);
                s.Note($"initializer '{t.Name}' dim {d}: {t.Dims[d]} -> {I(v)}");
                t.Dims[d] = v;
            }
            else if (rng.Next(2) == 0 && t.Dims.Count > 0)
            {
                s.Note($"initializer '{t.Name}' drops dim {t.Dims.Count - 1}");
                t.Dims.RemoveAt(t.Dims.Count - 1);
            }
            else
            {
                long v = rng.Next(2) == 0 ? 1 : EdgeInt(rng);
                s.Note($"initializer '{t.Name}' adds dim {I(v)}");
                t.Dims.Insert(rng.Next(t.Dims.Count + 1), v);
            }
            return;
        }
        var infos = ValueInfos(s.Graph);
        var (where, info) = s.Pick(infos);
        var tensorType = info.Type?.TensorType;
        if (tensorType is null)
        {
            s.Note($"{where} '{info.Name}': no tensor type to change");
            return;
        }
        tensorType.Shape ??= new TensorShapeProto();
        var dims = tensorType.Shape.Dim;
        switch (rng.Next(6))
        {
            case 0 when dims.Count > 0:
                dims.RemoveAt(rng.Next(dims.Count));
                s.Note($"{where} '{info.Name}' drops a dim");
                break;
            case 1:
            {
                int at = rng.Next(dims.Count + 1);
                long value = rng.Next(2) == 0 ? 1 : EdgeInputDim(rng);
                dims.Insert(at, new TensorShapeProto.Types.Dimension { DimValue = value });
                s.Note($"{where} '{info.Name}' gets dim {I(value)} at {at}");
            }
                break;
            case 2 when dims.Count > 0:
                dims[rng.Next(dims.Count)] = new TensorShapeProto.Types.Dimension { DimParam = rng.Next(3) == 0 ? "" : "N" };
                s.Note($"{where} '{info.Name}' gets a symbolic dim");
                break;
            case 3:
                tensorType.Shape = null;
                s.Note($"{where} '{info.Name}' loses its shape");
                break;
            default:
                if (dims.Count == 0)
                {
                    dims.Add(new TensorShapeProto.Types.Dimension { DimValue = EdgeInputDim(rng) });
                    s.Note($"{where} '{info.Name}' scalar gets a dim");
                    break;
                }
                int d = rng.Next(dims.Count);
                long v = EdgeInputDim(rng);
                s.Note($"{where} '{info.Name}' dim {d} -> {I(v)}");
                dims[d] = new TensorShapeProto.Types.Dimension { DimValue = v };
                break;
        }
    }

    private static int EdgeType(Random rng) => rng.Next(10) == 0 ? s_oddTypes[rng.Next(s_oddTypes.Length)] : rng.Next(0, 24);

    private static readonly int[] s_oddTypes = [-1, 99, 1000, int.MaxValue, int.MinValue];

    private static void MutateElementType(State s)
    {
        var rng = s.Rng;
        int type = EdgeType(rng);
        switch (rng.Next(3))
        {
            case 0 when s.Graph.Initializer.Count > 0:
            {
                var t = s.Pick(s.Graph.Initializer);
                s.Note($"initializer '{t.Name}' data_type {t.DataType} -> {type}");
                t.DataType = type;
                break;
            }
            case 1:
            {
                // A Cast's target or a Constant's value type: types that flow through the graph.
                var casts = s.Graph.Node.Where(n => n.OpType == "Cast").ToList();
                if (casts.Count > 0)
                {
                    var n = s.Pick(casts);
                    foreach (var a in n.Attribute.Where(a => a.Name == "to"))
                        a.I = type;
                    s.Note($"Cast '{n.Name}' to -> {type}");
                    break;
                }
                goto default;
            }
            default:
            {
                var (where, info) = s.Pick(ValueInfos(s.Graph));
                if (info.Type?.TensorType is { } tt)
                {
                    s.Note($"{where} '{info.Name}' elem_type {tt.ElemType} -> {type}");
                    tt.ElemType = type;
                }
                else
                {
                    s.Note($"{where} '{info.Name}' gets an empty type");
                    info.Type = new TypeProto();
                }
                break;
            }
        }
    }

    private static AttributeProto RandomAttribute(Random rng, string name)
    {
        var a = new AttributeProto { Name = name };
        switch (rng.Next(7))
        {
            case 0:
                a.Type = AttributeProto.Types.AttributeType.Int;
                a.I = EdgeInt(rng);
                break;
            case 1:
                a.Type = AttributeProto.Types.AttributeType.Ints;
                int n = rng.Next(6);
                for (int i = 0; i < n; i++)
                    a.Ints.Add(rng.Next(2) == 0 ? rng.Next(-2, 4) : EdgeInt(rng));
                break;
            case 2:
                a.Type = AttributeProto.Types.AttributeType.Float;
                a.F = EdgeFloat(rng);
                break;
            case 3:
                a.Type = AttributeProto.Types.AttributeType.Floats;
                int m = rng.Next(5);
                for (int i = 0; i < m; i++)
                    a.Floats.Add(EdgeFloat(rng));
                break;
            case 4:
                a.Type = AttributeProto.Types.AttributeType.String;
                a.S = ByteString.CopyFromUtf8(StringValues[rng.Next(StringValues.Length)]);
                break;
            case 5:
                a.Type = AttributeProto.Types.AttributeType.Tensor;
                a.T = RandomTensor(rng, name);
                break;
            default:
                a.Type = (AttributeProto.Types.AttributeType)rng.Next(0, 16);
                a.I = EdgeInt(rng);
                break;
        }
        return a;
    }

    private static TensorProto RandomTensor(Random rng, string name)
    {
        var t = new TensorProto { Name = name, DataType = rng.Next(3) == 0 ? EdgeType(rng) : (rng.Next(2) == 0 ? 1 : 7) };
        int rank = rng.Next(3);
        long count = 1;
        for (int i = 0; i < rank; i++)
        {
            long d = rng.Next(4) == 0 ? EdgeInt(rng) : rng.Next(0, 4);
            t.Dims.Add(d);
            count = d > 0 && d < 8 ? count * d : count;
        }
        int values = (int)Math.Min(count, 16) + (rng.Next(4) == 0 ? rng.Next(-1, 3) : 0);
        for (int i = 0; i < values; i++)
        {
            if (t.DataType == 1)
                t.FloatData.Add(EdgeFloat(rng));
            else
                t.Int64Data.Add(EdgeInt(rng));
        }
        return t;
    }

    private static void MutateAttribute(State s)
    {
        var rng = s.Rng;
        if (s.Graph.Node.Count == 0)
        {
            s.Note("no node for an attribute");
            return;
        }
        var nodes = s.Graph.Node.Where(n => n.Attribute.Count > 0).ToList();
        var node = nodes.Count > 0 && rng.Next(4) != 0 ? s.Pick(nodes) : s.Pick(s.Graph.Node);
        string at = $"{node.OpType} '{node.Name}'";
        var attrs = node.Attribute;
        int choice = attrs.Count == 0 ? 0 : rng.Next(9);
        switch (choice)
        {
            case 0:
            {
                string name = rng.Next(8) == 0 ? "" : AttributeNames[rng.Next(AttributeNames.Length)];
                var a = RandomAttribute(rng, name);
                attrs.Add(a);
                s.Note($"{at} adds attribute '{name}' ({a.Type})");
                break;
            }
            case 1:
            {
                var a = s.Pick(attrs);
                attrs.Remove(a);
                s.Note($"{at} drops attribute '{a.Name}'");
                break;
            }
            case 2:
            {
                var a = s.Pick(attrs);
                var copy = rng.Next(2) == 0 ? a.Clone() : RandomAttribute(rng, a.Name);
                attrs.Add(copy);
                s.Note($"{at} duplicates attribute '{a.Name}' ({copy.Type})");
                break;
            }
            case 3:
            {
                var a = s.Pick(attrs);
                var type = (AttributeProto.Types.AttributeType)rng.Next(0, 16);
                s.Note($"{at} attribute '{a.Name}' type {a.Type} -> {type}");
                a.Type = type;
                break;
            }
            case 4:
            {
                var a = s.Pick(attrs);
                var replacement = RandomAttribute(rng, a.Name);
                attrs[attrs.IndexOf(a)] = replacement;
                s.Note($"{at} attribute '{a.Name}' replaced by {replacement.Type}");
                break;
            }
            case 5:
            {
                var a = s.Pick(attrs);
                if (a.Ints.Count > 0)
                {
                    int i = rng.Next(a.Ints.Count);
                    long v = EdgeInt(rng);
                    s.Note($"{at} attribute '{a.Name}'[{i}] {a.Ints[i]} -> {I(v)}");
                    a.Ints[i] = v;
                }
                else if (a.Floats.Count > 0)
                {
                    int i = rng.Next(a.Floats.Count);
                    float v = EdgeFloat(rng);
                    s.Note(string.Create(CultureInfo.InvariantCulture, $"{at} attribute '{a.Name}'[{i}] -> {v}"));
                    a.Floats[i] = v;
                }
                else
                {
                    a.I = EdgeInt(rng);
                    a.F = EdgeFloat(rng);
                    s.Note(string.Create(CultureInfo.InvariantCulture, $"{at} attribute '{a.Name}' i={a.I} f={a.F}"));
                }
                break;
            }
            case 6:
            {
                var a = s.Pick(attrs);
                if (rng.Next(2) == 0 && a.Ints.Count > 0)
                {
                    a.Ints.RemoveAt(rng.Next(a.Ints.Count));
                    s.Note($"{at} attribute '{a.Name}' loses an element");
                }
                else
                {
                    int n = 1 + rng.Next(3);
                    for (int i = 0; i < n; i++)
                        a.Ints.Add(rng.Next(2) == 0 ? 1 : EdgeInt(rng));
                    s.Note($"{at} attribute '{a.Name}' gains {n} ints");
                }
                break;
            }
            case 7:
            {
                var a = s.Pick(attrs);
                a.Type = AttributeProto.Types.AttributeType.Undefined;
                s.Note($"{at} attribute '{a.Name}' untyped");
                break;
            }
            default:
            {
                var a = s.Pick(attrs);
                a.RefAttrName = "outer";
                s.Note($"{at} attribute '{a.Name}' refers to a function attribute");
                break;
            }
        }
    }

    /// <summary>
    /// An attribute changed to a value a real model might hold (ints moved by up to 3, a mode from
    /// the operators' vocabulary, a permutation shuffled, a flag flipped), or a known attribute added
    /// with such a value, so that the node often stays valid and its kernel runs on the new setting.
    /// </summary>
    private static void MutateAttributePlausibly(State s)
    {
        var rng = s.Rng;
        if (s.Graph.Node.Count == 0)
        {
            s.Note("no node for an attribute");
            return;
        }
        var node = s.Pick(s.Graph.Node);
        string at = $"{node.OpType} '{node.Name}'";
        if (node.Attribute.Count == 0 || rng.Next(3) == 0)
        {
            string name = AttributeNames[rng.Next(AttributeNames.Length)];
            if (node.Attribute.Any(a => a.Name == name))
            {
                s.Note($"{at} already has '{name}'");
                return;
            }
            var a = new AttributeProto { Name = name };
            switch (rng.Next(4))
            {
                case 0:
                    a.Type = AttributeProto.Types.AttributeType.Int;
                    a.I = rng.Next(-2, 4);
                    break;
                case 1:
                    a.Type = AttributeProto.Types.AttributeType.Ints;
                    int n = rng.Next(1, 9);
                    for (int i = 0; i < n; i++)
                        a.Ints.Add(rng.Next(-1, 4));
                    break;
                case 2:
                    a.Type = AttributeProto.Types.AttributeType.Float;
                    a.F = (float)(rng.NextDouble() * 2 - 0.5);
                    break;
                default:
                    a.Type = AttributeProto.Types.AttributeType.String;
                    a.S = ByteString.CopyFromUtf8(StringValues[rng.Next(StringValues.Length - 2)]);
                    break;
            }
            node.Attribute.Add(a);
            s.Note($"{at} adds plausible '{name}' ({a.Type})");
            return;
        }
        var attr = s.Pick(node.Attribute);
        switch (attr.Type)
        {
            case AttributeProto.Types.AttributeType.Int:
                attr.I = rng.Next(3) == 0 ? 1 - Math.Min(1, attr.I) : attr.I + rng.Next(-3, 4);
                s.Note($"{at} '{attr.Name}' = {I(attr.I)}");
                break;
            case AttributeProto.Types.AttributeType.Ints when attr.Name == "perm" && rng.Next(2) == 0:
            {
                var perm = attr.Ints.ToArray();
                rng.Shuffle(perm);
                attr.Ints.Clear();
                attr.Ints.Add(perm);
                s.Note($"{at} perm shuffled to [{string.Join(",", perm)}]");
                break;
            }
            case AttributeProto.Types.AttributeType.Ints when attr.Ints.Count > 0:
            {
                int i = rng.Next(attr.Ints.Count);
                attr.Ints[i] += rng.Next(-3, 4);
                s.Note($"{at} '{attr.Name}'[{i}] = {I(attr.Ints[i])}");
                break;
            }
            case AttributeProto.Types.AttributeType.Float:
                attr.F = rng.Next(4) == 0 ? -attr.F : attr.F * (float)(rng.NextDouble() * 3);
                s.Note(string.Create(CultureInfo.InvariantCulture, $"{at} '{attr.Name}' = {attr.F}"));
                break;
            case AttributeProto.Types.AttributeType.String:
                attr.S = ByteString.CopyFromUtf8(StringValues[rng.Next(StringValues.Length - 2)]);
                s.Note($"{at} '{attr.Name}' = '{attr.S.ToStringUtf8()}'");
                break;
            default:
                node.Attribute.Remove(attr);
                s.Note($"{at} drops '{attr.Name}'");
                break;
        }
    }

    private static List<string> ValueNames(GraphProto g)
    {
        var names = new List<string>();
        names.AddRange(g.Input.Select(i => i.Name));
        names.AddRange(g.Initializer.Select(i => i.Name));
        foreach (var n in g.Node)
            names.AddRange(n.Output);
        return names;
    }

    private static void MutateNames(State s)
    {
        var rng = s.Rng;
        var g = s.Graph;
        var values = ValueNames(g);
        switch (rng.Next(9))
        {
            case 0 when g.Node.Count > 0:
            {
                var n = s.Pick(g.Node);
                if (n.Input.Count == 0)
                {
                    s.Note($"{n.OpType} '{n.Name}' has no input to change");
                    break;
                }
                int i = rng.Next(n.Input.Count);
                string to = rng.Next(3) == 0 ? "nowhere" : s.Pick(values);
                s.Note($"{n.OpType} '{n.Name}' input {i} '{n.Input[i]}' -> '{to}'");
                n.Input[i] = to;
                break;
            }
            case 1 when g.Node.Count > 0:
            {
                var n = s.Pick(g.Node);
                if (n.Input.Count == 0)
                {
                    s.Note($"{n.OpType} '{n.Name}' has no input to change");
                    break;
                }
                int i = rng.Next(n.Input.Count);
                if (rng.Next(2) == 0)
                {
                    s.Note($"{n.OpType} '{n.Name}' drops input {i}");
                    n.Input.RemoveAt(i);
                }
                else
                {
                    s.Note($"{n.OpType} '{n.Name}' input {i} left out ('')");
                    n.Input[i] = "";
                }
                break;
            }
            case 2 when g.Node.Count > 0:
            {
                var n = s.Pick(g.Node);
                string extra = n.Input.Count > 0 && rng.Next(2) == 0 ? s.Pick(n.Input) : s.Pick(values);
                s.Note($"{n.OpType} '{n.Name}' gets an extra input '{extra}'");
                n.Input.Add(extra);
                break;
            }
            case 3 when g.Node.Count > 0:
            {
                var n = s.Pick(g.Node);
                int i = rng.Next(n.Output.Count + 1);
                if (i == n.Output.Count)
                {
                    n.Output.Add(rng.Next(2) == 0 ? "" : "extra_output");
                    s.Note($"{n.OpType} '{n.Name}' gets an extra output");
                }
                else
                {
                    string to = rng.Next(3) == 0 ? "" : s.Pick(values);
                    s.Note($"{n.OpType} '{n.Name}' output {i} '{n.Output[i]}' -> '{to}'");
                    n.Output[i] = to;
                }
                break;
            }
            case 4 when g.Output.Count > 0:
            {
                var o = s.Pick(g.Output);
                if (rng.Next(2) == 0)
                {
                    g.Output.Remove(o);
                    s.Note($"graph output '{o.Name}' dropped");
                }
                else
                {
                    g.Output.Add(o.Clone());
                    s.Note($"graph output '{o.Name}' listed twice");
                }
                break;
            }
            case 5 when g.Output.Count > 0:
            {
                var o = s.Pick(g.Output);
                string to = rng.Next(3) == 0 ? "nowhere" : s.Pick(values);
                s.Note($"graph output '{o.Name}' -> '{to}'");
                o.Name = to;
                break;
            }
            case 6 when g.Input.Count > 0:
            {
                var i = s.Pick(g.Input);
                if (rng.Next(2) == 0)
                {
                    g.Input.Remove(i);
                    s.Note($"graph input '{i.Name}' dropped");
                }
                else
                {
                    g.Input.Add(i.Clone());
                    s.Note($"graph input '{i.Name}' listed twice");
                }
                break;
            }
            case 7 when g.Initializer.Count > 0:
            {
                var t = s.Pick(g.Initializer);
                if (rng.Next(2) == 0)
                {
                    g.Initializer.Add(t.Clone());
                    s.Note($"initializer '{t.Name}' defined twice");
                }
                else
                {
                    string to = rng.Next(2) == 0 ? "" : s.Pick(values);
                    s.Note($"initializer '{t.Name}' renamed '{to}'");
                    t.Name = to;
                }
                break;
            }
            default:
            {
                if (g.Node.Count == 0)
                {
                    s.Note("no node to rename");
                    break;
                }
                var n = s.Pick(g.Node);
                string to = rng.Next(2) == 0 ? "" : s.Pick(g.Node).Name;
                s.Note($"{n.OpType} '{n.Name}' renamed '{to}'");
                n.Name = to;
                break;
            }
        }
    }

    private static void MutateOpset(State s)
    {
        var rng = s.Rng;
        switch (rng.Next(5))
        {
            case 0:
                s.Model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = rng.Next(1, 31) });
                s.Note("default opset imported twice");
                break;
            case 1:
                s.Model.OpsetImport.Clear();
                s.Note("no opset import");
                break;
            case 2:
                s.Model.IrVersion = EdgeInt(rng);
                s.Note($"ir_version -> {I(s.Model.IrVersion)}");
                break;
            default:
                long v = rng.Next(4) == 0 ? EdgeInt(rng) : rng.Next(1, 31);
                foreach (var o in s.Model.OpsetImport)
                    o.Version = v;
                if (rng.Next(6) == 0 && s.Graph.Node.Count > 0)
                {
                    var n = s.Pick(s.Graph.Node);
                    n.Domain = rng.Next(2) == 0 ? "ai.onnx" : "com.example";
                    s.Note($"{n.OpType} '{n.Name}' domain '{n.Domain}'");
                }
                s.Note($"opset -> {I(v)}");
                break;
        }
    }

    private static void MutateInitializerData(State s)
    {
        var rng = s.Rng;
        var g = s.Graph;
        if (g.Initializer.Count == 0)
        {
            s.Note("no initializer to change");
            return;
        }
        var t = s.Pick(g.Initializer);
        string at = $"initializer '{t.Name}'";
        switch (rng.Next(6))
        {
            case 0:
            {
                ToRaw(t);
                int keep = rng.Next(Math.Max(1, t.RawData.Length));
                t.RawData = ByteString.CopyFrom(t.RawData.Span[..keep]);
                s.Note($"{at} raw data truncated to {keep} bytes");
                break;
            }
            case 1:
            {
                ToRaw(t);
                var more = new byte[1 + rng.Next(64)];
                rng.NextBytes(more);
                t.RawData = ByteString.CopyFrom([.. t.RawData.Span, .. more]);
                s.Note($"{at} raw data {more.Length} bytes longer");
                break;
            }
            case 2:
            {
                FromRaw(t);
                int n = t.FloatData.Count + t.Int64Data.Count;
                if (t.FloatData.Count > 0)
                    t.FloatData.RemoveAt(t.FloatData.Count - 1);
                else if (t.Int64Data.Count > 0)
                    t.Int64Data.RemoveAt(t.Int64Data.Count - 1);
                else
                    t.FloatData.Add(1f);
                s.Note($"{at} typed data of {n} values changed by one");
                break;
            }
            case 3:
            {
                // Both raw and typed data.
                ToRaw(t);
                t.FloatData.Add(1f);
                t.Int64Data.Add(1);
                s.Note($"{at} has raw and typed data");
                break;
            }
            case 4:
            {
                t.RawData = ByteString.Empty;
                t.FloatData.Clear();
                t.Int64Data.Clear();
                t.Int32Data.Clear();
                t.DoubleData.Clear();
                s.Note($"{at} has no data");
                break;
            }
            default:
            {
                // Data that does not match the type: int32_data for a float tensor, strings, double data.
                FromRaw(t);
                t.Int32Data.Add(7);
                t.DoubleData.Add(1.5);
                t.StringData.Add(ByteString.CopyFromUtf8("s"));
                s.Note($"{at} gets int32, double and string data");
                break;
            }
        }
    }

    /// <summary>Moves typed data to raw_data (float, int64 and int32 fields).</summary>
    private static void ToRaw(TensorProto t)
    {
        if (!t.RawData.IsEmpty)
            return;
        var bytes = new List<byte>();
        foreach (float f in t.FloatData)
            bytes.AddRange(BitConverter.GetBytes(f));
        foreach (long l in t.Int64Data)
            bytes.AddRange(BitConverter.GetBytes(l));
        foreach (int i in t.Int32Data)
            bytes.AddRange(BitConverter.GetBytes(i));
        foreach (double d in t.DoubleData)
            bytes.AddRange(BitConverter.GetBytes(d));
        t.FloatData.Clear();
        t.Int64Data.Clear();
        t.Int32Data.Clear();
        t.DoubleData.Clear();
        t.RawData = ByteString.CopyFrom([.. bytes]);
    }

    /// <summary>Moves float or int64 raw_data to the typed field.</summary>
    private static void FromRaw(TensorProto t)
    {
        if (t.RawData.IsEmpty)
            return;
        var raw = t.RawData.Span;
        if (t.DataType == 7)
        {
            for (int i = 0; i + 8 <= raw.Length; i += 8)
                t.Int64Data.Add(BitConverter.ToInt64(raw[i..]));
        }
        else
        {
            for (int i = 0; i + 4 <= raw.Length; i += 4)
                t.FloatData.Add(BitConverter.ToSingle(raw[i..]));
        }
        t.RawData = ByteString.Empty;
    }

    private static void MutateExternalData(State s)
    {
        var rng = s.Rng;
        var g = s.Graph;
        if (g.Initializer.Count == 0)
        {
            s.Note("no initializer for external data");
            return;
        }
        var t = s.Pick(g.Initializer);
        ToRaw(t);
        byte[] data = t.RawData.ToByteArray();
        t.RawData = ByteString.Empty;
        t.DataLocation = TensorProto.Types.DataLocation.External;
        string file = "weights.bin";
        long offset = 0;
        long length = data.Length;
        string location = file;
        bool writeFile = true;
        string what;
        switch (rng.Next(14))
        {
            case 0:
                what = "valid";
                break;
            case 1:
                location = "../" + file;
                what = "location ../";
                break;
            case 2:
                location = "/etc/passwd";
                what = "absolute location /etc/passwd";
                break;
            case 3:
                location = "weights\0.bin";
                what = "NUL in location";
                break;
            case 4:
                writeFile = false;
                what = "missing file";
                break;
            case 5:
                offset = rng.Next(2) == 0 ? long.MaxValue - 2 : (1L << 62);
                what = $"offset {I(offset)}";
                break;
            case 6:
                length = rng.Next(2) == 0 ? long.MaxValue : (1L << 31);
                what = $"length {I(length)}";
                break;
            case 7:
                offset = -1;
                what = "negative offset";
                break;
            case 8:
                length = Math.Max(0, data.Length - 1 - rng.Next(4));
                what = $"length {I(length)} shorter than the data";
                break;
            case 9:
                location = "";
                what = "empty location";
                break;
            case 10:
                location = ".";
                what = "location is the folder";
                break;
            case 11:
                t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "other.bin" });
                what = "location given twice";
                break;
            case 12:
                t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = "12abc" });
                what = "offset not a number";
                break;
            default:
                offset = 16;
                what = "offset 16 into a file that is 8 bytes longer than the data";
                data = [.. new byte[16], .. data, .. new byte[8]];
                length = data.Length - 24;
                break;
        }
        t.ExternalData.Insert(0, new StringStringEntryProto { Key = "location", Value = location });
        if (offset != 0)
            t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = I(offset) });
        if (rng.Next(3) != 0 || length != data.Length)
            t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = I(length) });
        if (writeFile)
            s.Files[file] = data;
        s.Note($"initializer '{t.Name}' external: {what}");
    }

    private static void MutateNodeOrder(State s)
    {
        var rng = s.Rng;
        var nodes = s.Graph.Node;
        if (nodes.Count < 2)
        {
            s.Note("too few nodes to reorder");
            return;
        }
        switch (rng.Next(3))
        {
            case 0:
            {
                var shuffled = nodes.ToArray();
                rng.Shuffle(shuffled);
                nodes.Clear();
                nodes.Add(shuffled);
                s.Note("nodes shuffled");
                break;
            }
            case 1:
            {
                // A cycle: an early node reads a later node's output.
                int early = rng.Next(nodes.Count - 1);
                int late = rng.Next(early + 1, nodes.Count);
                var n = nodes[early];
                if (n.Input.Count == 0)
                    n.Input.Add(nodes[late].Output[0]);
                else
                    n.Input[rng.Next(n.Input.Count)] = nodes[late].Output[0];
                s.Note($"cycle: {n.OpType} '{n.Name}' reads '{nodes[late].Output[0]}' of later {nodes[late].OpType} '{nodes[late].Name}'");
                break;
            }
            default:
            {
                var n = s.Pick(nodes);
                if (n.Input.Count == 0 || n.Output.Count == 0)
                {
                    s.Note("no node for a self loop");
                    break;
                }
                n.Input[0] = n.Output[0];
                s.Note($"self loop on {n.OpType} '{n.Name}'");
                break;
            }
        }
    }

    private static void MutateOpType(State s)
    {
        var nodes = s.Graph.Node;
        if (nodes.Count == 0)
        {
            s.Note("no node to retype");
            return;
        }
        var n = s.Pick(nodes);
        string to = OpTypes[s.Rng.Next(OpTypes.Length)];
        s.Note($"{n.OpType} '{n.Name}' becomes {(to.Length == 0 ? "''" : to)}");
        n.OpType = to;
    }

    /// <summary>Edge values in a constant: Reshape's shape, Slice's starts, Resize's scales, Pad's pads, Clip's bounds...</summary>
    private static void MutateConstantValues(State s, bool plausible)
    {
        var rng = s.Rng;
        var candidates = s.Graph.Initializer.Where(t => Count(t) <= 64).ToList();
        foreach (var n in s.Graph.Node.Where(n => n.OpType is "Constant" or "ConstantOfShape"))
        {
            foreach (var a in n.Attribute.Where(a => a.T is not null))
                candidates.Add(a.T);
        }
        if (candidates.Count == 0)
        {
            s.Note("no small constant to change");
            return;
        }
        var t = s.Pick(candidates);
        FromRaw(t);
        int changes = 1 + rng.Next(2);
        var what = new List<string>();
        for (int k = 0; k < changes; k++)
        {
            if (t.Int64Data.Count > 0)
            {
                int i = rng.Next(t.Int64Data.Count);
                long v = plausible ? t.Int64Data[i] + rng.Next(-3, 4) : EdgeInt(rng);
                t.Int64Data[i] = v;
                what.Add($"[{i}]={I(v)}");
            }
            else if (t.FloatData.Count > 0)
            {
                int i = rng.Next(t.FloatData.Count);
                float v = plausible ? t.FloatData[i] * (float)(rng.NextDouble() * 4 - 1) : EdgeFloat(rng);
                t.FloatData[i] = v;
                what.Add(string.Create(CultureInfo.InvariantCulture, $"[{i}]={v}"));
            }
        }
        if (rng.Next(5) == 0)
        {
            // One more or one fewer element, with dims to match.
            if (t.Int64Data.Count > 0)
                t.Int64Data.Add(EdgeInt(rng));
            else
                t.FloatData.Add(EdgeFloat(rng));
            if (t.Dims.Count == 1)
                t.Dims[0] += 1;
            what.Add("one more element");
        }
        s.Note($"constant '{t.Name}' {string.Join(" ", what)}");
    }

    private static long Count(TensorProto t)
    {
        long n = 1;
        foreach (long d in t.Dims)
            n = d <= 0 ? 0 : Math.Min(n * Math.Min(d, 1 << 20), 1L << 40);
        return n;
    }

    /// <summary>A graph input's dims changed a little (1 to 9), so that the graph may still be valid.</summary>
    private static void MutateInputDims(State s)
    {
        var rng = s.Rng;
        if (s.Graph.Input.Count == 0 || s.Pick(s.Graph.Input).Type?.TensorType?.Shape is not { } shape || shape.Dim.Count == 0)
        {
            s.Note("no input dims to change");
            return;
        }
        int d = rng.Next(shape.Dim.Count);
        long v = rng.Next(1, 10);
        shape.Dim[d] = new TensorShapeProto.Types.Dimension { DimValue = v };
        s.Note($"an input dim {d} -> {I(v)}");
    }

    private static void MutateInputShapeArgument(State s)
    {
        var rng = s.Rng;
        string name = s.Graph.Input.Count > 0 && rng.Next(5) != 0 ? s.Pick(s.Graph.Input).Name : "nowhere";
        int rank = rng.Next(6);
        var dims = new List<string>();
        for (int i = 0; i < rank; i++)
            dims.Add(rng.Next(3) == 0 ? I(EdgeInputDim(rng)) : I(rng.Next(1, 5)));
        if (rng.Next(8) == 0)
            dims.Add("x");
        string text = $"{name}={string.Join(",", dims)}";
        s.Args.Add("--input-shape");
        s.Args.Add(text);
        s.Note($"--input-shape {text}");
    }

    /// <summary>Graph inputs that are also initializers (overridable constants), or initializers listed as inputs.</summary>
    private static void MutateGraphInput(State s)
    {
        var g = s.Graph;
        if (g.Initializer.Count == 0)
        {
            s.Note("no initializer to expose");
            return;
        }
        var t = s.Pick(g.Initializer);
        var shape = new TensorShapeProto();
        foreach (long d in t.Dims)
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        g.Input.Add(new ValueInfoProto
        {
            Name = t.Name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = s.Rng.Next(2) == 0 ? t.DataType : EdgeType(s.Rng), Shape = shape } },
        });
        s.Note($"initializer '{t.Name}' also a graph input");
    }
}
