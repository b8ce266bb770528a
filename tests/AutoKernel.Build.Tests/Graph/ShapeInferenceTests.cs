using AutoKernel.Build.Graph;

namespace AutoKernel.Build.Tests.Graph;

public class ShapeInferenceTests
{
    private const DataType F = DataType.Float;

    // ---- helpers ----

    /// <summary>
    /// Runs inference on a one-node graph. Each input is null (absent), an int[] (a run-time float value
    /// of that shape), a TensorType (a run-time value), or a Tensor (a constant).
    /// </summary>
    private static TensorType?[] Infer(string op, int opset, object?[] inputs, NodeAttribute[]? attrs = null, int outputs = 1, string domain = "")
    {
        var names = new List<string>();
        var types = new List<TensorType?>();
        var consts = new List<Tensor?>();
        for (int i = 0; i < inputs.Length; i++)
        {
            switch (inputs[i])
            {
                case null:
                    names.Add("");
                    types.Add(null);
                    consts.Add(null);
                    break;
                case int[] shape:
                    names.Add($"x{i}");
                    types.Add(new TensorType(F, shape));
                    consts.Add(null);
                    break;
                case TensorType t:
                    names.Add($"x{i}");
                    types.Add(t);
                    consts.Add(null);
                    break;
                case Tensor t:
                    names.Add($"c{i}");
                    types.Add(TensorType.Of(t));
                    consts.Add(t);
                    break;
                default:
                    throw new ArgumentException("bad test input");
            }
        }
        var node = new Node("n0", op, names, Enumerable.Range(0, outputs).Select(i => $"y{i}"), domain);
        foreach (var a in attrs ?? [])
            node.Set(a);
        return ShapeInference.Infer(node, opset, [.. types], [.. consts]);
    }

    private static int[] Shape(string op, int opset, object?[] inputs, params NodeAttribute[] attrs) =>
        Infer(op, opset, inputs, attrs)[0]!.Shape;

    private static ModelException Fails(string op, int opset, object?[] inputs, params NodeAttribute[] attrs) =>
        FailsN(op, opset, inputs, 1, attrs);

