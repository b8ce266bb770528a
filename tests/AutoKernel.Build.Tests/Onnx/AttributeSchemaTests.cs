using AutoKernel.Build.Graph;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Onnx.Proto;
using AutoKernel.Build.Reference;
using AutoKernel.Build.Tests.Support;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using AT = AutoKernel.Build.Onnx.Proto.AttributeProto.Types.AttributeType;

namespace AutoKernel.Build.Tests.Onnx;

/// <summary>
/// Attribute checks at import, class by class, each next to what ONNX Runtime does with the same
/// model: every model AutoKernel refuses here ONNX Runtime refuses too, for the same reason, and
/// the per-opset attribute changes that ONNX Runtime accepts import and run.
/// </summary>
public sealed class AttributeSchemaTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static AttributeProto Int(string name, long value, AT type = AT.Int) => new() { Name = name, Type = type, I = value };

    private static AttributeProto Float(string name, float value, AT type = AT.Float) => new() { Name = name, Type = type, F = value };

    private static AttributeProto Str(string name, string value) => new() { Name = name, Type = AT.String, S = ByteString.CopyFromUtf8(value) };

    private static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AT.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    private static AttributeProto Floats(string name, params float[] values)
    {
        var a = new AttributeProto { Name = name, Type = AT.Floats };
        a.Floats.AddRange(values);
        return a;
    }

    /// <summary>
    /// One node 'n' whose <paramref name="inputs"/> inputs are all the float input x (ONNX Runtime
    /// checks a node's input count and attributes before any type, so this reaches its attribute checks).
    /// </summary>
    private static ModelProto Model(string op, int opset, int inputs, params AttributeProto[] attributes)
    {
        var b = new ModelBuilder("attrs", opset);
        var x = b.Input("x", DataType.Float, 2, 3);
        b.Output(b.Node(op, [.. Enumerable.Repeat(x, inputs)], name: "n"));
        var model = b.Build();
        model.Graph.Node[0].Attribute.AddRange(attributes);
        return model;
    }

    private static ModelException Refused(ModelProto model, string op, int opset, string fragment)
    {
        var e = Assert.Throws<ModelException>(() => OnnxImporter.Import(model, "m.onnx", null));
        Assert.Equal(ModelErrorKind.InvalidModel, e.Kind);
        Assert.Equal("n", e.Node?.Name);
        Assert.Equal(op, e.Node?.OpType);
        Assert.Equal(opset, e.Opset);
        Assert.StartsWith($"m.onnx: node 'n' ({op}, opset {opset}): ", e.Describe());
        Assert.Contains(fragment, e.Message);
        Assert.DoesNotContain("\n", e.Describe());
        return e;
    }

    /// <summary>ONNX Runtime's refusal of the model; fails when it loads it.</summary>
    private static string OrtRefusal(ModelProto model)
    {
        try
        {
            using var session = new InferenceSession(model.ToByteArray());
        }
        catch (OnnxRuntimeException e)
        {
            return e.Message;
        }
        Assert.Fail("ONNX Runtime loaded a model AutoKernel refuses");
        return "";
    }

    /// <summary>Every class of bad attribute: the model, AutoKernel's message, and ONNX Runtime's.</summary>
    private static (ModelProto Model, string Op, int Opset, string Ours, string Ort) BadCase(string name) => name switch
    {
        "duplicate" => (Model("Softmax", 13, 1, Int("axis", 1), Int("axis", 0)), "Softmax", 13,
            "attribute 'axis' is given more than once", "Attribute 'axis' appeared multiple times"),
        "duplicate_same_value" => (Model("Softmax", 13, 1, Int("axis", 1), Int("axis", 1)), "Softmax", 13,
            "attribute 'axis' is given more than once", "appeared multiple times"),
        "untyped" => (Model("Softmax", 13, 1, Int("axis", 1, AT.Undefined)), "Softmax", 13,
            "attribute 'axis' has no type", "Field 'type' of 'attr' is required but missing"),
        "untyped_zero" => (Model("Softmax", 13, 1, Int("axis", 0, AT.Undefined)), "Softmax", 13,
            "attribute 'axis' has no type", "Field 'type' of 'attr' is required but missing"),
        "untyped_float" => (Model("LeakyRelu", 13, 1, Float("alpha", 0.2f, AT.Undefined)), "LeakyRelu", 13,
            "attribute 'alpha' has no type", "Field 'type' of 'attr' is required but missing"),
        "no_name" => (Model("Softmax", 13, 1, Int("", 1)), "Softmax", 13,
            "an attribute has no name", "Field 'name' of 'attr' is required to be non-empty"),
        "wrong_type_float" => (Model("Softmax", 13, 1, Float("axis", 1)), "Softmax", 13,
            "attribute 'axis' has type float, but Softmax defines it as int", "Mismatched attribute type in 'n : axis'. Expected: 'INT', actual: 'FLOAT'"),
        "wrong_type_list" => (Model("Softmax", 13, 1, Ints("axis", 1)), "Softmax", 13,
            "attribute 'axis' has type ints, but Softmax defines it as int", "Expected: 'INT', actual: 'INTS'"),
        "wrong_type_graph" => (Model("Softmax", 13, 1, new AttributeProto { Name = "axis", Type = AT.Graph }), "Softmax", 13,
            "attribute 'axis' has type graph, but Softmax defines it as int", "Expected: 'INT', actual: 'GRAPH'"),
        "wrong_type_int_for_float" => (Model("LeakyRelu", 13, 1, Int("alpha", 1)), "LeakyRelu", 13,
            "attribute 'alpha' has type int, but LeakyRelu defines it as float", "Expected: 'FLOAT', actual: 'INT'"),
        "wrong_type_old_cast" => (Model("Cast", 13, 1, Str("to", "FLOAT")), "Cast", 13,
            "attribute 'to' has type string, but Cast defines it as int", "Expected: 'INT', actual: 'STRING'"),
        "value_in_other_field" => (Model("Softmax", 13, 1, new AttributeProto { Name = "axis", Type = AT.Int, Floats = { 1f } }), "Softmax", 13,
            "attribute 'axis' has type int but holds a value in field 'floats'", "type field and data field mismatch in attribute axis"),
        "two_values" => (Model("Softmax", 13, 1, new AttributeProto { Name = "axis", Type = AT.Int, I = 1, F = 2 }), "Softmax", 13,
            "attribute 'axis' has type int but holds a value in field 'f'", "type field and data field mismatch in attribute axis"),
        "unknown" => (Model("Softmax", 13, 1, Int("foo", 1)), "Softmax", 13,
            "Softmax has no attribute 'foo' in opset 13", "Unrecognized attribute: foo for operator Softmax"),
        "removed" => (Model("Relu", 13, 1, Ints("consumed_inputs", 0)), "Relu", 13,
            "Relu has no attribute 'consumed_inputs' in opset 13 (it was removed in opset 6)", "Unrecognized attribute: consumed_inputs for operator Relu"),
        "not_yet_added" => (Model("Cast", 23, 1, Int("to", 1), Str("round_mode", "up")), "Cast", 23,
            "Cast has no attribute 'round_mode' in opset 23 (it was added in opset 24)", "Unrecognized attribute: round_mode for operator Cast"),
        "required_missing" => (Model("Cast", 13, 1), "Cast", 13,
            "Cast requires attribute 'to' (int)", "Required attribute 'to' is missing"),
        "required_missing_pool" => (Model("MaxPool", 13, 1), "MaxPool", 13,
            "MaxPool requires attribute 'kernel_shape' (ints)", "Required attribute 'kernel_shape' is missing"),
        "operator_not_in_opset" => (Model("HardSwish", 13, 1), "HardSwish", 13,
            "operator HardSwish does not exist in opset 13 (it was added in opset 14)", "No Op registered for HardSwish with domain_version of 13"),
        _ => throw new ArgumentException(name),
    };

    public static TheoryData<string> BadCases() =>
    [
        "duplicate", "duplicate_same_value", "untyped", "untyped_zero", "untyped_float", "no_name", "wrong_type_float",
        "wrong_type_list", "wrong_type_graph", "wrong_type_int_for_float", "wrong_type_old_cast", "value_in_other_field", "two_values",
        "unknown", "removed", "not_yet_added", "required_missing", "required_missing_pool", "operator_not_in_opset",
    ];

    [Theory]
    [MemberData(nameof(BadCases))]
    public void Bad_attribute_is_one_clear_error_as_in_onnx_runtime(string name)
    {
        var (model, op, opset, ours, ort) = BadCase(name);
        Refused(model, op, opset, ours);
        Assert.Contains(ort, OrtRefusal(model));
    }

    [Fact]
    public void Duplicate_axis_no_longer_silently_becomes_the_last_one()
    {
        // The example: Softmax's axis given as 1 then 0 used to run with axis 0.
        var (model, _, _, _, _) = BadCase("duplicate");
        string path = _dir.File("dup.onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        var r = Support.Cli.Run("run", path);
        Assert.Equal(1, r.ExitCode);
        string line = Assert.Single(r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"error: {path}: node 'n' (Softmax, opset 13): attribute 'axis' is given more than once", line);
    }

    [Fact]
    public void Internal_attributes_pass_unchecked_as_in_onnx_runtime()
    {
        // ONNX leaves attributes named "__..." out of its schema checks (implementation details).
        var model = Model("Softmax", 13, 1, Int("axis", 1), Int("__exporter_hint", 7));
        var g = OnnxImporter.Import(model, "m.onnx", null);
        Assert.Equal(7, g.Nodes[0].GetInt("__exporter_hint", 0));
        using var session = new InferenceSession(model.ToByteArray());
    }

    [Fact]
    public void Unknown_operator_attributes_are_left_to_the_unsupported_operator_error()
    {
        // The table only describes operators AutoKernel runs; another operator's attributes are
        // still checked for name, type and duplicates, and the operator is refused later by name.
        var model = Model("Einsum", 13, 1, Str("equation", "ij->ji"));
        var g = OnnxImporter.Import(model, "m.onnx", null);
        Assert.Equal("ij->ji", g.Nodes[0].GetString("equation", ""));
        Refused(Model("Einsum", 13, 1, Str("equation", "ij->ji"), Str("equation", "ij->ij")), "Einsum", 13, "given more than once");
    }

    [Fact]
    public void Foreign_domain_node_is_refused_for_its_domain_not_its_attributes()
    {
        var b = new ModelBuilder("attrs", 13).ImportOpset("com.example", 1);
        var x = b.Input("x", DataType.Float, 2, 3);
        b.Output(b.Node("Custom", [x], name: "n", domain: "com.example"));
        var model = b.Build();
        model.Graph.Node[0].Attribute.Add(Int("anything", 1));
        var e = Assert.Throws<ModelException>(() => OnnxImporter.Import(model, "m.onnx", null));
        Assert.Equal(ModelErrorKind.Unsupported, e.Kind);
        Assert.Contains("operator domain 'com.example' is not supported", e.Message);
    }

    /// <summary>
    /// Attributes an operator dropped (or gained) in some opset: at the opset where the operator
    /// no longer defines them both AutoKernel and ONNX Runtime refuse them. (op, opset, inputs, attribute, our message end.)
    /// </summary>
    public static TheoryData<string, int, int, string, string> DroppedAttributes() => new()
    {
        { "Split", 13, 1, "split", "removed in opset 13" },
        { "Clip", 11, 1, "min", "removed in opset 11" },
        { "ReduceSum", 13, 1, "axes", "removed in opset 13" },
        { "ReduceMean", 18, 1, "axes", "removed in opset 18" },
        { "ReduceMax", 18, 1, "axes", "removed in opset 18" },
        { "Squeeze", 13, 1, "axes", "removed in opset 13" },
        { "Unsqueeze", 13, 2, "axes", "removed in opset 13" },
        { "Pad", 11, 2, "pads", "removed in opset 11" },
        { "Pad", 11, 2, "value", "removed in opset 11" },
        { "BatchNormalization", 9, 5, "spatial", "removed in opset 9" },
        { "BatchNormalization", 7, 5, "is_test", "removed in opset 7" },
        { "Dropout", 7, 1, "is_test", "removed in opset 7" },
        { "Dropout", 12, 1, "ratio", "removed in opset 12" },
        { "Upsample", 9, 2, "scales", "removed in opset 9" },
        { "Add", 7, 2, "broadcast", "removed in opset 7" },
        { "Mul", 7, 2, "axis", "removed in opset 7" },
        { "Gemm", 7, 3, "broadcast", "removed in opset 7" },
        { "Relu", 7, 1, "consumed_inputs", "removed in opset 6" },
        { "Shape", 14, 1, "start", "added in opset 15" },
        { "Reshape", 13, 2, "allowzero", "added in opset 14" },
        { "AveragePool", 18, 1, "dilations", "added in opset 19" },
        { "MaxPool", 9, 1, "dilations", "added in opset 10" },
        { "Resize", 13, 1, "antialias", "added in opset 18" },
        { "DepthToSpace", 10, 1, "mode", "added in opset 11" },
        { "Dropout", 11, 1, "seed", "added in opset 12" },
    };

    [Theory]
    [MemberData(nameof(DroppedAttributes))]
    public void Attribute_outside_its_opsets_is_refused_as_in_onnx_runtime(string op, int opset, int inputs, string attribute, string history)
    {
        // Give the attribute the type the other versions define it with, and what ONNX Runtime needs to reach its attribute checks.
        var versions = OperatorSchemas.Versions(op);
        var type = versions.Select(v => v.Find(attribute)).First(a => a is not null)!.Type;
        var attr = type switch
        {
            AT.Int => Int(attribute, 1),
            AT.Float => Float(attribute, 0.5f),
            AT.Ints => Ints(attribute, 0),
            AT.Floats => Floats(attribute, 1, 1),
            AT.String => Str(attribute, "DCR"),
            _ => throw new ArgumentException(type.ToString()),
        };
        var required = OperatorSchemas.Find(op, opset)!.Attributes.Where(a => a.Required).Select(a => a.Name switch
        {
            "kernel_shape" => Ints("kernel_shape", 1, 1),
            "blocksize" => Int("blocksize", 1),
            _ => throw new ArgumentException(a.Name),
        });
        var model = Model(op, opset, inputs, [.. required, attr]);
        Refused(model, op, opset, $"{op} has no attribute '{attribute}' in opset {opset} (it was {history})");
        Assert.Contains($"Unrecognized attribute: {attribute} for operator {op}", OrtRefusal(model));
    }

    /// <summary>The same attributes where their opset defines them: each model imports, runs, and matches ONNX Runtime.</summary>
    public static TheoryData<string> OldStyleModels() =>
    [
        "Split-11 split", "Clip-6 min max", "ReduceSum-11 axes", "ReduceMean-13 axes", "Squeeze-11 axes", "Unsqueeze-11 axes",
        "Pad-7 pads value", "BatchNormalization-7 spatial", "Dropout-7 ratio", "Upsample-7 scales", "Upsample-9 mode",
        "Shape-15 start end", "Reshape-14 allowzero", "AveragePool-19 dilations", "MaxPool-10 dilations", "Cast-24 to",
        "DepthToSpace-11 mode", "Constant-12 value_floats", "Constant-9 value_floats", "LayerNormalization-13 axis epsilon",
    ];

    private static ModelProto OldStyleModel(string name)
    {
        string[] words = name.Split(' ');
        string op = words[0][..words[0].IndexOf('-')];
        int opset = int.Parse(words[0][(words[0].IndexOf('-') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        var b = new ModelBuilder("old", opset);
        string x = b.Input("x", DataType.Float, 1, 2, 4, 4);
        string[] Outputs(int n, params string[] inputs) => b.Node(op, inputs, n, a => Attributes(a), name: "n");
        void Attributes(AttributeBuilder a)
        {
            switch (name)
            {
                case "Split-11 split": a.Int("axis", 2).Ints("split", 1, 3); break;
                case "Clip-6 min max": a.Float("min", -0.25f).Float("max", 0.5f); break;
                case "ReduceSum-11 axes": a.Ints("axes", 1, 3).Int("keepdims", 0); break;
                case "ReduceMean-13 axes": a.Ints("axes", 2); break;
                case "Squeeze-11 axes" or "Unsqueeze-11 axes": a.Ints("axes", 0); break;
                case "Pad-7 pads value": a.Ints("pads", 0, 0, 1, 0, 0, 0, 0, 2).Float("value", 1.5f); break;
                case "BatchNormalization-7 spatial": a.Int("spatial", 1).Float("epsilon", 1e-3f); break;
                case "Dropout-7 ratio": a.Float("ratio", 0.3f); break;
                case "Upsample-7 scales": a.Floats("scales", 1, 1, 2, 3).String("mode", "nearest"); break;
                case "Upsample-9 mode": a.String("mode", "nearest"); break;
                case "Shape-15 start end": a.Int("start", 1).Int("end", -1); break;
                case "Reshape-14 allowzero": a.Int("allowzero", 0); break;
                case "AveragePool-19 dilations": a.Ints("kernel_shape", 2, 2).Ints("dilations", 2, 1); break;
                case "MaxPool-10 dilations": a.Ints("kernel_shape", 2, 2).Ints("dilations", 1, 2); break;
                case "Cast-24 to": a.Int("to", (int)DataType.Double); break;
                case "DepthToSpace-11 mode": a.Int("blocksize", 2).String("mode", "CRD"); break;
                case "Constant-12 value_floats" or "Constant-9 value_floats": a.Floats("value_floats", 1, 2, 3, 4); break;
                case "LayerNormalization-13 axis epsilon": a.Int("axis", 1).Float("epsilon", 1e-3f); break;
            }
        }

        string[] outs = op switch
        {
            "Split" => Outputs(2, x),
            "BatchNormalization" => Outputs(1, x, b.Initializer("s", [1f, 2f], 2), b.Initializer("bias", [0.5f, -1f], 2),
                b.Initializer("mean", [0.1f, -0.2f], 2), b.Initializer("var", [1f, 0.25f], 2)),
            "Upsample" when opset >= 9 => Outputs(1, x, b.Initializer("scales", [1f, 1f, 2f, 2f], 4)),
            "Reshape" => Outputs(1, x, b.Initializer("shape", Tensor.FromInt64s([3], [1, 0, -1]))),
            "DepthToSpace" => Outputs(1, b.Node("Concat", [x, x], a => a.Int("axis", 1))),
            "Constant" => [b.Node("Add", [Outputs(1)[0], b.Node("Flatten", [x], a => a.Int("axis", 3))])],
            "LayerNormalization" => Outputs(1, x, b.Initializer("ls", Graphs.RandomFloats(4, 2, 4, 4)), b.Initializer("lb", Graphs.RandomFloats(5, 2, 4, 4))),
            _ => Outputs(1, x),
        };
        foreach (string o in outs)
            b.Output(o, op switch { "Shape" => DataType.Int64, "Cast" => DataType.Double, _ => DataType.Float });
        return b.Build();
    }

    [Theory]
    [MemberData(nameof(OldStyleModels))]
    public void Attribute_in_its_opsets_imports_and_matches_onnx_runtime(string name)
    {
        var model = OldStyleModel(name);
        var loaded = Graphs.Prepare(model);
        var inputs = new Dictionary<string, Tensor> { ["x"] = Graphs.RandomFloats(7, 1, 2, 4, 4) };
        var ours = new Interpreter(loaded.Optimized).Run(inputs);
        var ort = AutoKernel.Build.Compare.OrtRunner.Run(model.ToByteArray(), inputs);
        Assert.Equal(ort.Count, loaded.Optimized.Outputs.Count);
        foreach (var (output, expected) in ort)
        {
            var result = AutoKernel.Build.Compare.TensorComparison.Compare(ours[output], expected);
            Assert.True(result.Passed, $"{name} output {output}: {result}");
        }
    }

    [Fact]
    public void Constant_with_an_unknown_or_second_attribute_is_refused()
    {
        // ONNX Runtime folds Constant nodes without its schema check and silently picks a value here;
        // AutoKernel refuses: which value was meant is unknowable.
        var b = new ModelBuilder("c", 13);
        b.Output(b.Node("Constant", [], a => a.Float("value_float", 2), name: "n"));
        var model = b.Build();
        model.Graph.Node[0].Attribute.Add(Float("foo", 3));
        Refused(model, "Constant", 13, "Constant has no attribute 'foo' in opset 13");
        model.Graph.Node[0].Attribute.RemoveAt(1);
        model.Graph.Node[0].Attribute.Add(Float("value_float", 3));
        Refused(model, "Constant", 13, "attribute 'value_float' is given more than once");
    }

    [Fact]
    public void Cast_round_mode_is_accepted_for_every_target_type()
    {
        // The spec applies round_mode to casts to float8e8m0 only and ignores it otherwise; ONNX Runtime's
        // Cast kernel refuses it elsewhere ("only used for cast to float8e8m0"). AutoKernel follows the spec.
        var b = new ModelBuilder("cast", 24);
        b.Output(b.Node("Cast", [b.Input("x", DataType.Float, 2, 3)], a => a.Int("to", (int)DataType.Int32).String("round_mode", "down"), name: "n"), DataType.Int32);
        var loaded = Graphs.Prepare(b.Build());
        var x = Tensor.FromFloats([2, 3], [1.7f, -1.7f, 2.5f, -0.5f, 0f, 100.9f]);
        Assert.Equal([1L, -1L, 2L, 0L, 0L, 100L], new Interpreter(loaded.Optimized).Run(new Dictionary<string, Tensor> { ["x"] = x }).Values.Single().ToInt64Array());
        Assert.Contains("round_mode", OrtRefusalAtRun(b.Build()));
    }

    private static string OrtRefusalAtRun(ModelProto model)
    {
        var e = Assert.Throws<ModelException>(() => AutoKernel.Build.Compare.OrtRunner.Run(model.ToByteArray(), new Dictionary<string, Tensor> { ["x"] = Graphs.RandomFloats(1, 2, 3) }));
        return e.Message;
    }

    /// <summary>Opset 6 quirks ONNX Runtime has no kernels for (it refuses to run them, not their attributes): still accepted.</summary>
    [Theory]
    [InlineData("Add", 2, "broadcast", 1L)]
    [InlineData("Mul", 2, "axis", 0L)]
    [InlineData("BatchNormalization", 5, "is_test", 1L)]
    [InlineData("Dropout", 1, "is_test", 1L)]
    [InlineData("Gemm", 3, "broadcast", 1L)]
    public void Opset_6_attributes_still_import(string op, int inputs, string attribute, long value)
    {
        var g = OnnxImporter.Import(Model(op, 6, inputs, Int(attribute, value)), "m.onnx", null);
        Assert.Equal(value, g.Nodes[0].GetInt(attribute, -1));
    }

    [Fact]
    public void Every_supported_operator_has_a_schema()
    {
        // A new shape rule needs its operator's attributes in OperatorSchemas, or its attributes go unchecked.
        Assert.Empty(ShapeInference.SupportedOnnxOperators.Except(OperatorSchemas.Operators).Order(StringComparer.Ordinal));
        Assert.Empty(OperatorSchemas.Operators.Except(ShapeInference.SupportedOnnxOperators).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Schema_versions_are_ordered_and_attribute_names_unique()
    {
        foreach (string op in OperatorSchemas.Operators)
        {
            var versions = OperatorSchemas.Versions(op);
            for (int i = 1; i < versions.Count; i++)
                Assert.True(versions[i].Since > versions[i - 1].Since, $"{op} versions out of order");
            foreach (var v in versions)
            {
                Assert.Equal(op, v.OpType);
                Assert.Equal(v.Attributes.Count, v.Attributes.Select(a => a.Name).Distinct().Count());
                Assert.All(v.Attributes, a => Assert.NotEqual(AT.Undefined, a.Type));
            }
        }
    }

    [Theory]
    [InlineData("Split", 12, true)]
    [InlineData("Split", 13, false)]
    [InlineData("Split", 25, false)]
    [InlineData("Clip", 10, true)]
    [InlineData("Clip", 11, false)]
    public void Find_picks_the_version_in_force(string op, int opset, bool hasOldAttribute)
    {
        string attribute = op == "Split" ? "split" : "min";
        Assert.Equal(hasOldAttribute, OperatorSchemas.Find(op, opset)!.Find(attribute) is not null);
        Assert.Null(OperatorSchemas.Find("HardSwish", 13));
        Assert.Null(OperatorSchemas.Find("Einsum", 13));
    }
}
