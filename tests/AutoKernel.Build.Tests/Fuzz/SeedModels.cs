using AutoKernel.Build.Graph;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Onnx.Proto;
using AutoKernel.Build.Zoo;

namespace AutoKernel.Build.Tests.Fuzz;

/// <summary>A valid model the fuzzer starts from.</summary>
public sealed record SeedModel(string Name, ModelProto Model);

/// <summary>
/// The valid models the fuzzer mutates: small zoo networks (small images so each case runs in
/// milliseconds) and hand-built graphs that together cover most operators the importer supports
/// (elementwise, shape arithmetic, Reshape/Slice/Gather/Concat, pooling, normalizations, Softmax,
/// Resize, Pad, reductions, Conv/ConvTranspose/Gemm/MatMul). Every one runs cleanly unmutated
/// (checked by <see cref="FuzzTests"/>), so a failure after a mutation is the mutation's doing.
/// </summary>
public static class SeedModels
{
    private static readonly Lazy<IReadOnlyList<SeedModel>> AllSeeds = new(Create);

    public static IReadOnlyList<SeedModel> All => AllSeeds.Value;

    private static IReadOnlyList<SeedModel> Create() =>
    [
        new("zoo:tiny_cnn", ModelZoo.Create("tiny_cnn", 1, 16, seed: 1)),
        new("zoo:squeezenet1_1", ModelZoo.Create("squeezenet1_1", 1, 32, seed: 1)),
        new("zoo:dbnet_tiny", ModelZoo.Create("dbnet_tiny", 1, 32, seed: 1)),
        new("elementwise", Elementwise()),
        new("logical", Logical()),
        new("shape_ops", ShapeOps()),
        new("slice_gather", SliceGather()),
        new("generators", Generators()),
        new("pooling", Pooling()),
        new("normalization", Normalization()),
        new("softmax_matmul", SoftmaxMatMul()),
        new("resize_pad", ResizePad()),
        new("reductions", Reductions()),
        new("conv", Conv()),
        new("opset11", Opset11()),
    ];

    private static Tensor Floats(int seed, params int[] shape) => Support.Graphs.RandomFloats(seed, shape);

    private static Tensor Longs(params long[] values) => Tensor.FromInt64s([values.Length], values);

    private static Tensor Scalar(float v) => Tensor.Scalar(v);

    /// <summary>Unary and binary arithmetic, activations, Clip, variadic Min/Max/Sum/Mean, Cast.</summary>
    private static ModelProto Elementwise()
    {
        var b = new ModelBuilder("elementwise", 17);
        string x = b.Input("x", DataType.Float, 1, 3, 4, 4);
        string c = b.Initializer("c", Floats(2, 1, 3, 1, 1));
        string y = b.Node("Relu", [x]);
        y = b.Node("Add", [y, c]);
        y = b.Node("Mul", [y, x]);
        y = b.Node("Sigmoid", [y]);
        string t = b.Node("Tanh", [x]);
        y = b.Node("Sub", [y, t]);
        y = b.Node("LeakyRelu", [y], a => a.Float("alpha", 0.1f));
        string lo = b.Initializer("lo", Scalar(-0.5f));
        string hi = b.Initializer("hi", Scalar(0.5f));
        y = b.Node("Clip", [y, lo, hi]);
        string e = b.Node("Exp", [y]);
        y = b.Node("Div", [y, e]);
        string two = b.Initializer("two", Scalar(2f));
        y = b.Node("Pow", [y, two]);
        y = b.Node("Max", [y, x, t]);
        y = b.Node("Min", [y, c]);
        y = b.Node("Sum", [y, x]);
        y = b.Node("Mean", [y, t]);
        y = b.Node("HardSigmoid", [y], a => a.Float("alpha", 0.2f).Float("beta", 0.5f));
        y = b.Node("Elu", [y], a => a.Float("alpha", 1f));
        y = b.Node("Abs", [y]);
        y = b.Node("Sqrt", [y]);
        y = b.Node("Neg", [y]);
        y = b.Node("Erf", [y]);
        y = b.Node("HardSwish", [y]);
        string i = b.Node("Cast", [y], a => a.Int("to", (int)DataType.Int64));
        y = b.Node("Cast", [i], a => a.Int("to", (int)DataType.Float));
        b.Output(b.Node("Softplus", [y]));
        return b.Build();
    }

