using AutoKernel.Build.Graph;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Onnx.Proto;
using AutoKernel.Build.Reference;
using AutoKernel.TestSupport;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Tensor = AutoKernel.Build.Graph.Tensor;
using static AutoKernel.Build.Tests.Reference.RefTest;
using static AutoKernel.TestSupport.TestData;

namespace AutoKernel.Build.Tests.Reference;

/// <summary>
/// Single-node models run by both ONNX Runtime and the reference kernels: a second, independent
/// opinion on the opset-dependent and attribute-heavy operators.
/// </summary>
public class OnnxRuntimeCrossCheckTests
{
    private static void Check(string op, int opset, Tensor?[] inputs, params NodeAttribute[] attributes) =>
        CheckNode(Node(op, inputs.Length, 1, "", attributes), opset, inputs);

    private static void CheckNode(Node node, int opset, Tensor?[] inputs, float tolerance = 1e-4f)
    {
        for (int i = 0; i < inputs.Length; i++)
        {
            if (inputs[i] is null)
                node.Inputs[i] = "";
        }
        var expected = RunOrt(node, opset, inputs);
        var actual = ReferenceKernels.Run(node, opset, inputs);
        Assert.True(actual.Length >= expected.Length, "too few outputs");
        for (int o = 0; o < expected.Length; o++)
        {
            Assert.Equal(expected[o].Shape, actual[o].Shape);
            Assert.Equal(expected[o].Type, actual[o].Type);
            // The shared rule with atol = rtol = tolerance / 2 (never looser than within tolerance * max(1, |e|));
            // integers and bools exactly.
            double half = expected[o].Type.IsFloatingPoint() ? tolerance / 2.0 : 0;
            Closeness.AssertClose(Support.TensorValues.Doubles(expected[o]), Support.TensorValues.Doubles(actual[o]),
                atol: half, rtol: half, nanEqualsNaN: true, what: $"{node.OpType} output {o} (expected: onnxruntime)");
        }
    }

    private static Tensor[] RunOrt(Node node, int opset, Tensor?[] inputs)
    {
        var graph = new GraphProto { Name = "g" };
        var proto = new NodeProto { OpType = node.OpType, Name = "n", Domain = node.Domain };
        proto.Input.AddRange(node.Inputs);
        proto.Output.AddRange(node.Outputs);
        foreach (var a in node.Attributes.Values)
            proto.Attribute.Add(Attribute(a));
        graph.Node.Add(proto);
        var feeds = new List<NamedOnnxValue>();
        for (int i = 0; i < inputs.Length; i++)
        {
            if (inputs[i] is not Tensor t)
                continue;
            graph.Input.Add(ValueInfo(node.Inputs[i], t));
            feeds.Add(Feed(node.Inputs[i], t));
        }
        foreach (string output in node.Outputs)
            graph.Output.Add(new ValueInfoProto { Name = output });
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        using var session = new InferenceSession(model.ToByteArray(), options);
        using var results = session.Run(feeds);
        return [.. results.Select(ToTensor)];
    }

    private static AttributeProto Attribute(NodeAttribute a)
    {
        var p = new AttributeProto { Name = a.Name };
        switch (a.Kind)
        {
            case AttributeKind.Float: p.Type = AttributeProto.Types.AttributeType.Float; p.F = a.F; break;
            case AttributeKind.Int: p.Type = AttributeProto.Types.AttributeType.Int; p.I = a.I; break;
            case AttributeKind.String: p.Type = AttributeProto.Types.AttributeType.String; p.S = ByteString.CopyFromUtf8(a.S); break;
            case AttributeKind.Floats: p.Type = AttributeProto.Types.AttributeType.Floats; p.Floats.AddRange(a.Floats); break;
            case AttributeKind.Ints: p.Type = AttributeProto.Types.AttributeType.Ints; p.Ints.AddRange(a.Ints); break;
            case AttributeKind.Tensor: p.Type = AttributeProto.Types.AttributeType.Tensor; p.T = TensorProtos.FromTensor(a.T!, ""); break;
            default: throw new NotSupportedException(a.Kind.ToString());
        }
        return p;
    }