    private static ModelException FailsN(string op, int opset, object?[] inputs, int outputs, params NodeAttribute[] attrs)
    {
        var e = Assert.Throws<ModelException>(() => Infer(op, opset, inputs, attrs, outputs));
        Assert.NotNull(e.Node);
        Assert.Equal(op, e.Node!.OpType);
        Assert.Equal(opset, e.Opset);
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    private static NodeAttribute I(string name, long v) => NodeAttribute.Int(name, v);
    private static NodeAttribute Is(string name, params long[] v) => NodeAttribute.IntList(name, v);
    private static NodeAttribute S(string name, string v) => NodeAttribute.String(name, v);
    private static NodeAttribute Fs(string name, params float[] v) => NodeAttribute.FloatList(name, v);
    private static Tensor V(params long[] v) => Tensor.Vector(v);
    private static Tensor Fv(params float[] v) => Tensor.FromFloats([v.Length], v);
    private static TensorType Ty(DataType t, params int[] s) => new(t, s);

    // ---- Conv ----

    [Fact]
    public void Conv_StridePads()
    {
        Assert.Equal([1, 64, 112, 112], Shape("Conv", 13, [new[] { 1, 3, 224, 224 }, new[] { 64, 3, 7, 7 }, new[] { 64 }],
            Is("strides", 2, 2), Is("pads", 3, 3, 3, 3)));
    }

    [Fact]
    public void Conv_DilationAndAsymmetricPads()
    {
        // H: 10 + 0 + 0 - (2*2+1) = 5 -> 5/1+1 = 6; W: 11 + 1 + 2 - 5 = 9 -> 9/2+1 = 5
        Assert.Equal([2, 8, 6, 5], Shape("Conv", 11, [new[] { 2, 4, 10, 11 }, new[] { 8, 4, 3, 3 }],
            Is("dilations", 2, 2), Is("strides", 1, 2), Is("pads", 0, 1, 0, 2)));
    }

    [Theory]
    [InlineData("SAME_UPPER", 4)]
    [InlineData("SAME_LOWER", 4)]
    [InlineData("VALID", 3)]
    [InlineData("NOTSET", 3)]
    public void Conv_AutoPad(string mode, int expected)
    {
        Assert.Equal([1, 2, expected, expected], Shape("Conv", 13, [new[] { 1, 1, 7, 7 }, new[] { 2, 1, 3, 3 }],
            S("auto_pad", mode), Is("strides", 2, 2)));
    }

    [Fact]
    public void Conv_SameWithDilationKeepsCeilOfInputOverStride()
    {
        Assert.Equal([1, 2, 10], Shape("Conv", 13, [new[] { 1, 1, 10 }, new[] { 2, 1, 3 }],
            S("auto_pad", "SAME_UPPER"), Is("dilations", 3)));
    }

    [Fact]
    public void Conv_GroupsAnd3D()
    {
        Assert.Equal([1, 32, 8, 8], Shape("Conv", 13, [new[] { 1, 32, 10, 10 }, new[] { 32, 1, 3, 3 }], I("group", 32)));
        Assert.Equal([1, 6, 4, 4], Shape("Conv", 13, [new[] { 1, 4, 6, 6 }, new[] { 6, 2, 3, 3 }], I("group", 2)));
        Assert.Equal([1, 5, 3, 4, 5], Shape("Conv", 13, [new[] { 1, 2, 5, 6, 7 }, new[] { 5, 2, 3, 3, 3 }]));
        Assert.Equal([1, 5, 8], Shape("Conv", 13, [new[] { 1, 2, 10 }, new[] { 5, 2, 3 }]));
    }

    [Fact]
    public void Conv_Errors()
    {
        var e = Fails("Conv", 13, [new[] { 1, 3, 8, 8 }, new[] { 4, 4, 3, 3 }]);
        Assert.Contains("Conv input has 3 channels but weight expects 4 (group 1)", e.Message);
        e = Fails("Conv", 13, [new[] { 1, 3 }, new[] { 4, 3 }]);
        Assert.Contains("Conv expects a 3-D, 4-D or 5-D input, got rank 2", e.Message);
        e = Fails("Conv", 13, [new[] { 1, 3, 8, 8 }, new[] { 4, 3, 3, 3 }], S("auto_pad", "FOO"));
        Assert.Contains("attribute auto_pad 'FOO' is not supported", e.Message);
        e = Fails("Conv", 13, [new[] { 1, 4, 8, 8 }, new[] { 6, 2, 3, 3 }], I("group", 4));
        Assert.Contains("group", e.Message);
        e = Fails("Conv", 13, [new[] { 1, 3, 2, 2 }, new[] { 4, 3, 3, 3 }]);
        Assert.Contains("larger than the padded input", e.Message);
        e = Fails("Conv", 13, [new[] { 1, 3, 8, 8 }, new[] { 4, 3, 3, 3 }], Is("strides", 1, 0));
        Assert.Contains("strides", e.Message);
        e = Fails("Conv", 13, [new[] { 1, 3, 8, 8 }, new[] { 4, 3, 3, 3 }], Is("pads", 1, 1));
        Assert.Contains("pads", e.Message);
        e = Fails("Conv", 13, [new[] { 1, 3, 8, 8 }, new[] { 4, 3, 3, 3 }, new[] { 5 }]);
        Assert.Contains("bias", e.Message);
        e = Fails("Conv", 13, [new[] { 1, 3, 8, 8 }, new[] { 4, 3, 3, 3 }], Is("kernel_shape", 5, 5));
        Assert.Contains("kernel_shape", e.Message);
        e = Fails("Conv", 13, [new[] { 1, 3, 8, 8 }, new[] { 4, 3, 3, 3 }], S("auto_pad", "SAME_UPPER"), Is("pads", 1, 1, 1, 1));
        Assert.Contains("auto_pad", e.Message);
        e = Fails("Conv", 13, [new[] { 1, 3, 8, 8 }]);
        Assert.Contains("Conv expects 2 to 3 inputs, got 1", e.Message);
    }

    // ---- ConvTranspose ----

    [Fact]
    public void ConvTranspose_PadsAndOutputPadding()
    {
        // 2*(4-1) + 1 + 3 - 2 = 8
        Assert.Equal([1, 3, 8, 8], Shape("ConvTranspose", 13, [new[] { 1, 8, 4, 4 }, new[] { 8, 3, 3, 3 }],
            Is("strides", 2, 2), Is("pads", 1, 1, 1, 1), Is("output_padding", 1, 1)));
        // no output_padding, asymmetric pads, dilation 2: 1*(5-1) + 0 + 5 - 1 = 8
        Assert.Equal([1, 3, 8], Shape("ConvTranspose", 13, [new[] { 1, 8, 5 }, new[] { 8, 3, 3 }],
            Is("dilations", 2), Is("pads", 1, 0)));
    }

    [Fact]
    public void ConvTranspose_OutputShapeGroupAndSame()
    {
        Assert.Equal([1, 4, 9, 10], Shape("ConvTranspose", 13, [new[] { 1, 8, 4, 4 }, new[] { 8, 2, 3, 3 }],
            I("group", 2), Is("strides", 2, 2), Is("output_shape", 9, 10)));
        Assert.Equal([1, 4, 9, 10], Shape("ConvTranspose", 13, [new[] { 1, 8, 4, 4 }, new[] { 8, 2, 3, 3 }],
            I("group", 2), Is("strides", 2, 2), Is("output_shape", 1, 4, 9, 10)));
        Assert.Equal([1, 3, 8, 12], Shape("ConvTranspose", 13, [new[] { 1, 8, 4, 4 }, new[] { 8, 3, 3, 3 }],
            Is("strides", 2, 3), S("auto_pad", "SAME_UPPER")));
        Assert.Equal([1, 3, 9, 9], Shape("ConvTranspose", 13, [new[] { 1, 8, 4, 4 }, new[] { 8, 3, 3, 3 }],
            Is("strides", 2, 2), S("auto_pad", "VALID")));
        // SAME with kernel < stride: ONNX Runtime keeps the full output 3*(4-1)+1 = 10 rather than 4*3.
        Assert.Equal([1, 3, 10], Shape("ConvTranspose", 13, [new[] { 1, 8, 4 }, new[] { 8, 3, 1 }],
            Is("strides", 3), S("auto_pad", "SAME_LOWER")));
    }

    [Fact]
    public void ConvTranspose_Errors()
    {
        var e = Fails("ConvTranspose", 13, [new[] { 1, 6, 4, 4 }, new[] { 8, 3, 3, 3 }]);
        Assert.Contains("ConvTranspose input has 6 channels but weight expects 8", e.Message);
        e = Fails("ConvTranspose", 13, [new[] { 1, 8, 4, 4 }, new[] { 8, 3, 3, 3 }], Is("output_shape", 9));
        Assert.Contains("output_shape", e.Message);
        // full output 2*3+3 = 9; one stride beyond does not fit a 4-wide input
        e = Fails("ConvTranspose", 13, [new[] { 1, 8, 4, 4 }, new[] { 8, 3, 3, 3 }], Is("strides", 2, 2), Is("output_shape", 11, 9));
        Assert.Contains("inconsistent with input size 4", e.Message);
        e = Fails("ConvTranspose", 13, [new[] { 1, 8, 1, 1 }, new[] { 8, 3, 1, 1 }], Is("pads", 1, 1, 1, 1));
        Assert.Contains("pads too large", e.Message);
    }

    // ---- pooling ----

    [Fact]
    public void MaxPool_CeilMode()
    {
        // numerator 112 - 3 = 109: floor 55, ceil 56
        Assert.Equal([1, 64, 55, 55], Shape("MaxPool", 12, [new[] { 1, 64, 112, 112 }], Is("kernel_shape", 3, 3), Is("strides", 2, 2)));
        Assert.Equal([1, 64, 56, 56], Shape("MaxPool", 12, [new[] { 1, 64, 112, 112 }], Is("kernel_shape", 3, 3), Is("strides", 2, 2), I("ceil_mode", 1)));
        // Exact fit: ceil_mode changes nothing.
        Assert.Equal([1, 1, 3], Shape("MaxPool", 12, [new[] { 1, 1, 7 }], Is("kernel_shape", 3), Is("strides", 2), I("ceil_mode", 1)));
    }

    [Fact]
    public void MaxPool_CeilModeDropsWindowStartingInEndPadding()
    {
        // in 5, k 2, s 2, pads 1/1: (5+2-2)/2 = 2.5 -> ceil gives 4 windows; the 4th starts at 6 >= 5 + 1, so 3.
        Assert.Equal([1, 1, 3], Shape("MaxPool", 12, [new[] { 1, 1, 5 }], Is("kernel_shape", 2), Is("strides", 2), Is("pads", 1, 1), I("ceil_mode", 1)));
        Assert.Equal([1, 1, 3], Shape("AveragePool", 12, [new[] { 1, 1, 5 }], Is("kernel_shape", 2), Is("strides", 2), Is("pads", 1, 1), I("ceil_mode", 1)));
        // Without the end padding the last window is kept: (6-2)/... in 6, k 3, s 2, pads 0/1: (7-3)/2 = 2 -> exact, 3.
        Assert.Equal([1, 1, 3], Shape("MaxPool", 12, [new[] { 1, 1, 6 }], Is("kernel_shape", 3), Is("strides", 2), Is("pads", 0, 1), I("ceil_mode", 1)));
        // in 6, k 2, s 2, pads 0/1: 5/2 -> ceil 4? (4-1)*2 = 6 >= 6 -> 3
        Assert.Equal([1, 1, 3], Shape("MaxPool", 12, [new[] { 1, 1, 6 }], Is("kernel_shape", 2), Is("strides", 2), Is("pads", 0, 1), I("ceil_mode", 1)));
    }

    [Fact]
    public void MaxPool_DilationsIndicesAndAutoPad()
    {
        var r = Infer("MaxPool", 12, [new[] { 1, 2, 10, 10 }], [Is("kernel_shape", 3, 3), Is("dilations", 2, 2)], outputs: 2);
        Assert.Equal(Ty(F, 1, 2, 6, 6), r[0]);
        Assert.Equal(Ty(DataType.Int64, 1, 2, 6, 6), r[1]);
        Assert.Equal([1, 2, 4, 4], Shape("MaxPool", 12, [new[] { 1, 2, 7, 7 }], Is("kernel_shape", 3, 3), Is("strides", 2, 2), S("auto_pad", "SAME_UPPER")));
        Assert.Equal([1, 2, 3, 3], Shape("AveragePool", 12, [new[] { 1, 2, 8, 8 }], Is("kernel_shape", 3, 3), Is("strides", 2, 2), S("auto_pad", "VALID")));
        Assert.Equal([1, 2, 4, 4], Shape("AveragePool", 12, [new[] { 1, 2, 8, 8 }], Is("kernel_shape", 3, 3), Is("strides", 2, 2), S("auto_pad", "VALID"), I("ceil_mode", 1)));
        Assert.Equal([1, 2, 1, 1], Shape("GlobalAveragePool", 12, [new[] { 1, 2, 7, 7 }]));
        Assert.Equal([1, 2, 1], Shape("GlobalMaxPool", 12, [new[] { 1, 2, 7 }]));
    }

    [Fact]
    public void Pool_Errors()
    {
        var e = Fails("MaxPool", 12, [new[] { 1, 2, 7, 7 }]);
        Assert.Contains("kernel_shape", e.Message);
        e = Fails("MaxPool", 12, [new[] { 1, 2, 7, 7 }], Is("kernel_shape", 3, 3), Is("pads", 3, 0, 0, 0));
        Assert.Contains("pads", e.Message);
        e = Fails("AveragePool", 12, [new[] { 1, 2, 7, 7 }], Is("kernel_shape", 3, 3), I("ceil_mode", 2));
        Assert.Contains("ceil_mode", e.Message);
        e = Fails("AveragePool", 12, [new[] { 1, 2, 7, 7 }], Is("kernel_shape", 3, 3), Is("dilations", 2, 2));
        Assert.Contains("dilations", e.Message);
        e = Fails("MaxPool", 12, [new[] { 1, 2, 2, 2 }], Is("kernel_shape", 3, 3));
        Assert.Contains("larger than the padded input", e.Message);
    }

    // ---- broadcasting ----

    [Fact]
    public void Broadcast_Binary()
    {
        Assert.Equal([2, 3, 4], Shape("Add", 13, [new[] { 2, 1, 4 }, new[] { 3, 1 }]));
        Assert.Equal([5, 4], Shape("Mul", 13, [new[] { 5, 4 }, Tensor.Scalar(2f)]));
        Assert.Equal(Ty(DataType.Bool, 2, 3), Infer("Less", 13, [new[] { 2, 1 }, new[] { 3 }])[0]);
        Assert.Equal(Ty(DataType.Bool, 4), Infer("Equal", 13, [Ty(DataType.Int64, 4), Ty(DataType.Int64, 1)])[0]);
        Assert.Equal([2, 3, 4], Shape("Sum", 13, [new[] { 4 }, new[] { 3, 1 }, new[] { 2, 1, 1 }]));
        Assert.Equal([3], Shape("Max", 13, [new[] { 3 }]));
        Assert.Equal(Ty(DataType.Int64, 2, 3), Infer("Where", 13, [Ty(DataType.Bool, 2, 1), Ty(DataType.Int64, 3), Ty(DataType.Int64, 1)])[0]);
        Assert.Equal([2, 3], Shape("Pow", 13, [new[] { 2, 3 }, Ty(DataType.Int64)]));
        Assert.Equal([1, 3, 4, 4], Shape("PRelu", 13, [new[] { 1, 3, 4, 4 }, new[] { 3, 1, 1 }]));
    }

    [Fact]
    public void Broadcast_Errors()
    {
        var e = Fails("Add", 13, [new[] { 1, 3, 4 }, new[] { 1, 5, 4 }]);
        Assert.Contains("Add cannot broadcast [1,3,4] with [1,5,4]", e.Message);
        e = Fails("Mean", 13, [new[] { 3 }, new[] { 3 }, new[] { 4 }]);
        Assert.Contains("Mean cannot broadcast [3] with [4]", e.Message);
        e = Fails("Sub", 13, [new[] { 3 }, Ty(DataType.Int64, 3)]);
        Assert.Contains("int64", e.Message);
        e = Fails("PRelu", 13, [new[] { 1, 3, 4, 4 }, new[] { 2, 3, 1, 1 }]);
        Assert.Contains("slope", e.Message);
        e = Fails("Where", 13, [new[] { 3 }, new[] { 3 }, new[] { 3 }]);
        Assert.Contains("bool", e.Message);
        e = Fails("Sigmoid", 13, [Ty(DataType.Int64, 3)]);
        Assert.Contains("floating-point", e.Message);
    }

    [Fact]
    public void Unary_And_Clip_And_Dropout()
    {
        foreach (var op in new[] { "Relu", "Sigmoid", "Tanh", "Sqrt", "Exp", "Log", "Erf", "HardSwish", "Softsign", "Identity", "Neg", "Abs", "Floor" })
            Assert.Equal([2, 3], Shape(op, 13, [new[] { 2, 3 }]));
        Assert.Equal([2, 3], Shape("Clip", 13, [new[] { 2, 3 }, null, Tensor.Scalar(6f)]));
        Assert.Equal([2, 3], Shape("Clip", 6, [new[] { 2, 3 }], NodeAttribute.Float("min", 0), NodeAttribute.Float("max", 6)));
        Assert.Contains("scalar", Fails("Clip", 13, [new[] { 2, 3 }, new[] { 3 }]).Message);
        Assert.Equal(Ty(DataType.Bool, 2), Infer("Not", 13, [Ty(DataType.Bool, 2)])[0]);
        var d = Infer("Dropout", 13, [new[] { 2, 3 }], outputs: 2);
        Assert.Equal(Ty(F, 2, 3), d[0]);
        Assert.Equal(Ty(DataType.Bool, 2, 3), d[1]);
        Assert.Equal(Ty(F, 2, 3), Infer("Dropout", 7, [new[] { 2, 3 }], outputs: 2)[1]);
        var one = Infer("Dropout", 13, [new[] { 2, 3 }], outputs: 1);
        Assert.Single(one);
    }

    [Fact]
    public void AbsentOutputGetsNullAndExtraOutputsFail()
    {
        var node = new Node("n", "MaxPool", ["x"], ["y", ""]);
        node.Set(Is("kernel_shape", 2, 2));
        var r = ShapeInference.Infer(node, 13, [Ty(F, 1, 1, 4, 4)], [null]);
        Assert.Equal(2, r.Length);
        Assert.Null(r[1]);
        var e = FailsN("Relu", 13, [new[] { 2 }], 2);
        Assert.Contains("outputs", e.Message);
    }

    // ---- Reshape / Flatten / Transpose / Concat ----

    [Fact]
    public void Reshape_ZeroMinusOneAllowZero()
    {
        Assert.Equal([2, 12], Shape("Reshape", 13, [new[] { 2, 3, 4 }, V(0, -1)]));
        Assert.Equal([24], Shape("Reshape", 13, [new[] { 2, 3, 4 }, V(-1)]));
        Assert.Equal([4, 3, 2], Shape("Reshape", 13, [new[] { 2, 3, 4 }, V(4, 0, -1)]));
        Assert.Equal([0, 3], Shape("Reshape", 14, [new[] { 0, 3 }, V(0, 3)], I("allowzero", 1)));
        Assert.Equal([3, 0], Shape("Reshape", 14, [new[] { 0, 3 }, V(3, 0)], I("allowzero", 1)));
        // Without allowzero, 0 copies the input dimension.
        Assert.Equal([2, 3], Shape("Reshape", 14, [new[] { 2, 3 }, V(0, 3)]));
    }

    [Fact]
    public void Reshape_Errors()
    {
        var e = Fails("Reshape", 13, [new[] { 2, 3, 4 }, V(5, 5)]);
        Assert.Contains("Reshape cannot reshape [2,3,4] (24 elements)", e.Message);
        e = Fails("Reshape", 13, [new[] { 2, 3, 4 }, V(5, -1)]);
        Assert.Contains("cannot reshape", e.Message);
        e = Fails("Reshape", 13, [new[] { 2, 3, 4 }, V(-1, -1)]);
        Assert.Contains("more than one -1", e.Message);
        e = Fails("Reshape", 13, [new[] { 2, 3, 4 }, V(2, -3)]);
        Assert.Contains("invalid dimension -3", e.Message);
        e = Fails("Reshape", 13, [new[] { 2, 12 }, V(1, 1, 0, -1)]);
        Assert.Contains("rank", e.Message);
        e = Fails("Reshape", 14, [new[] { 2, 3 }, V(0, -1)], I("allowzero", 1));
        Assert.Contains("allowzero", e.Message);
        e = Fails("Reshape", 13, [new[] { 2, 3, 4 }, Ty(DataType.Int64, 2)]);
        Assert.Equal("Reshape needs a constant shape input; 'x1' is computed at run time", e.Message);
    }

    [Fact]
    public void Flatten_Transpose_Concat()
    {
        Assert.Equal([6, 20], Shape("Flatten", 13, [new[] { 2, 3, 4, 5 }], I("axis", 2)));
        Assert.Equal([1, 120], Shape("Flatten", 13, [new[] { 2, 3, 4, 5 }], I("axis", 0)));
        Assert.Equal([24, 5], Shape("Flatten", 13, [new[] { 2, 3, 4, 5 }], I("axis", -1)));
        Assert.Contains("axis", Fails("Flatten", 13, [new[] { 2, 3 }], I("axis", 3)).Message);
        Assert.Equal([4, 3, 2], Shape("Transpose", 13, [new[] { 2, 3, 4 }]));
        Assert.Equal([3, 2, 4], Shape("Transpose", 13, [new[] { 2, 3, 4 }], Is("perm", 1, 0, 2)));
        Assert.Contains("perm", Fails("Transpose", 13, [new[] { 2, 3, 4 }], Is("perm", 1, 1, 2)).Message);
        Assert.Equal([2, 7, 4], Shape("Concat", 13, [new[] { 2, 3, 4 }, new[] { 2, 4, 4 }], I("axis", -2)));
        Assert.Contains("incompatible", Fails("Concat", 13, [new[] { 2, 3, 4 }, new[] { 3, 4, 4 }], I("axis", 1)).Message);
        Assert.Contains("axis 3 is out of range", Fails("Concat", 13, [new[] { 2, 3, 4 }], I("axis", 3)).Message);
    }

    // ---- Slice ----

    [Fact]
    public void Slice_InputForm()
    {
        Assert.Equal([3, 7], Shape("Slice", 13, [new[] { 10, 20 }, V(-3, 0), V(long.MaxValue, 20), V(0, 1), V(1, 3)]));
        // clamped end
        Assert.Equal([5, 20], Shape("Slice", 13, [new[] { 10, 20 }, V(5), V(100)]));
        // reverse the whole axis
        Assert.Equal([10, 20], Shape("Slice", 13, [new[] { 10, 20 }, V(-1), V(long.MinValue), V(0), V(-1)]));
        // step -2 from 9 down past the start: 9,7,5,3,1
        Assert.Equal([10, 5], Shape("Slice", 13, [new[] { 10, 20 }, V(9), V(-100), V(-1), V(-2)]));
        // step -3 from clamped 19 to 2 exclusive: 19,16,...,4 -> 6
        Assert.Equal([10, 6], Shape("Slice", 13, [new[] { 10, 20 }, V(50), V(2), V(1), V(-3)]));
        // empty range
        Assert.Equal([0, 20], Shape("Slice", 13, [new[] { 10, 20 }, V(8), V(2)]));
        // huge step
        Assert.Equal([1, 20], Shape("Slice", 13, [new[] { 10, 20 }, V(0), V(10), V(0), V(long.MaxValue)]));
        Assert.Equal([1, 20], Shape("Slice", 13, [new[] { 10, 20 }, V(-1), V(long.MinValue), V(0), V(long.MinValue)]));
    }

    [Fact]
    public void Slice_AttributeForm()
    {
        Assert.Equal([10, 18], Shape("Slice", 9, [new[] { 10, 20 }], Is("starts", 1), Is("ends", -1), Is("axes", 1)));
        Assert.Equal([2, 20], Shape("Slice", 9, [new[] { 10, 20 }], Is("starts", -2), Is("ends", 1000)));
        Assert.Contains("starts", Fails("Slice", 9, [new[] { 10, 20 }], Is("ends", 1)).Message);
    }

    [Fact]
    public void Slice_Errors()
    {
        Assert.Contains("step on axis 0 cannot be 0", Fails("Slice", 13, [new[] { 10 }, V(0), V(5), V(0), V(0)]).Message);
        Assert.Contains("same length", Fails("Slice", 13, [new[] { 10 }, V(0, 1), V(5)]).Message);
        Assert.Contains("out of range", Fails("Slice", 13, [new[] { 10 }, V(0), V(5), V(1)]).Message);
        Assert.Contains("repeat", Fails("Slice", 13, [new[] { 10, 4 }, V(0, 0), V(5, 5), V(1, -1)]).Message);
        Assert.Equal("Slice needs a constant starts input; 'x1' is computed at run time",
            Fails("Slice", 13, [new[] { 10 }, Ty(DataType.Int64, 1), V(5)]).Message);
    }

    // ---- Pad ----

    [Fact]
    public void Pad_Forms()
    {
        Assert.Equal([4, 7], Shape("Pad", 2, [new[] { 2, 3 }], Is("pads", 1, 2, 1, 2)));
        Assert.Equal([4, 7], Shape("Pad", 13, [new[] { 2, 3 }, V(1, 2, 1, 2), Tensor.Scalar(0f)], S("mode", "reflect")));
        Assert.Equal([2, 1], Shape("Pad", 13, [new[] { 2, 3 }, V(0, -1, 0, -1)], S("mode", "edge")));
        Assert.Equal([2, 5], Shape("Pad", 18, [new[] { 2, 3 }, V(1, 1), null, V(-1)]));
        Assert.Contains("Pad mode 'wrap' is not supported", Fails("Pad", 19, [new[] { 2, 3 }, V(1, 2, 1, 2)], S("mode", "wrap")).Message);
        Assert.Contains("reflect", Fails("Pad", 13, [new[] { 2, 3 }, V(0, 3, 0, 0)], S("mode", "reflect")).Message);
        Assert.Contains("pads", Fails("Pad", 13, [new[] { 2, 3 }, V(0, 3)]).Message);
        Assert.Contains("constant pads input", Fails("Pad", 13, [new[] { 2, 3 }, Ty(DataType.Int64, 4)]).Message);
    }

    // ---- Resize / Upsample ----

    [Fact]
    public void Resize_Scales()
    {
        Assert.Equal([1, 3, 15, 15], Shape("Resize", 13, [new[] { 1, 3, 10, 10 }, null, Fv(1, 1, 1.5f, 1.5f)]));
        Assert.Equal([1, 3, 3, 3], Shape("Resize", 13, [new[] { 1, 3, 10, 10 }, null, Fv(1, 1, 0.333f, 0.333f)], S("mode", "linear")));
        // opset 11: roi present, scales given
        Assert.Equal([1, 3, 20, 5], Shape("Resize", 11, [new[] { 1, 3, 10, 10 }, Fv(), Fv(1, 1, 2, 0.5f)], S("coordinate_transformation_mode", "asymmetric")));
        // opset 10: scales is input 1
        Assert.Equal([1, 3, 20, 20], Shape("Resize", 10, [new[] { 1, 3, 10, 10 }, Fv(1, 1, 2, 2)]));
    }

    [Fact]
    public void Resize_Sizes()
    {
        Assert.Equal([1, 3, 7, 9], Shape("Resize", 13, [new[] { 1, 3, 10, 10 }, null, null, V(1, 3, 7, 9)]));
        // opset 11 style: empty scales constant plus sizes
        Assert.Equal([1, 3, 7, 9], Shape("Resize", 11, [new[] { 1, 3, 10, 10 }, Fv(), Fv(), V(1, 3, 7, 9)]));
        Assert.Equal([1, 3, 20, 20], Shape("Resize", 18, [new[] { 1, 3, 10, 10 }, null, null, V(20, 30)], Is("axes", 2, 3), S("keep_aspect_ratio_policy", "not_larger")));
        Assert.Equal([1, 3, 30, 30], Shape("Resize", 18, [new[] { 1, 3, 10, 10 }, null, null, V(20, 30)], Is("axes", 2, 3), S("keep_aspect_ratio_policy", "not_smaller")));
    }

    [Fact]
    public void Resize_Errors()
    {
        Assert.Contains("Resize mode 'cubic' is not supported",
            Fails("Resize", 13, [new[] { 1, 3, 10, 10 }, null, Fv(1, 1, 2, 2)], S("mode", "cubic")).Message);
        Assert.Contains("not both", Fails("Resize", 13, [new[] { 1, 3, 10, 10 }, null, Fv(1, 1, 2, 2), V(1, 3, 20, 20)]).Message);
        Assert.Contains("scales or sizes", Fails("Resize", 13, [new[] { 1, 3, 10, 10 }]).Message);
        Assert.Contains("4 scales", Fails("Resize", 13, [new[] { 1, 3, 10 }, null, Fv(1, 1, 2, 2)]).Message);
        Assert.Contains("tf_crop_and_resize", Fails("Resize", 13, [new[] { 1, 3, 10, 10 }, null, Fv(1, 1, 2, 2)], S("coordinate_transformation_mode", "tf_crop_and_resize")).Message);
        Assert.Contains("nearest_mode", Fails("Resize", 13, [new[] { 1, 3, 10, 10 }, null, Fv(1, 1, 2, 2)], S("nearest_mode", "nope")).Message);
        Assert.Contains("constant scales input", Fails("Resize", 13, [new[] { 1, 3, 10, 10 }, null, Ty(F, 4)]).Message);
    }

    [Fact]
    public void Upsample_Forms()
    {
        Assert.Equal([1, 3, 20, 30], Shape("Upsample", 7, [new[] { 1, 3, 10, 10 }], Fs("scales", 1, 1, 2, 3)));
        Assert.Equal([1, 3, 20, 30], Shape("Upsample", 9, [new[] { 1, 3, 10, 10 }, Fv(1, 1, 2, 3)]));
        Assert.Contains("at least 1", Fails("Upsample", 9, [new[] { 1, 3, 10, 10 }, Fv(1, 1, 0.5f, 3)]).Message);
    }

    // ---- Split ----

    [Fact]
    public void Split_Forms()
    {
        var r = Infer("Split", 11, [new[] { 5, 4 }], [Is("split", 2, 3)], outputs: 2);
        Assert.Equal([2, 4], r[0]!.Shape);
        Assert.Equal([3, 4], r[1]!.Shape);
        r = Infer("Split", 13, [new[] { 4, 5 }, V(1, 4)], [I("axis", -1)], outputs: 2);
        Assert.Equal([4, 1], r[0]!.Shape);
        Assert.Equal([4, 4], r[1]!.Shape);
        r = Infer("Split", 13, [new[] { 6 }], outputs: 3);
        Assert.All(r, t => Assert.Equal([2], t!.Shape));
        r = Infer("Split", 18, [new[] { 7 }], [I("num_outputs", 3)], outputs: 3);
        Assert.Equal([3], r[0]!.Shape);
        Assert.Equal([3], r[1]!.Shape);
        Assert.Equal([1], r[2]!.Shape);
    }

    [Fact]
    public void Split_Errors()
    {
        Assert.Contains("sums to 4", FailsN("Split", 13, [new[] { 5 }, V(1, 3)], 2).Message);
        Assert.Contains("evenly", FailsN("Split", 13, [new[] { 5 }], 2).Message);
        Assert.Contains("2 outputs", FailsN("Split", 11, [new[] { 5 }], 2, Is("split", 1, 1, 3)).Message);
        Assert.Contains("num_outputs", FailsN("Split", 18, [new[] { 6 }], 2, I("num_outputs", 3)).Message);
        Assert.Contains("constant split input", FailsN("Split", 13, [new[] { 6 }, Ty(DataType.Int64, 2)], 2).Message);
    }

    // ---- Squeeze / Unsqueeze ----

    [Fact]
    public void Squeeze_Unsqueeze_PerOpset()
    {
        Assert.Equal([3, 1], Shape("Squeeze", 11, [new[] { 1, 3, 1 }], Is("axes", 0)));
        Assert.Equal([1, 3], Shape("Squeeze", 13, [new[] { 1, 3, 1 }, V(-1)]));
        Assert.Equal([3], Shape("Squeeze", 13, [new[] { 1, 3, 1 }]));
        Assert.Equal([3], Shape("Squeeze", 11, [new[] { 1, 3, 1 }]));
        Assert.Contains("cannot remove axis 1 of size 3", Fails("Squeeze", 13, [new[] { 1, 3, 1 }, V(1)]).Message);
        Assert.Contains("is not allowed from opset 13", Fails("Squeeze", 13, [new[] { 1, 3, 1 }], Is("axes", 0)).Message);

        Assert.Equal([1, 3, 4, 1], Shape("Unsqueeze", 11, [new[] { 3, 4 }], Is("axes", 0, -1)));
        Assert.Equal([3, 1, 4], Shape("Unsqueeze", 13, [new[] { 3, 4 }, V(1)]));
        Assert.Equal([1], Shape("Unsqueeze", 13, [Array.Empty<int>(), V(0)]));
        Assert.Contains("axes", Fails("Unsqueeze", 11, [new[] { 3, 4 }]).Message);
        Assert.Contains("repeat", Fails("Unsqueeze", 13, [new[] { 3, 4 }, V(0, 0)]).Message);
        Assert.Contains("out of range", Fails("Unsqueeze", 13, [new[] { 3, 4 }, V(3)]).Message);
    }

    // ---- Gemm / MatMul ----

    [Fact]
    public void Gemm_Transposes()
    {
        Assert.Equal([3, 5], Shape("Gemm", 13, [new[] { 4, 3 }, new[] { 5, 4 }], I("transA", 1), I("transB", 1)));
        Assert.Equal([4, 5], Shape("Gemm", 13, [new[] { 4, 3 }, new[] { 3, 5 }, new[] { 5 }]));
        Assert.Equal([4, 5], Shape("Gemm", 13, [new[] { 4, 3 }, new[] { 5, 3 }, new[] { 4, 1 }], I("transB", 1)));
        Assert.Contains("inner dimensions", Fails("Gemm", 13, [new[] { 4, 3 }, new[] { 4, 5 }]).Message);
        Assert.Contains("C [4]", Fails("Gemm", 13, [new[] { 4, 3 }, new[] { 3, 5 }, new[] { 4 }]).Message);
        Assert.Contains("transA", Fails("Gemm", 13, [new[] { 4, 3 }, new[] { 3, 5 }], I("transA", 2)).Message);
        Assert.Contains("2-D A", Fails("Gemm", 13, [new[] { 4, 3, 1 }, new[] { 3, 5 }]).Message);
    }

    [Fact]
    public void MatMul_BroadcastAnd1D()
    {
        Assert.Equal([2, 5, 3, 6], Shape("MatMul", 13, [new[] { 2, 1, 3, 4 }, new[] { 5, 4, 6 }]));
        Assert.Equal([6], Shape("MatMul", 13, [new[] { 4 }, new[] { 4, 6 }]));
        Assert.Equal([2, 6], Shape("MatMul", 13, [new[] { 4 }, new[] { 2, 4, 6 }]));
        Assert.Equal([3], Shape("MatMul", 13, [new[] { 3, 4 }, new[] { 4 }]));
        Assert.Equal([2, 3], Shape("MatMul", 13, [new[] { 2, 3, 4 }, new[] { 4 }]));
        Assert.Equal(Array.Empty<int>(), Shape("MatMul", 13, [new[] { 4 }, new[] { 4 }]));
        Assert.Contains("inner dimensions", Fails("MatMul", 13, [new[] { 3, 4 }, new[] { 5, 6 }]).Message);
        Assert.Contains("batch", Fails("MatMul", 13, [new[] { 2, 3, 4 }, new[] { 3, 4, 6 }]).Message);
    }

    // ---- normalization, softmax, reductions ----

    [Fact]
    public void Norms_And_Softmax()
    {
        Assert.Equal([1, 3, 4, 4], Shape("BatchNormalization", 15, [new[] { 1, 3, 4, 4 }, new[] { 3 }, new[] { 3 }, new[] { 3 }, new[] { 3 }]));
        Assert.Contains("expected [3]", Fails("BatchNormalization", 15, [new[] { 1, 3, 4, 4 }, new[] { 3 }, new[] { 4 }, new[] { 3 }, new[] { 3 }]).Message);
        Assert.Contains("training", FailsN("BatchNormalization", 9, [new[] { 1, 3, 4, 4 }, new[] { 3 }, new[] { 3 }, new[] { 3 }, new[] { 3 }], 3).Message);
        Assert.Equal([1, 3, 4, 4], Shape("InstanceNormalization", 13, [new[] { 1, 3, 4, 4 }, new[] { 3 }, new[] { 3 }]));
        Assert.Equal([1, 3, 4, 4], Shape("LRN", 13, [new[] { 1, 3, 4, 4 }], I("size", 3)));
        Assert.Contains("size", Fails("LRN", 13, [new[] { 1, 3, 4, 4 }]).Message);
        Assert.Equal([2, 3], Shape("Softmax", 13, [new[] { 2, 3 }]));
        Assert.Equal([2, 3], Shape("LogSoftmax", 11, [new[] { 2, 3 }]));
        // opset < 13 default axis is 1, which a 1-D input does not have
        Assert.Contains("axis 1 is out of range", Fails("Softmax", 11, [new[] { 3 }]).Message);
        Assert.Equal([3], Shape("Softmax", 13, [new[] { 3 }]));
    }

    [Fact]
    public void Reductions_PerOpset()
    {
        Assert.Equal([2, 1, 4], Shape("ReduceMean", 13, [new[] { 2, 3, 4 }], Is("axes", 1)));
        Assert.Equal([2, 4], Shape("ReduceMax", 13, [new[] { 2, 3, 4 }], Is("axes", -2), I("keepdims", 0)));
        Assert.Equal([1, 1, 1], Shape("ReduceProd", 13, [new[] { 2, 3, 4 }]));
        Assert.Equal(Array.Empty<int>(), Shape("ReduceMin", 13, [new[] { 2, 3, 4 }], I("keepdims", 0)));
        Assert.Equal([2, 1, 1], Shape("ReduceSum", 13, [new[] { 2, 3, 4 }, V(1, 2)]));
        Assert.Equal([2, 3, 4], Shape("ReduceSum", 13, [new[] { 2, 3, 4 }], I("noop_with_empty_axes", 1)));
        Assert.Equal([2, 3, 1], Shape("ReduceMean", 18, [new[] { 2, 3, 4 }, V(-1)]));
        Assert.Contains("constant axes input", Fails("ReduceMean", 18, [new[] { 2, 3, 4 }, Ty(DataType.Int64, 1)]).Message);
        Assert.Contains("out of range", Fails("ReduceMean", 13, [new[] { 2, 3, 4 }], Is("axes", 3)).Message);
        Assert.Contains("keepdims", Fails("ReduceMean", 13, [new[] { 2, 3, 4 }], I("keepdims", 5)).Message);
        Assert.Contains("not allowed from opset 13", Fails("ReduceSum", 13, [new[] { 2, 3, 4 }], Is("axes", 1)).Message);
    }

    // ---- data ops ----

    [Fact]
    public void Gather_Shape_Size_Cast()
    {
        Assert.Equal([2, 5, 6, 4], Shape("Gather", 13, [new[] { 2, 3, 4 }, Ty(DataType.Int64, 5, 6)], I("axis", 1)));
        Assert.Equal([3, 4], Shape("Gather", 13, [new[] { 2, 3, 4 }, Tensor.Scalar(-1L)]));
        Assert.Contains("index 2 is out of range", Fails("Gather", 13, [new[] { 2, 3, 4 }, V(0, 2)]).Message);
        Assert.Equal(Ty(DataType.Int64, 3), Infer("Shape", 13, [new[] { 2, 3, 4 }])[0]);
        Assert.Equal(Ty(DataType.Int64, 2), Infer("Shape", 15, [new[] { 2, 3, 4 }], [I("start", -2)])[0]);
        Assert.Equal(Ty(DataType.Int64, 1), Infer("Shape", 15, [new[] { 2, 3, 4 }], [I("start", 1), I("end", -1)])[0]);
        Assert.Equal(Ty(DataType.Int64, 0), Infer("Shape", 15, [new[] { 2, 3, 4 }], [I("start", 5)])[0]);
        Assert.Equal(Ty(DataType.Int64), Infer("Size", 13, [new[] { 2, 3, 4 }])[0]);
        Assert.Equal(Ty(DataType.Int32, 2, 3), Infer("Cast", 13, [new[] { 2, 3 }], [I("to", 6)])[0]);
        Assert.Contains("Cast to 'float16' is not supported", Fails("Cast", 13, [new[] { 2, 3 }], I("to", 10)).Message);
    }

    [Fact]
    public void Constants_Expand_Tile_Range()
    {
        Assert.Equal(Ty(F, 2, 2), Infer("Constant", 13, [], [NodeAttribute.FromTensor("value", Tensor.Zeros(F, [2, 2]))])[0]);
        Assert.Equal(Ty(DataType.Int64, 3), Infer("Constant", 13, [], [Is("value_ints", 1, 2, 3)])[0]);
        Assert.Contains("exactly one", Fails("Constant", 13, []).Message);
        Assert.Equal(Ty(F, 2, 3), Infer("ConstantOfShape", 13, [V(2, 3)])[0]);
        Assert.Equal(Ty(DataType.Int64, 4), Infer("ConstantOfShape", 13, [V(4)], [NodeAttribute.FromTensor("value", Tensor.Vector(7))])[0]);
        Assert.Contains("ConstantOfShape needs a constant shape input", Fails("ConstantOfShape", 13, [Ty(DataType.Int64, 2)]).Message);
        Assert.Equal([2, 3, 4], Shape("Expand", 13, [new[] { 3, 1 }, V(2, 1, 4)]));
        Assert.Contains("Expand cannot broadcast [3,2] with [4]", Fails("Expand", 13, [new[] { 3, 2 }, V(4)]).Message);
        Assert.Equal([6, 4], Shape("Tile", 13, [new[] { 3, 2 }, V(2, 2)]));
        Assert.Contains("repeats", Fails("Tile", 13, [new[] { 3, 2 }, V(2)]).Message);
        Assert.Equal(Ty(DataType.Int64, 4), Infer("Range", 13, [Tensor.Scalar(0L), Tensor.Scalar(10L), Tensor.Scalar(3L)])[0]);
        Assert.Equal(Ty(DataType.Int64, 3), Infer("Range", 13, [Tensor.Scalar(10L), Tensor.Scalar(4L), Tensor.Scalar(-2L)])[0]);
        Assert.Equal(Ty(DataType.Int64, 0), Infer("Range", 13, [Tensor.Scalar(10L), Tensor.Scalar(4L), Tensor.Scalar(2L)])[0]);
        Assert.Equal(Ty(F, 4), Infer("Range", 13, [Tensor.Scalar(0f), Tensor.Scalar(1f), Tensor.Scalar(0.25f)])[0]);
        Assert.Equal(Ty(DataType.Double, 5), Infer("Range", 13, [new Tensor(DataType.Double, [], new[] { 0.0 }), new Tensor(DataType.Double, [], new[] { 1.1 }), new Tensor(DataType.Double, [], new[] { 0.25 })])[0]);
        Assert.Contains("delta cannot be 0", Fails("Range", 13, [Tensor.Scalar(0L), Tensor.Scalar(1L), Tensor.Scalar(0L)]).Message);
        Assert.Contains("constant limit input", Fails("Range", 13, [Tensor.Scalar(0L), Ty(DataType.Int64), Tensor.Scalar(1L)]).Message);
        Assert.Equal([1, 2, 6, 6], Shape("DepthToSpace", 13, [new[] { 1, 18, 2, 2 }], I("blocksize", 3), S("mode", "CRD")));
        Assert.Contains("not divisible", Fails("DepthToSpace", 13, [new[] { 1, 8, 2, 2 }], I("blocksize", 3)).Message);
    }

    // ---- fused ops, dispatch ----

    [Fact]
    public void FusedOps_ResidualMustMatch()
    {
        var conv = Infer(FusedOps.FusedConv, 13, [new[] { 1, 3, 8, 8 }, new[] { 4, 3, 3, 3 }, null, new[] { 1, 4, 6, 6 }],
            [S(FusedOps.ActivationAttribute, "Relu")], domain: FusedOps.Domain);
        Assert.Equal(Ty(F, 1, 4, 6, 6), conv[0]);
        var e = Assert.Throws<ModelException>(() => Infer(FusedOps.FusedConv, 13,
            [new[] { 1, 3, 8, 8 }, new[] { 4, 3, 3, 3 }, null, new[] { 1, 4, 1, 1 }], domain: FusedOps.Domain));
        Assert.Contains("residual", e.Message);
        Assert.Equal(FusedOps.FusedConv, e.Node!.OpType);
        e = Assert.Throws<ModelException>(() => Infer(FusedOps.FusedConv, 13,
            [new[] { 1, 3, 8, 8 }, new[] { 4, 4, 3, 3 }], domain: FusedOps.Domain));
        Assert.Contains("channels", e.Message);
        Assert.Equal(13, e.Opset);
        Assert.Equal(FusedOps.FusedConv, e.Node!.OpType);
        Assert.Equal(Ty(F, 4, 5), Infer(FusedOps.FusedGemm, 13, [new[] { 4, 3 }, new[] { 3, 5 }, new[] { 5 }, new[] { 4, 5 }], domain: FusedOps.Domain)[0]);
        Assert.Equal(Ty(F, 2, 4, 5), Infer(FusedOps.FusedMatMul, 13, [new[] { 2, 4, 3 }, new[] { 3, 5 }, new[] { 5 }, new[] { 2, 4, 5 }], domain: FusedOps.Domain)[0]);
        e = Assert.Throws<ModelException>(() => Infer(FusedOps.FusedMatMul, 13, [new[] { 2, 4, 3 }, new[] { 3, 5 }, new[] { 4 }], domain: FusedOps.Domain));
        Assert.Contains("bias", e.Message);
        e = Assert.Throws<ModelException>(() => Infer(FusedOps.FusedGemm, 13, [new[] { 4, 3 }, new[] { 3, 5 }],
            [S(FusedOps.ActivationAttribute, "Gelu")], domain: FusedOps.Domain));
        Assert.Contains("activation 'Gelu'", e.Message);
    }

    [Fact]
    public void Dispatch()
    {
        Assert.True(ShapeInference.IsSupported("", "Conv"));
        Assert.True(ShapeInference.IsSupported("ai.onnx", "Resize"));
        Assert.True(ShapeInference.IsSupported(FusedOps.Domain, FusedOps.FusedMatMul));
        Assert.False(ShapeInference.IsSupported("", "FusedConv"));
        Assert.False(ShapeInference.IsSupported("", "NonMaxSuppression"));
        Assert.False(ShapeInference.IsSupported("com.microsoft", "Conv"));
        var e = Fails("NonMaxSuppression", 13, [new[] { 1, 3, 4 }]);
        Assert.Contains("NonMaxSuppression", e.Message);
        e = Fails("Add", 13, [new[] { 1, 3, 4 }]);
        Assert.Contains("Add expects 2 inputs, got 1", e.Message);
        // attribute of the wrong kind surfaces as a ModelException with the node and opset
        e = Fails("Flatten", 13, [new[] { 2, 3 }], S("axis", "one"));
        Assert.Contains("axis", e.Message);
    }
}