    /// <summary>Comparisons, logical operators, Where, Not.</summary>
    private static ModelProto Logical()
    {
        var b = new ModelBuilder("logical", 17);
        string x = b.Input("x", DataType.Float, 2, 5);
        string z = b.Initializer("zero", Scalar(0f));
        string gt = b.Node("Greater", [x, z]);
        string lt = b.Node("Less", [x, z]);
        string eq = b.Node("Equal", [x, z]);
        string o = b.Node("Or", [gt, eq]);
        string a1 = b.Node("And", [o, b.Node("Not", [lt])]);
        string xr = b.Node("Xor", [a1, lt]);
        string ge = b.Node("GreaterOrEqual", [x, z]);
        string le = b.Node("LessOrEqual", [x, z]);
        string w = b.Node("Where", [xr, x, b.Node("Neg", [x])]);
        string w2 = b.Node("Where", [ge, w, z]);
        string w3 = b.Node("Where", [le, z, w2]);
        b.Output(b.Node("Add", [w3, w]));
        return b.Build();
    }

    /// <summary>Shape arithmetic feeding Reshape, plus Flatten, Transpose, Squeeze/Unsqueeze, Split, Concat, DepthToSpace.</summary>
    private static ModelProto ShapeOps()
    {
        var b = new ModelBuilder("shape_ops", 17);
        string x = b.Input("x", DataType.Float, 1, 4, 2, 3);
        string s = b.Node("Shape", [x]);
        string i0 = b.Initializer("i0", Tensor.Scalar(0L));
        string d0 = b.Node("Gather", [s, i0], a => a.Int("axis", 0));
        string ax0 = b.Initializer("ax0", Longs(0));
        string d0v = b.Node("Unsqueeze", [d0, ax0]);
        string rest = b.Initializer("rest", Longs(-1, 6));
        string shape = b.Node("Concat", [d0v, rest], a => a.Int("axis", 0));
        string r = b.Node("Reshape", [x, shape]);
        string t = b.Node("Transpose", [r], a => a.Ints("perm", 0, 2, 1));
        string f = b.Node("Flatten", [t], a => a.Int("axis", 1));
        string ax1 = b.Initializer("ax1", Longs(1));
        string u = b.Node("Unsqueeze", [f, ax1]);
        string sq = b.Node("Squeeze", [u, ax1]);
        string split = b.Initializer("split", Longs(8, 16));
        string[] parts = b.Node("Split", [sq, split], 2, a => a.Int("axis", 1));
        string cat = b.Node("Concat", [parts[1], parts[0]], a => a.Int("axis", 1));
        string back = b.Initializer("back", Longs(1, 4, 2, 3));
        string r2 = b.Node("Reshape", [cat, back]);
        string d2s = b.Node("DepthToSpace", [r2], a => a.Int("blocksize", 2).String("mode", "CRD"));
        string s2d = b.Node("SpaceToDepth", [d2s], a => a.Int("blocksize", 2));
        string id = b.Node("Identity", [s2d]);
        b.Output(id);
        b.Output(b.Node("Size", [id]), DataType.Int64);
        return b.Build();
    }

    /// <summary>Slice (with steps), Gather (negative indices), Tile, Expand.</summary>
    private static ModelProto SliceGather()
    {
        var b = new ModelBuilder("slice_gather", 17);
        string x = b.Input("x", DataType.Float, 2, 6, 5);
        string starts = b.Initializer("starts", Longs(1, -1));
        string ends = b.Initializer("ends", Longs(5, -6));
        string axes = b.Initializer("axes", Longs(1, 2));
        string steps = b.Initializer("steps", Longs(2, -2));
        string sl = b.Node("Slice", [x, starts, ends, axes, steps]);
        string idx = b.Initializer("idx", Tensor.FromInt64s([3], [0, -1, 1]));
        string g = b.Node("Gather", [x, idx], a => a.Int("axis", 2));
        string reps = b.Initializer("reps", Longs(1, 1, 2));
        string tl = b.Node("Tile", [g, reps]);
        string eshape = b.Initializer("eshape", Longs(3, 2, 6, 1));
        string ex = b.Node("Expand", [b.Node("Relu", [tl]), eshape]);
        b.Output(sl);
        b.Output(ex);
        return b.Build();
    }

