using System.Text.RegularExpressions;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Lowering;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Tests.Support;

namespace AutoKernel.Build.Tests.Lowering;

/// <summary>
/// Every default-domain operator of docs/operators.md, in small single-node graphs with
/// representative attributes (broadcasting, negative axes, opset variants, NCHW[b]c with channels
/// that do not fill the last block): the generated fixed kernel matches the reference executor;
/// the operators that only compute non-float tensors have no kernel and say why.
/// </summary>
public sealed class FixedOperatorTableTests
{
    private static OracleCase One(string label, int opset, Func<ModelBuilder, string> body, int block = 0, double tol = 1e-5, DataType output = DataType.Float)
    {
        var b = new ModelBuilder(label.Replace(' ', '_'), opset);
        string y = body(b);
        b.Output(y, output);
        var graph = Graphs.Prepare(b.Build()).Resolved;
        var node = graph.Producer(y) ?? throw new InvalidOperationException($"{label}: no node produces {y}");
        return new OracleCase(label, graph, node, block, tol);
    }

    private static string X(ModelBuilder b, params int[] shape) => b.Input("x", DataType.Float, shape);

    private static string Ints(ModelBuilder b, string name, params long[] v) => b.Initializer(name, Tensor.Vector(v));

    private static string Const(ModelBuilder b, string name, float[] data, params int[] shape) => b.Initializer(name, data, shape);

    private static float[] Seq(int n, float scale = 0.1f, float offset = 0f) => [.. Enumerable.Range(0, n).Select(i => offset + scale * ((i * 7 % 11) - 5))];

    private static float[] Positive(int n) => [.. Enumerable.Range(0, n).Select(i => 0.5f + 0.1f * (i % 7))];

