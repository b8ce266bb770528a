using AutoKernel.Build.Compare;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Onnx.Proto;
using AutoKernel.Build.Reference;
using AutoKernel.Build.Tests.Support;
using Google.Protobuf;

namespace AutoKernel.Build.Tests.Onnx;

/// <summary>
/// Opsets 23 to 25: every supported operator with a new version there (Cast, Constant,
/// ConstantOfShape, Flatten, Identity, Pad, Reshape, Shape, Size, Squeeze, Transpose, Unsqueeze:
/// new element types only, and Cast's round_mode for float8e8m0) imports, runs and matches
/// ONNX Runtime 1.31, which supports opsets up to 26; opset 26 is refused with one clear line.
/// The new operators RMSNormalization (23) and Swish (24) run and match ONNX Runtime.
/// </summary>
public sealed class OpsetTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// x [2,3,4] through each operator that has a version in opsets 23-25, plus a few whose
    /// version did not change (Conv-free: Add, Mul, Softmax, Relu, MatMul).
    /// </summary>
    private static ModelProto NewVersionsModel(int opset, bool roundMode)
    {
        var b = new ModelBuilder("opset" + opset, opset);
        string x = b.Input("x", DataType.Float, 2, 3, 4);
        string t = b.Node("Transpose", [x], a => a.Ints("perm", 0, 2, 1));                        // [2,4,3]
        string u = b.Node("Unsqueeze", [t, b.Initializer("ua", Tensor.FromInt64s([1], [1]))]);   // [2,1,4,3]
        string s = b.Node("Squeeze", [u, b.Initializer("sa", Tensor.FromInt64s([1], [1]))]);     // [2,4,3]
        string p = b.Node("Pad", [s, b.Initializer("pads", Tensor.FromInt64s([6], [0, 1, 0, 0, 1, 0])), b.Initializer("pv", [0.5f])]); // [2,6,3]
        string f = b.Node("Flatten", [p], a => a.Int("axis", 1));                                // [2,18]
        string ones = b.Node("ConstantOfShape", [b.Node("Shape", [f])], a => a.Tensor("value", Tensor.FromFloats([1], [0.25f])));
        string added = b.Node("Add", [f, ones]);
        string shape = b.Node("Constant", [], a => a.Tensor("value", Tensor.FromInt64s([3], [2, 3, 6])));
        string r = b.Node("Reshape", [added, shape]);                                            // [2,3,6]
        string size = b.Node("Cast", [b.Node("Size", [x])], a =>
        {
            a.Int("to", (int)DataType.Float);
            if (roundMode)
                a.String("round_mode", "nearest");
        });
        string scaled = b.Node("Mul", [r, b.Node("Reciprocal", [size])]);
        string soft = b.Node("Softmax", [b.Node("Relu", [scaled])], a => a.Int("axis", -1));
        string mm = b.Node("MatMul", [soft, b.Initializer("w", Graphs.RandomFloats(3, 6, 5))]);
        b.Output(b.Node("Identity", [mm], output: "y"));
        b.Output(b.Node("Shape", [x], a => a.Int("start", 1), output: "dims"), DataType.Int64);
        return b.Build();
    }

    [Theory]
    [InlineData(22, false)]
    [InlineData(23, false)]
    [InlineData(24, false)]
    [InlineData(24, true)]
    [InlineData(25, false)]
    [InlineData(25, true)]
    public void New_opsets_import_run_and_match_onnx_runtime(int opset, bool roundMode)
    {
        var loaded = Graphs.Prepare(NewVersionsModel(opset, roundMode));
        Assert.Equal(opset, loaded.Optimized.Opset);
        var inputs = new Dictionary<string, Tensor> { ["x"] = Graphs.RandomFloats(11, 2, 3, 4) };
        var ours = new Interpreter(loaded.Optimized).Run(inputs);
        // ONNX Runtime's Cast kernel refuses round_mode unless the target is float8e8m0, where alone
        // it has an effect; it runs the same model without it.
        var ort = OrtRunner.Run(NewVersionsModel(opset, roundMode: false).ToByteArray(), inputs);
        Assert.Equal(2, ort.Count);
        foreach (var (name, expected) in ort)
        {
            var result = TensorComparison.Compare(ours[name], expected);
            Assert.True(result.Passed, $"opset {opset} output {name}: {result}");
        }
        Assert.Equal([3L, 4L], ours["dims"].ToInt64Array());
    }

    [Theory]
    [InlineData(23)]
    [InlineData(25)]
    public void New_opset_zoo_network_runs_and_matches_onnx_runtime(int opset)
    {
        // A small convolutional network (Conv, BatchNormalization folded, Relu, pooling, Gemm) stamped with a new opset.
        var model = TestNets.SmallConvNet();
        model.OpsetImport.Clear();
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        string path = _dir.File($"net{opset}.onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        var r = Support.Cli.Run("run", path, "--compare", "ort");
        Assert.True(r.ExitCode == 0, r.Error);
    }

    [Theory]
    [InlineData(26)]
    [InlineData(27)]
    public void Newer_opsets_are_refused_with_one_line(int opset)
    {
        var b = new ModelBuilder("new", opset);
        b.Output(b.Node("Relu", [b.Input("x", DataType.Float, 2, 3)], name: "relu"));
        var e = Assert.Throws<ModelException>(() => OnnxImporter.Import(b.Build(), "m.onnx", null));
        Assert.Equal(ModelErrorKind.Unsupported, e.Kind);
        Assert.Equal(opset, e.Opset);
        Assert.Equal($"m.onnx: opset {opset} is not supported; AutoKernel supports default-domain opsets 6 to 25 (convert the model with onnx.version_converter)", e.Describe());

        string path = _dir.File($"opset{opset}.onnx");
        b.Save(path);
        var r = Support.Cli.Run("inspect", path);
        Assert.Equal(1, r.ExitCode);
        string line = Assert.Single(r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"error: {path}: opset {opset} is not supported; AutoKernel supports default-domain opsets 6 to 25 (convert the model with onnx.version_converter)", line);
    }

    [Fact]
    public void Opset_25_is_the_newest_accepted()
    {
        Assert.Equal(25, OnnxImporter.MaxOpset);
        var b = new ModelBuilder("edge", 25);
        b.Output(b.Node("Relu", [b.Input("x", DataType.Float, 2, 3)]));
        Assert.Equal(25, OnnxImporter.Import(b.Build(), "m.onnx", null).Opset);
    }

    [Fact]
    public void Cast_to_a_type_new_in_opsets_23_to_25_is_refused_clearly()
    {
        // float4e2m1 (23), float8e8m0 (24), uint2/int2 (25): AutoKernel runs none of them.
        foreach (int type in new[] { 23, 24, 25, 26 })
        {
            var b = new ModelBuilder("cast", 25);
            b.Output(b.Node("Cast", [b.Input("x", DataType.Float, 2, 3)], a => a.Int("to", type), name: "c"));
            var e = Assert.Throws<ModelException>(() => Graphs.Prepare(b.Build()));
            Assert.Contains("node 'c' (Cast, opset 25)", e.Describe());
            Assert.Contains("is not supported", e.Message);
        }
    }

    /// <summary>Swish (new in 24) and RMSNormalization (new in 23): each runs and matches ONNX Runtime.</summary>
    [Theory]
    [InlineData("Swish", 24, "", -1)]
    [InlineData("Swish", 25, "alpha", -1)]
    [InlineData("RMSNormalization", 23, "", -1)]
    [InlineData("RMSNormalization", 24, "epsilon", 1)]
    [InlineData("RMSNormalization", 25, "", 0)]
    public void New_operator_runs_and_matches_onnx_runtime(string op, int opset, string attribute, int axis)
    {
        var b = new ModelBuilder("new", opset);
        string x = b.Input("x", DataType.Float, 2, 3, 4);
        string y = op == "Swish"
            ? b.Node(op, [x], a =>
            {
                if (attribute.Length > 0)
                    a.Float("alpha", 0.7f);
            })
            : b.Node(op, [x, b.Initializer("scale", Graphs.RandomFloats(5, axis == 1 ? [3, 4] : [4]))], a =>
            {
                if (axis != -1)
                    a.Int("axis", axis);
                if (attribute.Length > 0)
                    a.Float("epsilon", 1e-2f);
            });
        b.Output(y);
        var model = b.Build();
        var inputs = new Dictionary<string, Tensor> { ["x"] = Graphs.RandomFloats(13, 2, 3, 4) };
        inputs["x"].Floats[0] = float.NaN;
        var ours = new Interpreter(Graphs.Prepare(model).Optimized).Run(inputs)[y];
        // ONNX Runtime 1.31 runs Swish only by expanding its function body, which it does not do when
        // alpha is given ("no implementation for Swish(24)"); it runs the same function written out instead.
        var ort = op == "Swish" && attribute.Length > 0
            ? OrtRunner.Run(SwishWrittenOut(opset, 0.7f).ToByteArray(), inputs).Values.Single()
            : OrtRunner.Run(model.ToByteArray(), inputs)[y];
        Assert.True(float.IsNaN(ours.Floats[0]));
        var result = TensorComparison.Compare(ours, ort);
        Assert.True(result.Passed, $"{op} opset {opset}: {result}");
    }

    /// <summary>x * Sigmoid(alpha * x), Swish's definition.</summary>
    private static ModelProto SwishWrittenOut(int opset, float alpha)
    {
        var b = new ModelBuilder("swish", opset);
        string x = b.Input("x", DataType.Float, 2, 3, 4);
        b.Output(b.Node("Mul", [x, b.Node("Sigmoid", [b.Node("Mul", [x, b.Initializer("alpha", [alpha])])])]));
        return b.Build();
    }

    [Fact]
    public void Swish_does_not_exist_before_opset_24()
    {
        var b = new ModelBuilder("old", 23);
        b.Output(b.Node("Swish", [b.Input("x", DataType.Float, 2, 3)], name: "n"));
        var e = Assert.Throws<ModelException>(() => OnnxImporter.Import(b.Build(), "m.onnx", null));
        Assert.Equal("m.onnx: node 'n' (Swish, opset 23): operator Swish does not exist in opset 23 (it was added in opset 24)", e.Describe());
    }

    [Fact]
    public void RMSNormalization_with_a_scale_that_does_not_broadcast_is_one_error()
    {
        var b = new ModelBuilder("bad", 23);
        b.Output(b.Node("RMSNormalization", [b.Input("x", DataType.Float, 2, 3), b.Initializer("s", Graphs.RandomFloats(1, 4))], name: "n"));
        var e = Assert.Throws<ModelException>(() => Graphs.Prepare(b.Build()));
        Assert.Contains("node 'n' (RMSNormalization, opset 23): RMSNormalization scale [4] does not broadcast", e.Describe());
    }
}