    /// <summary>ConstantOfShape, Range, Constant, Shape-derived sizes.</summary>
    private static ModelProto Generators()
    {
        var b = new ModelBuilder("generators", 17);
        string x = b.Input("x", DataType.Float, 3, 4);
        string shp = b.Node("Constant", [], a => a.Tensor("value", Longs(3, 4)));
        string ones = b.Node("ConstantOfShape", [shp], a => a.Tensor("value", Tensor.FromFloats([1], [1.5f])));
        string start = b.Initializer("start", Scalar(0f));
        string limit = b.Initializer("limit", Scalar(4f));
        string delta = b.Initializer("delta", Scalar(1f));
        string range = b.Node("Range", [start, limit, delta]);
        string y = b.Node("Add", [b.Node("Mul", [x, ones]), range]);
        b.Output(y);
        return b.Build();
    }

    /// <summary>MaxPool, AveragePool (pads, strides, ceil mode), global pools, LRN.</summary>
    private static ModelProto Pooling()
    {
        var b = new ModelBuilder("pooling", 17);
        string x = b.Input("x", DataType.Float, 1, 2, 9, 9);
        string mp = b.Node("MaxPool", [x], a => a.Ints("kernel_shape", 3, 3).Ints("strides", 2, 2).Ints("pads", 1, 1, 1, 1));
        string ap = b.Node("AveragePool", [mp], a => a.Ints("kernel_shape", 2, 2).Ints("strides", 1, 1).Int("ceil_mode", 1).Int("count_include_pad", 1));
        string lrn = b.Node("LRN", [ap], a => a.Int("size", 3).Float("alpha", 1e-4f).Float("beta", 0.75f).Float("bias", 1f));
        b.Output(b.Node("GlobalAveragePool", [lrn]));
        b.Output(b.Node("GlobalMaxPool", [mp]));
        return b.Build();
    }

    /// <summary>BatchNormalization, InstanceNormalization, LayerNormalization, Dropout.</summary>
    private static ModelProto Normalization()
    {
        var b = new ModelBuilder("normalization", 17);
        string x = b.Input("x", DataType.Float, 2, 3, 4, 4);
        string scale = b.Initializer("scale", Floats(3, 3));
        string bias = b.Initializer("bias", Floats(4, 3));
        string mean = b.Initializer("mean", Floats(5, 3));
        string var = b.Initializer("var", Tensor.FromFloats([3], [1f, 2f, 0.5f]));
        string bn = b.Node("BatchNormalization", [x, scale, bias, mean, var], a => a.Float("epsilon", 1e-5f));
        string inorm = b.Node("InstanceNormalization", [bn, scale, bias], a => a.Float("epsilon", 1e-5f));
        string ls = b.Initializer("ln_scale", Floats(6, 4));
        string lb = b.Initializer("ln_bias", Floats(7, 4));
        string ln = b.Node("LayerNormalization", [inorm, ls, lb], a => a.Int("axis", -1).Float("epsilon", 1e-5f));
        b.Output(b.Node("Dropout", [ln]));
        return b.Build();
    }

    /// <summary>Softmax, LogSoftmax, Gemm (transposed B), MatMul, PRelu.</summary>
    private static ModelProto SoftmaxMatMul()
    {
        var b = new ModelBuilder("softmax_matmul", 17);
        string x = b.Input("x", DataType.Float, 2, 8);
        string w = b.Initializer("w", Floats(8, 6, 8));
        string c = b.Initializer("c", Floats(9, 6));
        string g = b.Node("Gemm", [x, w, c], a => a.Int("transB", 1).Float("alpha", 1f).Float("beta", 1f));
        string m = b.Initializer("m", Floats(10, 6, 4));
        string mm = b.Node("MatMul", [g, m]);
        string slope = b.Initializer("slope", Floats(11, 4));
        string pr = b.Node("PRelu", [mm, slope]);
        string sm = b.Node("Softmax", [pr], a => a.Int("axis", -1));
        b.Output(b.Node("LogSoftmax", [sm], a => a.Int("axis", 1)));
        return b.Build();
    }