    public static IEnumerable<OracleCase> Cases()
    {
        // Elementwise, broadcasting, blocked with C = 20 (not a multiple of 8 or 16).
        yield return One("Add broadcast", 17, b => b.Node("Add", [X(b, 2, 3, 4, 5), b.Input("z", DataType.Float, 3, 1, 5)]));
        yield return One("Add const per channel blocked", 17, b => b.Node("Add", [X(b, 1, 20, 5, 6), Const(b, "c", Seq(20), 1, 20, 1, 1)]), block: 8);
        yield return One("Add blocked", 17, b => b.Node("Add", [X(b, 2, 20, 3, 7), b.Input("z", DataType.Float, 2, 20, 3, 7)]), block: 16);
        yield return One("Sub scalar", 17, b => b.Node("Sub", [Const(b, "c", [0.25f]), X(b, 2, 3, 4)]));
        yield return One("Mul SE blocked", 17, b => b.Node("Mul", [X(b, 1, 20, 5, 6), b.Input("s", DataType.Float, 1, 20, 1, 1)]), block: 8);
        yield return One("Mul SE", 17, b => b.Node("Mul", [X(b, 1, 20, 5, 6), b.Input("s", DataType.Float, 1, 20, 1, 1)]));
        yield return One("Div", 17, b => b.Node("Div", [X(b, 4, 5), Const(b, "c", Positive(5), 5)]));
        yield return One("Pow", 17, b => b.Node("Pow", [X(b, 3, 4), Const(b, "e", [2f])]));
        yield return One("Mod fmod", 17, b => b.Node("Mod", [X(b, 3, 4), Const(b, "d", Positive(4), 4)], a => a.Int("fmod", 1)));
        yield return One("Pow 1.5", 17, b => b.Node("Pow", [Const(b, "c", Positive(12), 3, 4), X(b, 2, 3, 4)]));
        yield return One("Min", 17, b => b.Node("Min", [X(b, 2, 3, 4), b.Input("p", DataType.Float, 4), b.Input("q", DataType.Float, 3, 1)]));
        yield return One("Max", 17, b => b.Node("Max", [X(b, 2, 3, 4), b.Input("p", DataType.Float, 1, 4)]));
        yield return One("Sum", 17, b => b.Node("Sum", [X(b, 2, 3, 4), b.Input("p", DataType.Float, 2, 3, 4), b.Input("q", DataType.Float, 4)]));
        yield return One("Mean", 17, b => b.Node("Mean", [X(b, 2, 3, 4), b.Input("p", DataType.Float, 3, 4)]));
        yield return One("Sum blocked", 17, b => b.Node("Sum", [X(b, 1, 20, 3, 3), b.Input("p", DataType.Float, 1, 20, 3, 3), Const(b, "c", Seq(20), 20, 1, 1)]), block: 16);
        yield return One("PRelu", 17, b => b.Node("PRelu", [X(b, 2, 3, 4, 5), Const(b, "s", Seq(3), 3, 1, 1)]));
        yield return One("PRelu blocked", 17, b => b.Node("PRelu", [X(b, 1, 20, 4, 4), Const(b, "s", Seq(20), 20, 1, 1)]), block: 8);
        yield return One("PRelu opset 6", 6, b => b.Node("PRelu", [X(b, 2, 3, 4, 5), Const(b, "s", Seq(3), 3)]));
        yield return One("Where", 17, b => b.Node("Where",
            [b.Initializer("cond", new Tensor(DataType.Bool, [4, 5], Enumerable.Range(0, 20).Select(i => i % 3 == 0).ToArray())), X(b, 4, 5), b.Input("z", DataType.Float, 5)]));
        foreach (string op in new[] { "Neg", "Abs", "Sqrt", "Exp", "Log", "Reciprocal", "Floor", "Ceil", "Erf", "Softsign", "Relu", "Sigmoid", "HardSwish", "Tanh", "Softplus" })
            yield return One(op, 17, b => b.Node(op, [X(b, 2, 3, 37)]));
        yield return One("Sigmoid blocked", 17, b => b.Node("Sigmoid", [X(b, 1, 20, 3, 5)]), block: 8);
        yield return One("HardSigmoid blocked", 17, b => b.Node("HardSigmoid", [X(b, 1, 20, 3, 5)], a => a.Float("alpha", 0.3f).Float("beta", 0.4f)), block: 16);
        yield return One("LeakyRelu", 17, b => b.Node("LeakyRelu", [X(b, 3, 40)], a => a.Float("alpha", 0.2f)));
        yield return One("Elu", 17, b => b.Node("Elu", [X(b, 3, 40)], a => a.Float("alpha", 0.7f)));
        yield return One("Selu", 17, b => b.Node("Selu", [X(b, 3, 40)]));
        yield return One("Clip opset 6", 6, b => b.Node("Clip", [X(b, 3, 40)], a => a.Float("min", -0.2f).Float("max", 0.3f)));
        yield return One("Clip opset 13", 13, b => b.Node("Clip", [X(b, 3, 40), Const(b, "lo", [-0.5f]), ""]));
        yield return One("Clip computed bounds", 13, b => b.Node("Clip", [X(b, 3, 40), b.Input("lo", DataType.Float), b.Input("hi", DataType.Float)]));
        yield return One("Cast", 17, b => b.Node("Cast", [X(b, 3, 4)], a => a.Int("to", 1)));
        yield return One("BatchNormalization", 15, b => b.Node("BatchNormalization",
            [X(b, 2, 5, 3, 3), Const(b, "g", Seq(5), 5), Const(b, "bb", Seq(5, 0.2f), 5), Const(b, "m", Seq(5, 0.3f), 5), Const(b, "v", Positive(5), 5)]));
        yield return One("BatchNormalization blocked", 15, b => b.Node("BatchNormalization",
            [X(b, 1, 20, 3, 3), Const(b, "g", Seq(20), 20), Const(b, "bb", Seq(20, 0.2f), 20), Const(b, "m", Seq(20, 0.3f), 20), Const(b, "v", Positive(20), 20)]), block: 8);

        // Pooling.
        yield return One("MaxPool blocked", 17, b => b.Node("MaxPool", [X(b, 1, 20, 9, 9)], a => a.Ints("kernel_shape", 3, 3).Ints("strides", 2, 2).Ints("pads", 1, 1, 1, 1)), block: 8);
        yield return One("MaxPool ceil", 17, b => b.Node("MaxPool", [X(b, 1, 3, 8, 8)], a => a.Ints("kernel_shape", 3, 3).Ints("strides", 2, 2).Int("ceil_mode", 1)));
        yield return One("MaxPool dilated", 17, b => b.Node("MaxPool", [X(b, 1, 3, 9, 9)], a => a.Ints("kernel_shape", 2, 2).Ints("dilations", 2, 2).Ints("pads", 1, 0, 0, 1)));
        yield return One("MaxPool 1-D", 17, b => b.Node("MaxPool", [X(b, 2, 3, 10)], a => a.Ints("kernel_shape", 3).Ints("strides", 2)));
        yield return One("AveragePool 3-D", 17, b => b.Node("AveragePool", [X(b, 1, 2, 5, 6, 7)], a => a.Ints("kernel_shape", 2, 2, 2).Ints("pads", 1, 0, 1, 0, 1, 0)));
        yield return One("AveragePool include pad blocked", 17, b => b.Node("AveragePool", [X(b, 1, 20, 7, 7)],
            a => a.Ints("kernel_shape", 3, 3).Ints("strides", 2, 2).Ints("pads", 1, 1, 1, 1).Int("count_include_pad", 1)), block: 16);
        yield return One("AveragePool SAME_UPPER", 17, b => b.Node("AveragePool", [X(b, 1, 3, 7, 8)], a => a.Ints("kernel_shape", 3, 2).Ints("strides", 2, 2).String("auto_pad", "SAME_UPPER")));
        yield return One("AveragePool ceil", 17, b => b.Node("AveragePool", [X(b, 1, 3, 8, 8)], a => a.Ints("kernel_shape", 3, 3).Ints("strides", 2, 2).Ints("pads", 1, 1, 1, 1).Int("ceil_mode", 1).Int("count_include_pad", 1)));
        yield return One("GlobalAveragePool blocked", 17, b => b.Node("GlobalAveragePool", [X(b, 2, 20, 5, 5)]), block: 8);
        yield return One("GlobalMaxPool blocked", 17, b => b.Node("GlobalMaxPool", [X(b, 1, 20, 3, 3)]), block: 16);
        yield return One("GlobalAveragePool 1-D", 17, b => b.Node("GlobalAveragePool", [X(b, 2, 3, 70)]));
        yield return One("GlobalMaxPool", 17, b => b.Node("GlobalMaxPool", [X(b, 2, 3, 4, 5)]));

        // Reductions.
        yield return One("ReduceMean HW blocked", 13, b => b.Node("ReduceMean", [X(b, 1, 20, 4, 5)], a => a.Ints("axes", -1, -2)), block: 8);
        yield return One("ReduceMean HW", 13, b => b.Node("ReduceMean", [X(b, 2, 3, 4, 5)], a => a.Ints("axes", 2, 3)));
        yield return One("ReduceSum axes input", 13, b => b.Node("ReduceSum", [X(b, 2, 3, 4), Ints(b, "axes", 1)], a => a.Int("keepdims", 0)));
        yield return One("ReduceSum all", 13, b => b.Node("ReduceSum", [X(b, 2, 3, 4)]));
        yield return One("ReduceMax last", 13, b => b.Node("ReduceMax", [X(b, 2, 3, 40)], a => a.Ints("axes", -1)));
        yield return One("ReduceMin outer", 13, b => b.Node("ReduceMin", [X(b, 2, 3, 4)], a => a.Ints("axes", 0, 2).Int("keepdims", 0)));
        yield return One("ReduceProd", 13, b => b.Node("ReduceProd", [X(b, 2, 3, 4)], a => a.Ints("axes", 1)));
        yield return One("ReduceMean opset 18", 18, b => b.Node("ReduceMean", [X(b, 2, 3, 4, 5), Ints(b, "axes", -3)]));
        foreach (string op in new[] { "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp" })
        {
            // Contiguous last axis (vector path), kept inner run, everything, and no axes at all.
            yield return One($"{op} last", 18, b => b.Node(op, [X(b, 2, 3, 40), Ints(b, "axes", -1)]));
            yield return One($"{op} outer", 18, b => b.Node(op, [X(b, 2, 3, 20), Ints(b, "axes", 0, 1)], a => a.Int("keepdims", 0)));
            yield return One($"{op} all", 13, b => b.Node(op, [X(b, 3, 5)]));
            yield return One($"{op} noop", 18, b => b.Node(op, [X(b, 3, 5)], a => a.Int("noop_with_empty_axes", 1)));
        }

        // Softmax family.
        yield return One("Softmax opset 11 coerced", 11, b => b.Node("Softmax", [X(b, 2, 3, 4)], a => a.Int("axis", 1)));
        yield return One("Softmax opset 13 axis 1", 13, b => b.Node("Softmax", [X(b, 2, 3, 4)], a => a.Int("axis", 1)));
        yield return One("Softmax last", 13, b => b.Node("Softmax", [X(b, 3, 1000)]));
        yield return One("LogSoftmax", 13, b => b.Node("LogSoftmax", [X(b, 2, 3, 4)], a => a.Int("axis", -2)));

        // Normalization.
        yield return One("LayerNormalization", 17, b => b.Node("LayerNormalization", [X(b, 2, 3, 8), Const(b, "g", Seq(8), 8), Const(b, "bb", Seq(8, 0.3f), 8)], a => a.Int("axis", -1)));
        yield return One("LayerNormalization broadcast scale", 17, b => b.Node("LayerNormalization", [X(b, 2, 3, 8), Const(b, "g", Seq(3), 3, 1), Const(b, "bb", Seq(8, 0.3f), 1, 8)], a => a.Int("axis", 1)));
        yield return One("Swish", 24, b => b.Node("Swish", [X(b, 2, 3, 37)]));
        yield return One("Swish alpha", 24, b => b.Node("Swish", [X(b, 4, 9)], a => a.Float("alpha", 1.7f)));
        yield return One("RMSNormalization", 23, b => b.Node("RMSNormalization", [X(b, 2, 3, 8), Const(b, "g", Seq(8), 8)]));
        yield return One("RMSNormalization 2 axes", 23, b => b.Node("RMSNormalization", [X(b, 2, 3, 8), Const(b, "g", Seq(3), 3, 1)], a => a.Int("axis", 1).Float("epsilon", 1e-3f)));
        yield return One("LayerNormalization 2 axes", 17, b => b.Node("LayerNormalization", [X(b, 2, 3, 8), Const(b, "g", Seq(24), 3, 8)], a => a.Int("axis", 1).Float("epsilon", 1e-3f)));
        yield return One("InstanceNormalization", 17, b => b.Node("InstanceNormalization", [X(b, 2, 3, 4, 5), Const(b, "g", Seq(3), 3), Const(b, "bb", Seq(3, 0.2f), 3)]));
        yield return One("LRN", 17, b => b.Node("LRN", [X(b, 1, 5, 3, 3)], a => a.Int("size", 3).Float("alpha", 0.01f)));

        // Data movement.
        yield return One("Concat axis 1", 17, b => b.Node("Concat", [X(b, 2, 3, 4), b.Input("z", DataType.Float, 2, 5, 4)], a => a.Int("axis", 1)));
        yield return One("Concat axis -1 with a constant", 17, b => b.Node("Concat", [X(b, 2, 3, 4), Const(b, "c", Seq(6), 2, 3, 1)], a => a.Int("axis", -1)));
        yield return One("Concat blocked", 17, b => b.Node("Concat", [X(b, 1, 8, 3, 3), b.Input("z", DataType.Float, 1, 12, 3, 3)], a => a.Int("axis", 1)), block: 8);
        yield return One("Split opset 13", 13, b => b.Node("Split", [X(b, 2, 5, 3), Ints(b, "split", 2, 3)], outputs: 2, a => a.Int("axis", 1))[0]);
        yield return One("Split opset 11 attr", 11, b => b.Node("Split", [X(b, 6, 4)], outputs: 3, a => a.Int("axis", -2))[1]);
        yield return One("Split opset 18 num_outputs", 18, b => b.Node("Split", [X(b, 7, 2)], outputs: 3, a => a.Int("num_outputs", 3))[0]);
        yield return One("Transpose NHWC", 17, b => b.Node("Transpose", [X(b, 2, 3, 4, 5)], a => a.Ints("perm", 0, 2, 3, 1)));
        yield return One("Transpose default", 17, b => b.Node("Transpose", [X(b, 2, 3, 4)]));
        yield return One("Transpose shuffle", 17, b => b.Node("Transpose", [X(b, 1, 2, 6, 4, 4)], a => a.Ints("perm", 0, 2, 1, 3, 4)));
        yield return One("Slice negative step", 13, b => b.Node("Slice", [X(b, 4, 6, 5), Ints(b, "st", -1, 1), Ints(b, "en", -5, 5), Ints(b, "ax", 0, 2), Ints(b, "sp", -1, 2)]));
        yield return One("Slice opset 9", 9, b => b.Node("Slice", [X(b, 4, 6)], a => a.Ints("starts", 1, 0).Ints("ends", 3, 100).Ints("axes", 0, 1)));
        yield return One("Gather 2-D indices", 13, b => b.Node("Gather", [X(b, 3, 4, 5), b.Initializer("i", Tensor.FromInt64s([2, 2], [0, 2, -1, 1]))], a => a.Int("axis", 1)));
        yield return One("Gather scalar", 13, b => b.Node("Gather", [X(b, 3, 4), b.Initializer("i", Tensor.Scalar(2L))]));
        yield return One("Expand", 13, b => b.Node("Expand", [X(b, 3, 1), Ints(b, "s", 2, 3, 4)]));
        yield return One("Tile", 13, b => b.Node("Tile", [X(b, 2, 3), Ints(b, "r", 2, 2)]));
        yield return One("Pad constant", 13, b => b.Node("Pad", [X(b, 2, 3, 4), Ints(b, "p", 0, 1, 2, 0, 2, 1), Const(b, "v", [1.5f])]));
        yield return One("Pad reflect", 13, b => b.Node("Pad", [X(b, 1, 2, 4, 5), Ints(b, "p", 0, 0, 2, 1, 0, 0, 1, 3)], a => a.String("mode", "reflect")));
        yield return One("Pad edge", 13, b => b.Node("Pad", [X(b, 2, 5), Ints(b, "p", 1, 2, 2, 1)], a => a.String("mode", "edge")));
        yield return One("Pad opset 2", 2 + 4, b => b.Node("Pad", [X(b, 2, 5)], a => a.Ints("pads", 1, 0, 0, 2).Float("value", -1f)));
        yield return One("Pad blocked", 13, b => b.Node("Pad", [X(b, 1, 20, 4, 5), Ints(b, "p", 0, 0, 1, 2, 0, 0, 2, 1), Const(b, "v", [0.5f])]), block: 8);
        yield return One("DepthToSpace DCR", 13, b => b.Node("DepthToSpace", [X(b, 1, 8, 2, 3)], a => a.Int("blocksize", 2)));
        yield return One("DepthToSpace CRD", 13, b => b.Node("DepthToSpace", [X(b, 1, 8, 2, 3)], a => a.Int("blocksize", 2).String("mode", "CRD")));
        yield return One("SpaceToDepth", 13, b => b.Node("SpaceToDepth", [X(b, 1, 2, 4, 6)], a => a.Int("blocksize", 2)));
        yield return One("Resize nearest blocked", 13, b => b.Node("Resize", [X(b, 1, 20, 3, 4), "", Const(b, "s", [1, 1, 2, 2], 4)],
            a => a.String("mode", "nearest").String("coordinate_transformation_mode", "asymmetric").String("nearest_mode", "floor")), block: 8);
        yield return One("Resize nearest half_pixel", 13, b => b.Node("Resize", [X(b, 1, 2, 5, 4), "", Const(b, "s", [1, 1, 1.7f, 0.6f], 4)]));
        yield return One("Resize linear sizes", 13, b => b.Node("Resize", [X(b, 1, 2, 5, 4), "", "", Ints(b, "sz", 1, 2, 7, 9)], a => a.String("mode", "linear")));
        yield return One("Resize linear align_corners", 13, b => b.Node("Resize", [X(b, 2, 3, 4), "", Const(b, "s", [1, 2, 2.5f], 3)],
            a => a.String("mode", "linear").String("coordinate_transformation_mode", "align_corners")));
        yield return One("Resize opset 10", 10, b => b.Node("Resize", [X(b, 1, 1, 3, 3), Const(b, "s", [1, 1, 2, 3], 4)]));
        yield return One("Upsample opset 9", 9, b => b.Node("Upsample", [X(b, 1, 2, 3, 3), Const(b, "s", [1, 1, 2, 2], 4)]));
        yield return One("Upsample opset 7 bilinear", 7, b => b.Node("Upsample", [X(b, 1, 2, 3, 3)], a => a.String("mode", "linear").Floats("scales", 1, 1, 2, 2)));
        yield return One("Identity", 17, b => b.Node("Identity", [X(b, 3, 4)]));
        yield return One("Dropout", 12, b => b.Node("Dropout", [X(b, 3, 4)]));
        yield return One("Reshape", 17, b => b.Node("Reshape", [X(b, 2, 3, 4), Ints(b, "s", 4, -1)]));
        yield return One("Flatten", 17, b => b.Node("Flatten", [X(b, 2, 3, 4)], a => a.Int("axis", 2)));
        yield return One("Squeeze", 13, b => b.Node("Squeeze", [X(b, 2, 1, 4), Ints(b, "ax", -2)]));
        yield return One("Unsqueeze", 13, b => b.Node("Unsqueeze", [X(b, 2, 4), Ints(b, "ax", 0, 3)]));

        // Matrix products and convolutions.
        yield return One("MatMul batch broadcast", 17, b => b.Node("MatMul", [X(b, 2, 1, 3, 4), b.Input("z", DataType.Float, 3, 4, 5)]));
        yield return One("MatMul 1-D x 2-D", 17, b => b.Node("MatMul", [X(b, 4), Const(b, "w", Seq(20), 4, 5)]));
        yield return One("MatMul 2-D x 1-D", 17, b => b.Node("MatMul", [X(b, 3, 4), b.Input("z", DataType.Float, 4)]));
        yield return One("Gemm trans alpha beta", 17, b => b.Node("Gemm", [X(b, 4, 3), b.Input("z", DataType.Float, 5, 4), Const(b, "c", Seq(5), 5)],
            a => a.Int("transA", 1).Int("transB", 1).Float("alpha", 0.5f).Float("beta", 2f)));
        yield return One("Gemm C column", 17, b => b.Node("Gemm", [X(b, 3, 40), b.Input("z", DataType.Float, 40, 6), Const(b, "c", Seq(3), 3, 1)]), tol: 1e-4);
        yield return One("Conv 1-D groups dilation", 17, b => b.Node("Conv", [X(b, 2, 4, 11), Const(b, "w", Seq(6 * 2 * 3), 6, 2, 3), Const(b, "bb", Seq(6), 6)],
            a => a.Int("group", 2).Ints("dilations", 2).Ints("pads", 2, 1).Ints("strides", 2)));
        yield return One("Conv 3-D", 17, b => b.Node("Conv", [X(b, 1, 2, 4, 5, 6), Const(b, "w", Seq(3 * 2 * 8), 3, 2, 2, 2, 2)], a => a.Ints("pads", 1, 0, 1, 0, 1, 1)));
        yield return One("Conv 2-D SAME", 17, b => b.Node("Conv", [X(b, 1, 3, 7, 7), Const(b, "w", Seq(4 * 3 * 9), 4, 3, 3, 3)], a => a.String("auto_pad", "SAME_UPPER").Ints("strides", 2, 2)));
        yield return One("ConvTranspose", 17, b => b.Node("ConvTranspose", [X(b, 1, 4, 3, 4), Const(b, "w", Seq(4 * 3 * 9), 4, 3, 3, 3), Const(b, "bb", Seq(6), 6)],
            a => a.Ints("strides", 2, 2).Ints("pads", 1, 1, 1, 1).Ints("output_padding", 1, 1).Int("group", 2)));
        yield return One("ConvTranspose 1-D dilated", 17, b => b.Node("ConvTranspose", [X(b, 1, 2, 5), Const(b, "w", Seq(2 * 3 * 3), 2, 3, 3)], a => a.Ints("dilations", 2).Ints("strides", 3)));
        yield return One("ConvTranspose SAME", 17, b => b.Node("ConvTranspose", [X(b, 1, 2, 3, 3), Const(b, "w", Seq(2 * 2 * 4), 2, 2, 2, 2)], a => a.String("auto_pad", "SAME_UPPER").Ints("strides", 2, 2)));
    }