    private static ValueInfoProto ValueInfo(string name, Tensor t)
    {
        var shape = new TensorShapeProto();
        foreach (int d in t.Shape)
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)t.Type, Shape = shape } } };
    }

    // By element type, not storage: the runtime lets an sbyte[] match a byte[] pattern.
    private static NamedOnnxValue Feed(string name, Tensor t) => t.Type switch
    {
        DataType.Float => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(t.Floats, t.Shape)),
        DataType.Double => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<double>(t.Doubles, t.Shape)),
        DataType.Int64 => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<long>(t.Int64s, t.Shape)),
        DataType.Int32 => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<int>(t.Int32s, t.Shape)),
        DataType.Bool => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<bool>(t.Bools, t.Shape)),
        DataType.Int8 => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<sbyte>(t.Int8s, t.Shape)),
        DataType.UInt8 => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<byte>(t.UInt8s, t.Shape)),
        _ => throw new NotSupportedException(t.Type.ToString()),
    };

    private static Tensor ToTensor(DisposableNamedOnnxValue v)
    {
        switch (v.Value)
        {
            case Microsoft.ML.OnnxRuntime.Tensors.Tensor<float> f: return new Tensor(DataType.Float, Dims(f.Dimensions), f.ToArray());
            case Microsoft.ML.OnnxRuntime.Tensors.Tensor<double> d: return new Tensor(DataType.Double, Dims(d.Dimensions), d.ToArray());
            case Microsoft.ML.OnnxRuntime.Tensors.Tensor<long> l: return new Tensor(DataType.Int64, Dims(l.Dimensions), l.ToArray());
            case Microsoft.ML.OnnxRuntime.Tensors.Tensor<int> i: return new Tensor(DataType.Int32, Dims(i.Dimensions), i.ToArray());
            case Microsoft.ML.OnnxRuntime.Tensors.Tensor<bool> b: return new Tensor(DataType.Bool, Dims(b.Dimensions), b.ToArray());
            case Microsoft.ML.OnnxRuntime.Tensors.Tensor<byte> u: return new Tensor(DataType.UInt8, Dims(u.Dimensions), u.ToArray());
            case Microsoft.ML.OnnxRuntime.Tensors.Tensor<sbyte> i8: return new Tensor(DataType.Int8, Dims(i8.Dimensions), i8.ToArray());
            default: throw new NotSupportedException(v.Value?.GetType().Name);
        }
    }

    private static int[] Dims(ReadOnlySpan<int> d) => d.ToArray();

    private static Tensor R(int[] shape, int seed) => F(shape, RandomFloats(seed, shape.Aggregate(1, (a, b) => a * b)));

    [Theory]
    [InlineData("NOTSET", 1, 1, 1)]
    [InlineData("NOTSET", 2, 2, 2)]
    [InlineData("SAME_UPPER", 2, 1, 1)]
    [InlineData("SAME_LOWER", 2, 1, 4)]
    [InlineData("VALID", 3, 2, 1)]
    public void Conv(string autoPad, int stride, int dilation, int group)
    {
        NodeAttribute[] a = autoPad == "NOTSET"
            ? [Ints("strides", stride, stride), Ints("dilations", dilation, dilation), Int("group", group), Ints("pads", 1, 0, 2, 1)]
            : [Ints("strides", stride, stride), Ints("dilations", dilation, dilation), Int("group", group), Str("auto_pad", autoPad)];
        Check("Conv", 13, [R([2, 4, 9, 8], 1), R([8, 4 / group, 3, 2], 2), R([8], 3)], a);
        Check("Conv", 13, [R([1, 4, 9], 4), R([4, 4 / group, 3], 5), null], Ints("strides", stride), Int("group", group), Str("auto_pad", autoPad));
    }

    [Fact]
    public void Conv3D() =>
        Check("Conv", 13, [R([1, 2, 5, 6, 4], 6), R([3, 2, 2, 3, 2], 7), R([3], 8)], Ints("strides", 2, 1, 1), Ints("pads", 1, 1, 0, 0, 1, 1));

    [Theory]
    [InlineData(1, 0, 0, 1)]
    [InlineData(2, 1, 1, 1)]
    [InlineData(2, 0, 1, 2)]
    [InlineData(3, 2, 2, 2)]
    public void ConvTranspose(int stride, int pad, int outputPadding, int group) =>
        Check("ConvTranspose", 13, [R([1, 4, 4, 3], 9), R([4, 3, 3, 3], 10), R([3 * group], 11)],
            Ints("strides", stride, stride), Ints("pads", pad, pad, pad, pad), Ints("output_padding", outputPadding, outputPadding), Int("group", group));

    [Fact]
    public void ConvTransposeOutputShapeAndDilation()
    {
        Check("ConvTranspose", 13, [R([1, 2, 3, 3], 12), R([2, 2, 3, 3], 13)], Ints("strides", 2, 2), Ints("output_shape", 6, 5));
        Check("ConvTranspose", 13, [R([1, 2, 3, 4], 14), R([2, 1, 2, 2], 15)], Ints("dilations", 2, 3), Ints("strides", 1, 2));
    }

    [Theory]
    [InlineData("MaxPool", 0, 0)]
    [InlineData("MaxPool", 1, 0)]
    [InlineData("AveragePool", 0, 0)]
    [InlineData("AveragePool", 1, 0)]
    [InlineData("AveragePool", 1, 1)]
    [InlineData("AveragePool", 0, 1)]
    public void Pools(string op, int ceil, int includePad)
    {
        NodeAttribute[] extra = op == "AveragePool" ? [Int("count_include_pad", includePad)] : [];
        Check(op, 13, [R([1, 2, 7, 6], 16)], [Ints("kernel_shape", 3, 2), Ints("strides", 2, 2), Ints("pads", 1, 0, 1, 1), Int("ceil_mode", ceil), .. extra]);
        Check(op, 13, [R([1, 2, 8], 17)], [Ints("kernel_shape", 3), Ints("strides", 3), Int("ceil_mode", ceil), .. extra]);
        Check(op, 13, [R([1, 1, 5, 5, 5], 18)], [Ints("kernel_shape", 2, 2, 2), Ints("strides", 2, 2, 2), Str("auto_pad", "SAME_UPPER"), .. extra]);
    }

    [Fact]
    public void MaxPoolDilated() =>
        Check("MaxPool", 13, [R([1, 2, 9, 9], 19)], Ints("kernel_shape", 3, 3), Ints("dilations", 2, 2), Ints("pads", 1, 1, 1, 1), Int("ceil_mode", 1), Ints("strides", 2, 2));

    public static TheoryData<string, string, string, float> ResizeCases()
    {
        var data = new TheoryData<string, string, string, float>();
        foreach (string coord in new[] { "half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel", "tf_half_pixel_for_nn" })
            foreach (float scale in new[] { 2f, 0.5f, 1.7f, 0.6f })
            {
                foreach (string nearest in new[] { "round_prefer_floor", "round_prefer_ceil", "floor", "ceil" })
                    data.Add("nearest", coord, nearest, scale);
                if (coord != "tf_half_pixel_for_nn")
                    data.Add("linear", coord, "round_prefer_floor", scale);
            }
        return data;
    }

    [Theory]
    [MemberData(nameof(ResizeCases))]
    public void ResizeScales(string mode, string coord, string nearest, float scale)
    {
        var x = R([1, 2, 5, 6], 20);
        Check("Resize", 13, [x, null, F([4], 1, 1, scale, scale), null], Str("mode", mode), Str("coordinate_transformation_mode", coord), Str("nearest_mode", nearest));
        Check("Resize", 11, [x, F([0]), F([0]), Vec(1, 2, 3, 11)], Str("mode", mode), Str("coordinate_transformation_mode", coord), Str("nearest_mode", nearest));
    }

    [Fact]
    public void ResizeLegacyAndUpsample()
    {
        var x = R([1, 1, 4, 5], 21);
        Check("Resize", 10, [x, F([4], 1, 1, 2, 1.5f)], Str("mode", "nearest"));
        Check("Resize", 10, [x, F([4], 1, 1, 0.5f, 0.6f)], Str("mode", "nearest"));
        Check("Resize", 10, [x, F([4], 1, 1, 2, 1.5f)], Str("mode", "linear"));
        Check("Upsample", 9, [x, F([4], 1, 1, 2, 3)], Str("mode", "nearest"));
        Check("Upsample", 9, [x, F([4], 1, 1, 2, 2)], Str("mode", "linear"));
        Check("Resize", 18, [x, null, null, Vec(7, 3)], Ints("axes", 2, 3), Str("mode", "linear"));
        Check("Resize", 18, [x, null, null, Vec(8, 8)], Ints("axes", 2, 3), Str("keep_aspect_ratio_policy", "not_larger"));
        Check("Resize", 19, [x, null, F([2], 1.5f, 0.8f), null], Ints("axes", 2, 3), Str("mode", "linear"), Str("coordinate_transformation_mode", "half_pixel_symmetric"));
    }

    [Fact]
    public void SoftmaxAndNormalization()
    {
        var x = R([2, 3, 4], 22);
        foreach (int opset in new[] { 11, 13 })
            foreach (long axis in new long[] { 0, 1, -1 })
            {
                Check("Softmax", opset, [x], Int("axis", axis));
                Check("LogSoftmax", opset, [x], Int("axis", axis));
            }
        Check("LRN", 13, [R([1, 5, 3, 3], 23)], Int("size", 3), Float("alpha", 0.01f), Float("beta", 0.6f), Float("bias", 1.5f));
        Check("LRN", 13, [R([1, 6, 2, 2], 24)], Int("size", 5));
        Check("InstanceNormalization", 13, [R([2, 3, 4, 5], 25), R([3], 26), R([3], 27)]);
        Check("BatchNormalization", 15, [R([2, 3, 4], 28), R([3], 29), R([3], 30), R([3], 31), F([3], 0.5f, 1, 2)]);
        Check("LayerNormalization", 17, [R([2, 3, 4], 32), R([3, 4], 33), R([4], 34)], Int("axis", 1));
    }

    [Fact]
    public void LayerNormalizationMeanAndInvStdDev()
    {
        CheckNode(Node("LayerNormalization", 3, 3, "", Int("axis", 1)), 17, [R([2, 3, 4], 36), R([3, 4], 37), R([4], 38)]);
        CheckNode(Node("LayerNormalization", 2, 3, "", Float("epsilon", 0.1f)), 17, [R([5, 6], 39), R([6], 40)]);
        CheckNode(Node("LayerNormalization", 2, 2, ""), 17, [R([1, 2, 3, 4], 41), R([4], 42)]);
    }

    [Fact]
    public void RmsNormalization()
    {
        Check("RMSNormalization", 23, [R([2, 3, 4], 44), R([4], 45)]);
        Check("RMSNormalization", 23, [R([2, 3, 4], 46), R([3, 4], 47)], Int("axis", 1), Float("epsilon", 0.01f));
        Check("RMSNormalization", 23, [R([2, 3, 4], 48), R([3, 1], 49)], Int("axis", -2));
    }

    [Theory]
    [InlineData("ReduceL1")]
    [InlineData("ReduceL2")]
    [InlineData("ReduceLogSum")]
    [InlineData("ReduceLogSumExp")]
    [InlineData("ReduceSumSquare")]
    [InlineData("ReduceMean")]
    [InlineData("ReduceMax")]
    public void ReductionsWithAxesAttributeAndInput(string op)
    {
        // ReduceLogSum needs positive inputs; the others see signed values and, for LogSumExp, large ones.
        var x = op == "ReduceLogSum" ? F([2, 3, 4], RandomFloats(43, 24).Select(v => Math.Abs(v) + 0.1f).ToArray())
            : op == "ReduceLogSumExp" ? F([2, 3, 4], RandomFloats(43, 24).Select(v => v * 200).ToArray())
            : R([2, 3, 4], 43);
        Check(op, 13, [x], Ints("axes", 1));
        Check(op, 13, [x], Ints("axes", 0, -1), Int("keepdims", 0));
        Check(op, 13, [x]);
        Check(op, 18, [x, Vec(1)]);
        Check(op, 18, [x, Vec(-1, 0)], Int("keepdims", 0));
        Check(op, 18, [x, null]);
        Check(op, 18, [x, Vec()], Int("noop_with_empty_axes", 1));
        // Reducing an empty axis: 0 for the sums and the mean, -inf for the maximum and LogSumExp.
        Check(op, 18, [F([2, 0, 3]), Vec(1)]);
    }

    [Fact]
    public void IntegerReductions()
    {
        var x = L([2, 3], 5, -7, 2, 0, 9, -1);
        Check("ReduceL1", 18, [x, Vec(1)]);
        Check("ReduceSumSquare", 18, [x, Vec(0)]);
        Check("ReduceSum", 13, [new Tensor(DataType.Int32, [2, 2], new[] { 1, -2, 3, 4 }), Vec(1)]);
        var small = new Tensor(DataType.Int8, [2, 3], new sbyte[] { -128, 5, 7, -1, 0, 127 });
        Check("ReduceMax", 18, [small, Vec(1)]);
        Check("ReduceMin", 18, [small, Vec(0)]);
        Check("ArgMax", 13, [small], Int("axis", 1));
        Check("ArgMin", 13, [new Tensor(DataType.UInt8, [2, 3], new byte[] { 200, 5, 255, 0, 9, 9 })], Int("axis", 1), Int("select_last_index", 1));
    }

    [Theory]
    [InlineData("ArgMax")]
    [InlineData("ArgMin")]
    public void ArgMaxAndArgMin(string op)
    {
        var x = F([2, 3, 4], 1, 5, 5, 0, 2, 2, -1, 7, 3, 3, 3, 3, 0, 0, 1, 1, 9, -9, 9, -9, 4, 4, 4, 5);
        Check(op, 13, [x]);
        Check(op, 13, [x], Int("axis", 2));
        Check(op, 13, [x], Int("axis", -2), Int("keepdims", 0));
        Check(op, 13, [x], Int("axis", 2), Int("select_last_index", 1));
        Check(op, 11, [x], Int("axis", 1));
        Check(op, 13, [L([3, 2], 4, -4, 4, 8, -1, 8)], Int("axis", 0), Int("select_last_index", 1));
    }

    [Fact]
    public void ShapesAndData()
    {
        var x = R([2, 3, 4], 35);
        Check("Pad", 13, [x, Vec(0, 1, 2, 0, 2, 1)], Str("mode", "reflect"));
        Check("Pad", 13, [x, Vec(1, 1, 2, 0, 2, 1)], Str("mode", "edge"));
        Check("Pad", 13, [x, Vec(0, -1, 2, 1, 0, -2), Tensor.Scalar(3f)]);
        Check("Pad", 18, [x, Vec(2, 1), null, Vec(-1)], Str("mode", "reflect"));
        Check("Pad", 19, [x, Vec(0, 4, 2, 0, 1, 5)], Str("mode", "wrap"));
        Check("Pad", 2, [x], Ints("pads", 0, 1, 2, 0, 2, 1), Float("value", 1.5f));
        Check("Slice", 13, [x, Vec(-1, 10, 0), Vec(-100, -10, 4), Vec(0, 2, 1), Vec(-1, -3, 2)]);
        Check("Slice", 13, [x, Vec(1, -2), Vec(3, -5), Vec(1, -1), Vec(1, -1)]);
        Check("Slice", 9, [x], Ints("starts", 1, 0), Ints("ends", 100, -1), Ints("axes", -1, 0));
        Check("Gather", 13, [x, L([2, 2], -1, 0, 1, -2)], Int("axis", 2));
        Check("Gather", 13, [x, L([], -1)], Int("axis", 1));
        Check("Transpose", 13, [x], Ints("perm", 1, 2, 0));
        Check("Tile", 13, [x, Vec(2, 1, 3)]);
        Check("Expand", 13, [R([3, 1], 36), Vec(2, 1, 4)]);
        Check("DepthToSpace", 13, [R([1, 8, 2, 3], 37)], Int("blocksize", 2), Str("mode", "CRD"));
        Check("DepthToSpace", 13, [R([1, 8, 2, 3], 37)], Int("blocksize", 2), Str("mode", "DCR"));
        Check("SpaceToDepth", 13, [R([1, 2, 4, 6], 38)], Int("blocksize", 2));
        Check("Flatten", 13, [x], Int("axis", 2));
        var split = Node("Split", 1, 3, "", Int("num_outputs", 3), Int("axis", 2));
        CheckNode(split, 18, [R([2, 3, 7], 59)]);
        Check("Range", 13, [Tensor.Scalar(1.5f), Tensor.Scalar(-2f), Tensor.Scalar(-0.7f)]);
        Check("Range", 13, [L([], -3), L([], 10), L([], 4)]);
    }

    [Fact]
    public void Reductions()
    {
        var x = R([2, 3, 4], 39);
        foreach (string op in new[] { "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd" })
        {
            Check(op, op == "ReduceSum" ? 11 : 13, [x], Ints("axes", 0, 2), Int("keepdims", 0));
            Check(op, 11, [x], Ints("axes", -2));
            Check(op, 18, [x, Vec(1)], Int("keepdims", 0));
            Check(op, 18, [x]);
        }
        Check("ReduceSum", 13, [x, Vec(2, 0)]);
        Check("ReduceSum", 13, [x, Vec()], Int("noop_with_empty_axes", 1));
    }

    [Fact]
    public void Elementwise()
    {
        var a = R([2, 1, 4], 40);
        var b = R([3, 1], 41);
        foreach (string op in new[] { "Add", "Sub", "Mul", "Div", "Min", "Max", "Less", "Greater", "Equal" })
            Check(op, 13, [a, b]);
        Check("Pow", 13, [F([4], 2, 3, 0.5f, 4), F([2, 1], 2, -0.5f)]);
        Check("Div", 13, [L([4], 7, -7, 7, -7), L([2, 1], 2, -3)]);
        Check("Div", 13, [new Tensor(DataType.Int32, [3], new[] { 7, -7, 9 }), new Tensor(DataType.Int32, [1], new[] { -2 })]);
        Check("Mean", 13, [a, b, R([4], 42)]);
        Check("Sum", 13, [a, b, R([4], 42)]);
        Check("Where", 13, [new Tensor(DataType.Bool, [3, 1], new[] { true, false, true }), a, b]);
        Check("PRelu", 13, [R([2, 3, 4], 43), R([3, 1], 44)]);
        var u = R([3, 4], 45);
        foreach (string op in new[] { "Relu", "Sigmoid", "Tanh", "Neg", "Abs", "Exp", "Floor", "Ceil", "Erf", "Softsign", "Softplus", "HardSwish", "HardSigmoid", "Elu", "Selu", "LeakyRelu" })
            Check(op, 14, [u]);
        Check("Sqrt", 13, [F([3], 0, 2, 9)]);
        Check("Log", 13, [F([3], 0.1f, 2, 9)]);
        Check("Reciprocal", 13, [F([3], 0.1f, 2, -9)]);
        Check("Clip", 13, [u, Tensor.Scalar(-0.3f), null]);
        Check("Clip", 6, [u], Float("min", -0.2f), Float("max", 0.4f));
        Check("Cast", 13, [F([4], 1.7f, -1.7f, 0, 300)], Int("to", 7));
        Check("Cast", 13, [L([3], 1, 0, -5)], Int("to", 9));
        Check("Cast", 13, [L([3], 1, 0, -5)], Int("to", 11));
    }

    [Fact]
    public void MatrixProducts()
    {
        Check("Gemm", 13, [R([5, 3], 46), R([4, 5], 47), R([4], 48)], Int("transA", 1), Int("transB", 1), Float("alpha", 0.7f), Float("beta", 1.3f));
        Check("Gemm", 13, [R([3, 5], 49), R([5, 4], 50), R([3, 1], 51)]);
        Check("MatMul", 13, [R([2, 1, 3, 5], 52), R([3, 5, 2], 53)]);
        Check("MatMul", 13, [R([5], 54), R([2, 5, 3], 55)]);
        Check("MatMul", 13, [R([2, 4, 5], 56), R([5], 57)]);
    }

    [Fact]
    public void MoreConvolutions()
    {
        Check("ConvTranspose", 13, [R([1, 2, 5], 60), R([2, 3, 4], 61), R([3], 62)], Ints("strides", 3), Ints("pads", 1, 2), Ints("dilations", 2));
        Check("ConvTranspose", 13, [R([1, 2, 3, 2, 3], 63), R([2, 2, 2, 3, 2], 64)], Ints("strides", 2, 1, 2), Ints("output_padding", 1, 0, 1));
        Check("ConvTranspose", 13, [R([1, 2, 3, 3], 65), R([2, 2, 3, 3], 66)], Ints("strides", 2, 2), Str("auto_pad", "SAME_UPPER"));
        Check("ConvTranspose", 13, [R([1, 2, 3, 3], 65), R([2, 2, 3, 3], 66)], Ints("strides", 2, 2), Str("auto_pad", "SAME_LOWER"));
        Check("ConvTranspose", 13, [R([1, 2, 4, 4], 67), R([2, 2, 2, 2], 68)], Ints("strides", 2, 2), Str("auto_pad", "VALID"));
        Check("Conv", 13, [R([1, 3, 7, 7], 69), R([3, 1, 3, 3], 70), R([3], 71)], Int("group", 3), Ints("strides", 2, 3), Str("auto_pad", "SAME_UPPER"));
        Check("Conv", 13, [R([2, 2, 4, 5, 6], 72), R([4, 1, 3, 3, 3], 73)], Int("group", 2), Ints("strides", 2, 2, 2), Str("auto_pad", "SAME_LOWER"));
        Check("AveragePool", 19, [R([1, 2, 9, 9], 74)], Ints("kernel_shape", 3, 2), Ints("dilations", 2, 3), Ints("pads", 1, 1, 1, 1), Int("count_include_pad", 1));
        Check("MaxPool", 13, [R([1, 2, 10], 75)], Ints("kernel_shape", 4), Ints("strides", 3), Ints("pads", 2, 1), Int("ceil_mode", 1));
        Check("GlobalMaxPool", 13, [R([2, 3, 2, 3, 2], 76)]);
        Check("GlobalAveragePool", 13, [R([2, 3, 7], 77)]);
    }

    [Fact]
    public void MoreShapesAndTypes()
    {
        var x = R([2, 1, 3, 1], 78);
        Check("Squeeze", 13, [x, Vec(1, -1)]);
        Check("Squeeze", 11, [x]);
        Check("Unsqueeze", 13, [R([3], 79), Vec(0, 2)]);
        Check("Unsqueeze", 11, [R([3], 79)], Ints("axes", -1));
        Check("Concat", 13, [R([2, 3], 80), R([2, 1], 81), R([2, 2], 82)], Int("axis", -1));
        Check("Concat", 13, [L([1], 1), L([2], 2, 3)], Int("axis", 0));
        Check("Shape", 15, [x], Int("start", -3));
        Check("Shape", 15, [x], Int("end", 2));
        Check("Size", 13, [x]);
        Check("Gather", 13, [L([4], 10, 20, 30, 40), new Tensor(DataType.Int32, [2, 2], new[] { -1, 0, 2, 1 })]);
        Check("Pad", 11, [L([2, 2], 1, 2, 3, 4), Vec(1, 0, 0, 2), L([], 9)]);
        Check("Pad", 11, [x, Vec(0, 0, 2, 0, 0, 0, 2, 0)], Str("mode", "reflect"));
        Check("Reshape", 14, [R([2, 3, 4], 83), Vec(0, -1, 2)]);
        Check("Reshape", 14, [R([2, 3, 4], 83), Vec(4, 0, 2)]);
        Check("Expand", 13, [L([2, 1], 1, 2), Vec(3)]);
        Check("Tile", 13, [L([2, 1], 1, 2), Vec(2, 3)]);
        Check("Where", 13, [new Tensor(DataType.Bool, [2], new[] { true, false }), L([2, 1], 1, 2), L([], -1)]);
        Check("ConstantOfShape", 13, [Vec(2, 3)], NodeAttribute.FromTensor("value", new Tensor(DataType.Int32, [1], new[] { 4 })));
        Check("Cast", 13, [F([4], 1.7f, -1.7f, 100, 250)], Int("to", 2));
        Check("Cast", 13, [F([4], 1.7f, -1.7f, 100, -120)], Int("to", 3));
        Check("Cast", 13, [new Tensor(DataType.Double, [2], new[] { 1.25, -3.5 })], Int("to", 1));
        Check("Cast", 13, [new Tensor(DataType.Int32, [2], new[] { 7, -3 })], Int("to", 7));
        Check("Clip", 13, [L([4], -5, 0, 5, 10), L([], -1), L([], 6)]);
        Check("Softmax", 13, [new Tensor(DataType.Double, [2, 3], new[] { 1.0, 2, 3, -1, 0, 1 })]);
        Check("Erf", 13, [F([5], -3, -0.1f, 0.7f, 2.9f, 4.5f)]);
        Check("Sub", 13, [new Tensor(DataType.Double, [2], new[] { 1.0, 2 }), new Tensor(DataType.Double, [], new[] { 0.5 })]);
        Check("Mul", 13, [new Tensor(DataType.Int32, [2, 1], new[] { 3, -4 }), new Tensor(DataType.Int32, [3], new[] { 1, 2, 3 })]);
        Check("Pow", 15, [F([3], 2, 3, 4), L([1], 2)]);
        Check("Equal", 13, [new Tensor(DataType.Bool, [2], new[] { true, false }), new Tensor(DataType.Bool, [2], new[] { true, true })]);
        Check("Max", 13, [L([3], 1, 5, 3)]);
        Check("Identity", 13, [x]);
    }

    /// <summary>A small residual network run whole by the interpreter and by ONNX Runtime.</summary>
    [Fact]
    public void InterpreterMatchesOnnxRuntimeOnResidualNet()
    {
        var g = new ModelGraph { Name = "resnetish" };
        g.Opsets[""] = 13;
        g.Inputs.Add(new GraphValue("x", new TensorType(DataType.Float, [2, 3, 16, 16])));
        g.Outputs.Add(new GraphValue("prob", new TensorType(DataType.Float, [2, 10])));
        int seed = 100;
        Tensor Weight(params int[] shape) => R(shape, seed++);
        void Add(string op, string[] inputs, string output, params NodeAttribute[] attributes)
        {
            var n = new Node(output, op, inputs, [output]);
            foreach (var a in attributes)
                n.Set(a);
            g.Nodes.Add(n);
        }
        string Conv(string x, int cin, int cout, int k, int stride)
        {
            string w = x + "_w" + cout, b = x + "_b" + cout, y = x + "_conv" + cout;
            g.Initializers[w] = Weight(cout, cin, k, k);
            g.Initializers[b] = Weight(cout);
            Add("Conv", [x, w, b], y, Ints("strides", stride, stride), Ints("pads", k / 2, k / 2, k / 2, k / 2));
            string[] bn = [y + "_s", y + "_bb", y + "_m", y + "_v"];
            g.Initializers[bn[0]] = Weight(cout);
            g.Initializers[bn[1]] = Weight(cout);
            g.Initializers[bn[2]] = Weight(cout);
            g.Initializers[bn[3]] = F([cout], Enumerable.Range(1, cout).Select(i => 0.5f + i / 10f).ToArray());
            Add("BatchNormalization", [y, .. bn], y + "_bn");
            return y + "_bn";
        }
        string stem = Conv("x", 3, 8, 3, 1);
        Add("Relu", [stem], "stem");
        Add("MaxPool", ["stem"], "pool", Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Ints("pads", 1, 1, 1, 1));
        string a = Conv("pool", 8, 8, 3, 1);
        Add("Relu", [a], "a");
        string b2 = Conv("a", 8, 8, 3, 1);
        Add("Add", [b2, "pool"], "sum");
        Add("Relu", ["sum"], "block");
        string down = Conv("block", 8, 16, 3, 2);
        Add("Sigmoid", [down], "gate");
        Add("Mul", [down, "gate"], "swish");
        Add("GlobalAveragePool", ["swish"], "gap");
        Add("Flatten", ["gap"], "flat");
        g.Initializers["fc"] = Weight(10, 16);
        g.Initializers["fcb"] = Weight(10);
        Add("Gemm", ["flat", "fc", "fcb"], "logits", Int("transB", 1));
        Add("Softmax", ["logits"], "prob", Int("axis", 1));

        var x = R([2, 3, 16, 16], 7);
        var actual = new Interpreter(g).Run(new Dictionary<string, Tensor> { ["x"] = x })["prob"];

        var graph = new GraphProto { Name = g.Name };
        foreach (var n in g.Nodes)
        {
            var proto = new NodeProto { OpType = n.OpType, Name = n.Name };
            proto.Input.AddRange(n.Inputs);
            proto.Output.AddRange(n.Outputs);
            foreach (var attr in n.Attributes.Values)
                proto.Attribute.Add(Attribute(attr));
            graph.Node.Add(proto);
        }
        foreach (var (name, t) in g.Initializers)
            graph.Initializer.Add(TensorProtos.FromTensor(t, name));
        graph.Input.Add(ValueInfo("x", x));
        graph.Output.Add(new ValueInfoProto { Name = "prob" });
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        using var session = new InferenceSession(model.ToByteArray());
        using var results = session.Run([Feed("x", x)]);
        var expected = ToTensor(results.First());
        Assert.Equal(expected.Shape, actual.Shape);
        Close(expected, actual, 1e-4f);
    }
}