    /// <summary>Resize by scales and by sizes, Pad in three modes.</summary>
    private static ModelProto ResizePad()
    {
        var b = new ModelBuilder("resize_pad", 17);
        string x = b.Input("x", DataType.Float, 1, 2, 4, 4);
        string scales = b.Initializer("scales", Tensor.FromFloats([4], [1f, 1f, 2f, 1.5f]));
        string r1 = b.Node("Resize", [x, "", scales], a => a.String("mode", "nearest"));
        string sizes = b.Initializer("sizes", Longs(1, 2, 5, 7));
        string r2 = b.Node("Resize", [x, "", "", sizes], a => a.String("mode", "linear").String("coordinate_transformation_mode", "half_pixel"));
        string pads = b.Initializer("pads", Longs(0, 0, 1, 2, 0, 0, 2, 1));
        string value = b.Initializer("value", Scalar(0.25f));
        string p1 = b.Node("Pad", [r2, pads, value], a => a.String("mode", "constant"));
        string p2 = b.Node("Pad", [x, pads], a => a.String("mode", "reflect"));
        string p3 = b.Node("Pad", [r1, pads], a => a.String("mode", "edge"));
        b.Output(p1);
        b.Output(p2);
        b.Output(p3);
        return b.Build();
    }

    /// <summary>Reductions with axes attributes (opset 17) and an axes input (ReduceSum).</summary>
    private static ModelProto Reductions()
    {
        var b = new ModelBuilder("reductions", 17);
        string x = b.Input("x", DataType.Float, 2, 3, 4);
        string mean = b.Node("ReduceMean", [x], a => a.Ints("axes", 1).Int("keepdims", 1));
        string max = b.Node("ReduceMax", [mean], a => a.Ints("axes", -1).Int("keepdims", 0));
        string axes = b.Initializer("axes", Longs(0));
        string sum = b.Node("ReduceSum", [max, axes], a => a.Int("keepdims", 1));
        string min = b.Node("ReduceMin", [x], a => a.Ints("axes", 0, 2).Int("keepdims", 0));
        string prod = b.Node("ReduceProd", [min], a => a.Int("keepdims", 0));
        b.Output(sum);
        b.Output(prod);
        return b.Build();
    }

    /// <summary>Grouped, dilated, strided Conv and ConvTranspose.</summary>
    private static ModelProto Conv()
    {
        var b = new ModelBuilder("conv", 17);
        string x = b.Input("x", DataType.Float, 1, 4, 7, 7);
        string w = b.Initializer("w", Floats(12, 6, 2, 3, 3));
        string bias = b.Initializer("b", Floats(13, 6));
        string c = b.Node("Conv", [x, w, bias], a => a.Ints("kernel_shape", 3, 3).Ints("pads", 1, 1, 1, 1).Ints("strides", 2, 1).Ints("dilations", 1, 2).Int("group", 2));
        string wt = b.Initializer("wt", Floats(14, 6, 2, 2, 2));
        string ct = b.Node("ConvTranspose", [c, wt], a => a.Ints("kernel_shape", 2, 2).Ints("strides", 2, 2).Ints("output_padding", 1, 0));
        b.Output(b.Node("Relu", [ct]));
        return b.Build();
    }

    /// <summary>Opset 11 forms: Squeeze/Unsqueeze/ReduceSum axes and Split as attributes, Clip inputs, Upsample-free Resize.</summary>
    private static ModelProto Opset11()
    {
        var b = new ModelBuilder("opset11", 11);
        string x = b.Input("x", DataType.Float, 1, 6, 2);
        string u = b.Node("Unsqueeze", [x], a => a.Ints("axes", 0));
        string s = b.Node("Squeeze", [u], a => a.Ints("axes", 0));
        string[] parts = b.Node("Split", [s], 2, a => a.Int("axis", 1).Ints("split", 2, 4));
        string r = b.Node("ReduceSum", [parts[1]], a => a.Ints("axes", 2).Int("keepdims", 1));
        string sl = b.Node("Slice", [parts[0], b.Initializer("st", Longs(0)), b.Initializer("en", Longs(1)), b.Initializer("ax", Longs(2))]);
        string cat = b.Node("Concat", [sl, r], a => a.Int("axis", 1));
        string sm = b.Node("Softmax", [cat], a => a.Int("axis", 1));
        b.Output(b.Node("Clip", [sm, b.Initializer("lo", Scalar(0.1f)), b.Initializer("hi", Scalar(0.9f))]));
        return b.Build();
    }
}
