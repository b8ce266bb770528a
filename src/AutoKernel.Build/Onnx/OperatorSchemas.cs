using AutoKernel.Build.Graph;
using AutoKernel.Build.Onnx.Proto;
using AttrType = AutoKernel.Build.Onnx.Proto.AttributeProto.Types.AttributeType;

namespace AutoKernel.Build.Onnx;

/// <summary>One attribute an operator version defines: its name, ONNX type, and whether a node must give it.</summary>
public sealed record AttributeSchema(string Name, AttrType Type, bool Required = false);

/// <summary>
/// The attributes of one operator from the opset in <see cref="Since"/> until the next entry
/// changes them (ONNX's operator versions, merged where the attribute set stayed the same).
/// </summary>
public sealed record OperatorSchema(string OpType, int Since, IReadOnlyList<AttributeSchema> Attributes)
{
    /// <summary>Attributes not listed are accepted unchecked (ONNX Runtime's own LayerNormalization before opset 17).</summary>
    public bool AllowsOtherAttributes { get; init; }

    public AttributeSchema? Find(string name)
    {
        foreach (var a in Attributes)
        {
            if (a.Name == name)
                return a;
        }
        return null;
    }
}

/// <summary>
/// Attribute names and types of every default-domain operator AutoKernel supports, per opset,
/// as the ONNX specification (docs/Changelog.md) defines them. The importer checks each node
/// against its operator's entry the way ONNX Runtime does (ONNX's checker and OpSchema::Verify):
/// an attribute the operator does not define at the model's opset, an attribute whose type
/// differs, a missing required attribute, and an operator that does not exist yet at that opset
/// are each an error. Attribute names starting with "__" are implementation details that ONNX
/// leaves unchecked, and so does this class.
/// </summary>
public static class OperatorSchemas
{
    private const AttrType F = AttrType.Float;
    private const AttrType I = AttrType.Int;
    private const AttrType S = AttrType.String;
    private const AttrType T = AttrType.Tensor;
    private const AttrType Fs = AttrType.Floats;
    private const AttrType Is = AttrType.Ints;

    private static readonly Dictionary<string, OperatorSchema[]> Table = Build();

    /// <summary>The operators the table describes.</summary>
    public static IReadOnlyCollection<string> Operators => Table.Keys;

    /// <summary>
    /// The schema of <paramref name="opType"/> in force at <paramref name="opset"/>; null when the
    /// table does not describe the operator, or the operator does not exist yet at that opset.
    /// </summary>
    public static OperatorSchema? Find(string opType, int opset)
    {
        if (!Table.TryGetValue(opType, out var versions))
            return null;
        OperatorSchema? found = null;
        foreach (var v in versions)
        {
            if (v.Since <= opset)
                found = v;
        }
        return found;
    }

    /// <summary>All versions of <paramref name="opType"/>, oldest first (empty when the table does not describe it).</summary>
    public static IReadOnlyList<OperatorSchema> Versions(string opType) =>
        Table.TryGetValue(opType, out var versions) ? versions : [];

    /// <summary>
    /// Checks a default-domain node's attributes against its operator's schema at <paramref name="opset"/>.
    /// Operators the table does not describe are left to shape inference (which names them unsupported).
    /// </summary>
    public static void Validate(Node node, IEnumerable<AttributeProto> attributes, int opset)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(attributes);
        var versions = Versions(node.OpType);
        if (versions.Count == 0)
            return;
        var schema = Find(node.OpType, opset)
            ?? throw Fail(node, opset, $"operator {node.OpType} does not exist in opset {opset} (it was added in opset {versions[0].Since})");