    [Theory]
    [InlineData(128)]
    [InlineData(256)]
    [InlineData(512)]
    public void Every_operator_with_float_tensors_matches_the_reference(int vectorBits)
    {
        FixedKernelHarness.Check(Cases(), new AutoKernel.Generator.Kernels.CpuTarget(vectorBits, 2, "test"));
    }

    /// <summary>A one-node graph built directly (the import pipeline would fold these nodes away).</summary>
    private static OracleCase Manual(string op, (string Name, DataType Type, int[] Shape)[] inputs, DataType output, int[] outShape, Tensor? initializer = null)
    {
        var g = new ModelGraph { Name = op };
        g.Opsets[""] = 17;
        foreach (var (name, type, shape) in inputs)
            g.ValueTypes[name] = new TensorType(type, shape);
        if (initializer is not null)
        {
            g.Initializers[inputs[^1].Name] = initializer;
            g.ValueTypes.Remove(inputs[^1].Name);
        }
        var node = new Node(op, op, inputs.Select(i => i.Name), ["y"]);
        g.Nodes.Add(node);
        g.ValueTypes["y"] = new TensorType(output, outShape);
        return new OracleCase(op, g, node, 0);
    }

    public static IEnumerable<OracleCase> Unsupported()
    {
        var f3 = ("x", DataType.Float, new[] { 3 });
        yield return Manual("Shape", [f3], DataType.Int64, [1]);
        yield return Manual("Size", [f3], DataType.Int64, []);
        yield return Manual("Range", [("s", DataType.Int64, []), ("e", DataType.Int64, []), ("d", DataType.Int64, [])], DataType.Int64, [5]);
        yield return Manual("ConstantOfShape", [("s", DataType.Int64, [2])], DataType.Float, [2, 3]);
        yield return Manual("Constant", [], DataType.Float, []);
        foreach (string op in new[] { "And", "Or", "Xor" })
            yield return Manual(op, [("p", DataType.Bool, [3]), ("q", DataType.Bool, [3])], DataType.Bool, [3]);
        yield return Manual("Not", [("p", DataType.Bool, [3])], DataType.Bool, [3]);
        foreach (string op in new[] { "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual" })
            yield return Manual(op, [f3, ("q", DataType.Float, [3])], DataType.Bool, [3]);
        yield return Manual("Where", [("c", DataType.Bool, [3]), f3, ("q", DataType.Float, [3])], DataType.Float, [3]);
        yield return Manual("Gather", [("x", DataType.Float, [3, 4]), ("i", DataType.Int64, [2])], DataType.Float, [2, 4]);
        yield return Manual("Cast", [f3], DataType.Int64, [3]);
        yield return Manual("ArgMax", [f3], DataType.Int64, [1]);
        yield return Manual("ArgMin", [f3], DataType.Int64, [1]);
    }

    [Fact]
    public void Operators_of_non_float_tensors_have_no_kernel_and_say_why()
    {
        foreach (var c in Unsupported())
        {
            Assert.Null(FixedOpLowering.Lower(c.Graph, c.Node, 0));
            string? why = FixedOpLowering.WhyNot(c.Graph, c.Node);
            Assert.NotNull(why);
            Assert.Matches("computed at run time|constant folding", why);
        }
    }

    [Fact]
    public void The_tables_cover_every_default_domain_operator_in_the_docs()
    {
        string doc = File.ReadAllText(Path.Combine(RepoRoot(), "docs", "operators.md"));
        var section = Regex.Match(doc, @"## Default domain \(\d+ operators\)\s+(.*?)\n\n", RegexOptions.Singleline).Groups[1].Value;
        var documented = section.Split([',', '.', '\n', ' '], StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        Assert.True(documented.Count > 80, $"parsed {documented.Count} operators");
        var covered = Cases().Concat(Unsupported()).Select(c => c.Node.OpType).ToHashSet();
        Assert.Empty(documented.Except(covered));
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "docs", "operators.md")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
    }
}
