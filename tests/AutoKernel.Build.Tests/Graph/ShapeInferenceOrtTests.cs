using AutoKernel.Build.Graph;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Onnx.Proto;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using DenseTensorF = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;
using Tensor = AutoKernel.Build.Graph.Tensor;

namespace AutoKernel.Build.Tests.Graph;

/// <summary>Cross-checks output shapes of the window-based and data-dependent ops against ONNX Runtime.</summary>
public class ShapeInferenceOrtTests
{
    private static NodeAttribute I(string name, long v) => NodeAttribute.Int(name, v);
    private static NodeAttribute Is(string name, params long[] v) => NodeAttribute.IntList(name, v);
    private static NodeAttribute S(string name, string v) => NodeAttribute.String(name, v);

    /// <summary>inputs: int[] = run-time float input of that shape, Tensor = initializer, null = absent.</summary>
    private static void Check(string op, int opset, object?[] inputs, params NodeAttribute[] attrs)
    {
        var names = new List<string>();
        var types = new List<TensorType?>();
        var consts = new List<Tensor?>();
        var graph = new GraphProto { Name = "g" };
        var feeds = new List<NamedOnnxValue>();
        for (int i = 0; i < inputs.Length; i++)
        {
            switch (inputs[i])
            {
                case null:
                    names.Add(""); types.Add(null); consts.Add(null);
                    break;
                case int[] shape:
                    string n = $"x{i}";
                    names.Add(n); types.Add(new TensorType(DataType.Float, shape)); consts.Add(null);
                    var vi = new ValueInfoProto { Name = n, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = new TensorShapeProto() } } };
                    foreach (int d in shape)
                        vi.Type.TensorType.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
                    graph.Input.Add(vi);
                    feeds.Add(NamedOnnxValue.CreateFromTensor(n, new DenseTensorF(shape.Length == 0 ? [] : shape)));
                    break;
                case Tensor t:
                    string cn = $"c{i}";
                    names.Add(cn); types.Add(TensorType.Of(t)); consts.Add(t);
                    graph.Initializer.Add(TensorProtos.FromTensor(t, cn));
                    break;
            }
        }
        var node = new Node("n0", op, names, ["y"]);
        foreach (var a in attrs)
            node.Set(a);
        var ours = ShapeInference.Infer(node, opset, [.. types], [.. consts])[0]!.Shape;

        var np = new NodeProto { Name = "n0", OpType = op };
        np.Input.AddRange(names);
        np.Output.Add("y");
        foreach (var a in attrs)
        {
            var ap = new AttributeProto { Name = a.Name };
            switch (a.Kind)
            {
                case AttributeKind.Int: ap.Type = AttributeProto.Types.AttributeType.Int; ap.I = a.I; break;
                case AttributeKind.Ints: ap.Type = AttributeProto.Types.AttributeType.Ints; ap.Ints.AddRange(a.Ints); break;
                case AttributeKind.String: ap.Type = AttributeProto.Types.AttributeType.String; ap.S = ByteString.CopyFromUtf8(a.S); break;
                case AttributeKind.Floats: ap.Type = AttributeProto.Types.AttributeType.Floats; ap.Floats.AddRange(a.Floats); break;
                case AttributeKind.Float: ap.Type = AttributeProto.Types.AttributeType.Float; ap.F = a.F; break;
                default: throw new ArgumentException("attr kind");
            }
            np.Attribute.Add(ap);
        }
        graph.Node.Add(np);
        graph.Output.Add(new ValueInfoProto { Name = "y", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1 } } });
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        using var session = new InferenceSession(model.ToByteArray());
        using var results = session.Run(feeds);
        var theirs = results.First().AsTensor<float>().Dimensions.ToArray();
        Assert.True(theirs.SequenceEqual(ours), $"{op}: ours {ShapeMath.Format(ours)} vs ORT {ShapeMath.Format(theirs)}");
    }

    [Theory]
    [InlineData(5, 2, 2, 1, 1)]
    [InlineData(6, 2, 2, 0, 1)]
    [InlineData(6, 3, 2, 0, 1)]
    [InlineData(7, 3, 2, 1, 1)]
    [InlineData(112, 3, 2, 0, 0)]
    [InlineData(10, 3, 3, 1, 1)]
    [InlineData(11, 4, 3, 2, 1)]
    [InlineData(9, 2, 4, 1, 0)]
    public void Pools_MatchOrt(int input, int k, int s, int padBegin, int padEnd)
    {
        foreach (var op in new[] { "MaxPool", "AveragePool" })
            foreach (int ceil in new[] { 0, 1 })
                Check(op, 13, [new[] { 1, 1, input }], Is("kernel_shape", k), Is("strides", s), Is("pads", padBegin, padEnd), I("ceil_mode", ceil));
        foreach (var mode in new[] { "SAME_UPPER", "SAME_LOWER", "VALID" })
            foreach (int ceil in new[] { 0, 1 })
                Check("MaxPool", 13, [new[] { 1, 1, input }], Is("kernel_shape", k), Is("strides", s), S("auto_pad", mode), I("ceil_mode", ceil));
        Check("MaxPool", 13, [new[] { 1, 1, input }], Is("kernel_shape", k), Is("strides", s), Is("dilations", 2), Is("pads", 0, 0), I("ceil_mode", 1));
    }

    [Theory]
    [InlineData(7, 3, 2, 1, 1)]
    [InlineData(8, 3, 2, 2, 0)]
    [InlineData(5, 1, 3, 1, 0)]
    public void Convs_MatchOrt(int input, int k, int s, int dilation, int pad)
    {
        foreach (var mode in new[] { "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID" })
        {
            // ONNX Runtime rejects pads next to auto_pad, even all-zero ones.
            NodeAttribute[] p = mode == "NOTSET" ? [Is("pads", pad, pad + 1)] : [];
            // ONNX Runtime's Conv refuses dilation with SAME padding (ONNX allows it: output = ceil(in / stride)).
            if (!(mode.StartsWith("SAME", StringComparison.Ordinal) && dilation > 1))
                Check("Conv", 13, [new[] { 1, 2, input }, new[] { 3, 2, k }], [Is("strides", s), Is("dilations", dilation), S("auto_pad", mode), .. p]);
            Check("ConvTranspose", 13, [new[] { 1, 2, input }, new[] { 2, 3, k }], [Is("strides", s), Is("dilations", dilation), S("auto_pad", mode), .. p]);
            Check("ConvTranspose", 13, [new[] { 1, 2, input }, new[] { 2, 3, k }], [Is("strides", s), Is("dilations", dilation), S("auto_pad", mode), .. p, Is("output_padding", s - 1)]);
        }
        int full = s * (input - 1) + dilation * (k - 1) + 1;
        Check("ConvTranspose", 13, [new[] { 1, 2, input, input }, new[] { 2, 3, k, k }], Is("strides", s, s), Is("dilations", dilation, dilation), Is("output_shape", full + s - 1, full - 1));
    }

    [Theory]
    [InlineData(12)]
    [InlineData(14)]
    [InlineData(15)]
    [InlineData(16)]
    public void ConvTransposeOutputShape_MatchesOrt(int output)
    {
        // in 7, k 3, s 2: the full output is 15; ONNX Runtime accepts up to 16.
        Check("ConvTranspose", 13, [new[] { 1, 2, 7 }, new[] { 2, 3, 3 }], Is("strides", 2), Is("output_shape", output));
    }

    [Fact]
    public void Resize_MatchesOrt()
    {
        foreach (float scale in new[] { 0.333f, 1.5f, 1.6666666f, 2.2f, 0.5f, 0.7f })
        {
            Check("Resize", 13, [new[] { 1, 1, 6, 7 }, null, Tensor.FromFloats([4], [1, 1, scale, scale])]);
            Check("Resize", 13, [new[] { 1, 1, 9, 11 }, null, Tensor.FromFloats([4], [1, 1, scale, scale])], S("mode", "linear"));
        }
        Check("Resize", 18, [new[] { 1, 1, 9, 11 }, null, null, Tensor.Vector(20, 30)], Is("axes", 2, 3), S("keep_aspect_ratio_policy", "not_larger"));
        Check("Resize", 18, [new[] { 1, 1, 9, 11 }, null, null, Tensor.Vector(20, 30)], Is("axes", 2, 3), S("keep_aspect_ratio_policy", "not_smaller"));
        Check("Resize", 18, [new[] { 1, 1, 3, 8 }, null, null, Tensor.Vector(5, 5)], Is("axes", 2, 3), S("keep_aspect_ratio_policy", "not_smaller"));
    }

    [Fact]
    public void Slice_MatchesOrt()
    {
        long[][] cases =
        [
            [-1, long.MinValue, -1], [9, -100, -2], [50, 2, -3], [8, 2, 1], [-3, long.MaxValue, 1], [0, 10, long.MaxValue],
            [-1, long.MinValue, long.MinValue], [3, 3, 1], [-20, 5, 2], [12, -12, -1],
        ];
        foreach (var c in cases)
            Check("Slice", 13, [new[] { 10 }, Tensor.Vector(c[0]), Tensor.Vector(c[1]), Tensor.Vector(0), Tensor.Vector(c[2])]);
    }
}