        var given = new HashSet<string>(StringComparer.Ordinal);
        foreach (var a in attributes)
        {
            given.Add(a.Name);
            if (IsInternal(a.Name))
                continue;
            var expected = schema.Find(a.Name);
            if (expected is null)
            {
                if (schema.AllowsOtherAttributes)
                    continue;
                throw Fail(node, opset, $"{node.OpType} has no attribute '{a.Name}' in opset {opset}{History(versions, schema, a.Name)}");
            }
            if (a.Type != expected.Type)
                throw Fail(node, opset, $"attribute '{a.Name}' has type {TypeName(a.Type)}, but {node.OpType} defines it as {TypeName(expected.Type)}");
        }
        foreach (var a in schema.Attributes)
        {
            if (a.Required && !given.Contains(a.Name))
                throw Fail(node, opset, $"{node.OpType} requires attribute '{a.Name}' ({TypeName(a.Type)})");
        }
    }

    /// <summary>ONNX's lower-case name of an attribute type ("int", "floats", "sparse_tensor", ...).</summary>
    public static string TypeName(AttrType type) => type switch
    {
        AttrType.Undefined => "undefined",
        AttrType.Float => "float",
        AttrType.Int => "int",
        AttrType.String => "string",
        AttrType.Tensor => "tensor",
        AttrType.Graph => "graph",
        AttrType.Floats => "floats",
        AttrType.Ints => "ints",
        AttrType.Strings => "strings",
        AttrType.Tensors => "tensors",
        AttrType.Graphs => "graphs",
        AttrType.SparseTensor => "sparse_tensor",
        AttrType.SparseTensors => "sparse_tensors",
        AttrType.TypeProto => "type_proto",
        AttrType.TypeProtos => "type_protos",
        _ => $"type {(int)type}",
    };

    /// <summary>ONNX skips attributes named "__..." in its schema checks (implementation details).</summary>
    public static bool IsInternal(string name) => name.StartsWith("__", StringComparison.Ordinal);

    private static ModelException Fail(Node node, int opset, string message) =>
        new(message) { Node = node, Opset = opset, Kind = ModelErrorKind.InvalidModel };

    /// <summary>" (removed in opset 13)" or " (added in opset 19)" when another version of the operator defines the attribute.</summary>
    private static string History(IReadOnlyList<OperatorSchema> versions, OperatorSchema current, string name)
    {
        OperatorSchema? lastBefore = null, firstAfter = null;
        foreach (var v in versions)
        {
            if (v.Since < current.Since && v.Find(name) is not null)
                lastBefore = v;
            if (v.Since > current.Since && firstAfter is null && v.Find(name) is not null)
                firstAfter = v;
        }
        if (lastBefore is not null)
        {
            int removed = versions.First(v => v.Since > lastBefore.Since && v.Find(name) is null).Since;
            return $" (it was removed in opset {removed})";
        }
        return firstAfter is not null ? $" (it was added in opset {firstAfter.Since})" : "";
    }

    private static AttributeSchema A(string name, AttrType type) => new(name, type);

    private static AttributeSchema Req(string name, AttrType type) => new(name, type, Required: true);

    private static Dictionary<string, OperatorSchema[]> Build()
    {
        var t = new Dictionary<string, OperatorSchema[]>(StringComparer.Ordinal);

        void Op(string op, params (int Since, AttributeSchema[] Attributes)[] versions) =>
            t.Add(op, [.. versions.Select(v => new OperatorSchema(op, v.Since, v.Attributes))]);

        // Version 1 of many operators carried 'consumed_inputs' (an in-place hint); opset 6 dropped it.
        var consumed = A("consumed_inputs", Is);
        // Opset 1-6 binary operators broadcast only when asked, along 'axis'; opset 7 made broadcasting numpy-style.
        var axis = A("axis", I);
        var broadcast = A("broadcast", I);
        var alpha = A("alpha", F);
        var beta = A("beta", F);

        // Elementwise, no attributes since opset 6.
        foreach (string op in new[] { "Relu", "Neg", "Abs", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Reciprocal", "Floor", "Ceil", "PRelu", "Min", "Max", "Mean", "Sum" })
            Op(op, (1, [consumed]), (6, []));
        Op("Erf", (9, []));
        Op("Softplus", (1, []));
        Op("Softsign", (1, []));
        Op("HardSwish", (14, []));
        Op("Not", (1, []));
        Op("Identity", (1, []));
        Op("Where", (9, []));
        Op("Elu", (1, [alpha, consumed]), (6, [alpha]));
        Op("Selu", (1, [alpha, consumed, A("gamma", F)]), (6, [alpha, A("gamma", F)]));
        Op("LeakyRelu", (1, [alpha, consumed]), (6, [alpha]));
        Op("HardSigmoid", (1, [alpha, beta, consumed]), (6, [alpha, beta]));
        // Clip's bounds became optional inputs in opset 11.
        Op("Clip", (1, [consumed, A("max", F), A("min", F)]), (6, [A("max", F), A("min", F)]), (11, []));
        // Dropout lost is_test in 7 and ratio (now an input) in 12, and gained seed.
        Op("Dropout", (1, [consumed, A("is_test", I), A("ratio", F)]), (6, [A("is_test", I), A("ratio", F)]), (7, [A("ratio", F)]), (12, [A("seed", I)]));
        foreach (string op in new[] { "Add", "Sub", "Mul", "Div" })
            Op(op, (1, [axis, broadcast, consumed]), (6, [axis, broadcast]), (7, []));
        foreach (string op in new[] { "Pow", "Equal", "Less", "Greater", "And", "Or", "Xor" })
            Op(op, (1, [axis, broadcast]), (7, []));
        Op("Mod", (10, [A("fmod", I)]));
        Op("LessOrEqual", (12, []));
        Op("GreaterOrEqual", (12, []));

        // Convolution, pooling, dense, normalization.
        AttributeSchema[] conv = [A("auto_pad", S), A("dilations", Is), A("group", I), A("kernel_shape", Is), A("pads", Is), A("strides", Is)];
        Op("Conv", (1, conv));
        Op("ConvTranspose", (1, [.. conv, A("output_padding", Is), A("output_shape", Is)]));
        AttributeSchema[] pool = [A("auto_pad", S), Req("kernel_shape", Is), A("pads", Is), A("strides", Is)];
        Op("MaxPool", (1, pool), (8, [.. pool, A("storage_order", I)]), (10, [.. pool, A("storage_order", I), A("ceil_mode", I), A("dilations", Is)]));
        Op("AveragePool", (1, pool), (7, [.. pool, A("count_include_pad", I)]), (10, [.. pool, A("count_include_pad", I), A("ceil_mode", I)]),
            (19, [.. pool, A("count_include_pad", I), A("ceil_mode", I), A("dilations", Is)]));
        Op("GlobalAveragePool", (1, []));
        Op("GlobalMaxPool", (1, []));
        AttributeSchema[] gemm = [alpha, beta, A("transA", I), A("transB", I)];
        Op("Gemm", (1, [.. gemm, broadcast]), (7, gemm));
        Op("MatMul", (1, []));
        var epsilon = A("epsilon", F);
        var momentum = A("momentum", F);
        Op("BatchNormalization",
            (1, [Req("consumed_inputs", Is), epsilon, A("is_test", I), momentum, A("spatial", I)]),
            (6, [epsilon, A("is_test", I), momentum, A("spatial", I)]),
            (7, [epsilon, momentum, A("spatial", I)]),
            (9, [epsilon, momentum]),
            (14, [epsilon, momentum, A("training_mode", I)]));
        Op("InstanceNormalization", (1, [consumed, epsilon]), (6, [epsilon]));
        AttributeSchema[] layerNorm = [axis, epsilon, A("stash_type", I)];
        // ONNX added LayerNormalization in opset 17; before that ONNX Runtime registers its own
        // version-1 schema in the default domain, which checks these three and lets others pass.
        t.Add("LayerNormalization", [new OperatorSchema("LayerNormalization", 1, layerNorm) { AllowsOtherAttributes = true }, new OperatorSchema("LayerNormalization", 17, layerNorm)]);
        Op("LRN", (1, [alpha, beta, A("bias", F), Req("size", I)]));
        Op("RMSNormalization", (23, layerNorm));
        Op("Swish", (24, [alpha]));

        // Reductions: the axes attribute became an input in ReduceSum-13 and the others' version 18.
        var keepdims = A("keepdims", I);
        var noop = A("noop_with_empty_axes", I);
        foreach (string op in new[] { "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare" })
            Op(op, (1, [A("axes", Is), keepdims]), (18, [keepdims, noop]));
        // ArgMax and ArgMin gained select_last_index in opset 12.
        foreach (string op in new[] { "ArgMax", "ArgMin" })
            Op(op, (1, [axis, keepdims]), (12, [axis, keepdims, A("select_last_index", I)]));
        Op("ReduceSum", (1, [A("axes", Is), keepdims]), (13, [keepdims, noop]));
        Op("Softmax", (1, [axis]));
        Op("LogSoftmax", (1, [axis]));

        // Resampling. Upsample is deprecated from opset 10 (ONNX Runtime refuses it there);
        // AutoKernel keeps running it with version 9's attributes.
        var mode = A("mode", S);
        AttributeSchema[] resize11 = [A("coordinate_transformation_mode", S), A("cubic_coeff_a", F), A("exclude_outside", I), A("extrapolation_value", F), mode, A("nearest_mode", S)];
        Op("Resize", (10, [mode]), (11, resize11), (18, [.. resize11, A("antialias", I), A("axes", Is), A("keep_aspect_ratio_policy", S)]));
        Op("Upsample", (1, [Req("height_scale", F), mode, Req("width_scale", F)]), (7, [mode, Req("scales", Fs)]), (9, [mode]));

        // Tensor manipulation.
        Op("Reshape", (1, [consumed, A("shape", Is)]), (5, []), (14, [A("allowzero", I)]));
        Op("Flatten", (1, [axis]));
        Op("Transpose", (1, [A("perm", Is)]));
        Op("Concat", (1, [axis]), (4, [Req("axis", I)]));
        Op("Split", (1, [axis, A("split", Is)]), (13, [axis]), (18, [axis, A("num_outputs", I)]));
        Op("Slice", (1, [A("axes", Is), Req("ends", Is), Req("starts", Is)]), (10, []));
        Op("Pad", (1, [mode, Req("paddings", Is), A("value", F)]), (2, [mode, Req("pads", Is), A("value", F)]), (11, [mode]));
        Op("Squeeze", (1, [A("axes", Is)]), (13, []));
        Op("Unsqueeze", (1, [Req("axes", Is)]), (13, []));
        Op("Gather", (1, [axis]));
        Op("Shape", (1, []), (15, [A("end", I), A("start", I)]));
        Op("Size", (1, []));
        // Cast-24 added round_mode, which only affects casts to float8e8m0.
        Op("Cast", (1, [Req("to", S)]), (6, [Req("to", I)]), (19, [A("saturate", I), Req("to", I)]), (24, [A("round_mode", S), A("saturate", I), Req("to", I)]));
        // Constant gained value_float ... value_strings in opset 12 (sparse_value in 11), but ONNX Runtime
        // turns Constant nodes into initializers before its schema check and so accepts each of them at
        // every opset; so does AutoKernel. Shape inference requires exactly one of them.
        Op("Constant", (1,
        [
            A("sparse_value", AttrType.SparseTensor), A("value", T), A("value_float", F), A("value_floats", Fs), A("value_int", I),
            A("value_ints", Is), A("value_string", S), A("value_strings", AttrType.Strings),
        ]));
        Op("ConstantOfShape", (9, [A("value", T)]));
        Op("Expand", (8, []));
        Op("Tile", (1, []));
        Op("Range", (11, []));
        Op("DepthToSpace", (1, [Req("blocksize", I)]), (11, [Req("blocksize", I), mode]));
        Op("SpaceToDepth", (1, [Req("blocksize", I)]));
        return t;
    }
}
