using System.Globalization;
using System.Runtime.InteropServices;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Onnx.Proto;
using Google.Protobuf;

namespace AutoKernel.Build.Zoo;

/// <summary>
/// Layer helpers on top of <see cref="ModelBuilder"/> that produce the node structure
/// torch.onnx.export gives for torchvision modules in eval mode, with seeded synthetic weights.
/// Parameter names follow the PyTorch state dict ("layer1.0.conv1.weight"); node names are the
/// module path plus the op type ("layer1.0.conv1/Conv").
/// </summary>
internal sealed class NetBuilder
{
    private static readonly float Sqrt2 = MathF.Sqrt(2);
    private readonly WeightRandom _random;
    private string? _relu6Min;
    private string? _relu6Max;

    public NetBuilder(string name, int seed)
    {
        B = new ModelBuilder(name, opset: 17);
        _random = new WeightRandom(seed);
    }

    public ModelBuilder B { get; }

    public string Input(int batch, int imageSize) =>
        B.Input("input", DataType.Float, batch, 3, imageSize, imageSize);

    /// <summary>A float initializer of the given shape, filled uniformly from [low, high).</summary>
    public string Uniform(string name, float low, float high, params int[] shape)
    {
        long count = ShapeMath.ElementCount(shape);
        var raw = new byte[checked(count * sizeof(float))];
        _random.FillUniform(MemoryMarshal.Cast<byte, float>(raw.AsSpan()), low, high);
        var proto = new TensorProto { Name = name, DataType = (int)DataType.Float, RawData = UnsafeByteOperations.UnsafeWrap(raw) };
        foreach (int d in shape)
            proto.Dims.Add(d);
        return B.Initializer(proto);
    }

    /// <summary>
    /// Weights with standard deviation gain/sqrt(fanIn) (Kaiming uniform); with gain sqrt(2) a
    /// conv followed by ReLU keeps the activations' second moment from layer to layer.
    /// </summary>
    public string Kaiming(string name, int fanIn, float gain, params int[] shape)
    {
        float bound = gain * MathF.Sqrt(3.0f / fanIn);
        return Uniform(name, -bound, bound, shape);
    }

    public string Conv(string module, string x, int cin, int cout, int kernel, int stride = 1, int pad = 0,
        int groups = 1, bool bias = false, float? gain = null, int dilation = 1) =>
        Conv(module, x, cin, cout, kernel, kernel, stride, stride, pad, pad, groups, bias, gain, dilation);

    public string Conv(string module, string x, int cin, int cout, int kernelH, int kernelW, int strideH, int strideW,
        int padH, int padW, int groups = 1, bool bias = false, float? gain = null, int dilation = 1)
    {
        if (cin % groups != 0 || cout % groups != 0)
            throw new ArgumentException($"{module}: channels {cin}->{cout} do not divide into {groups} groups");
        int fanIn = cin / groups * kernelH * kernelW;
        string w = Kaiming(module + ".weight", fanIn, gain ?? Sqrt2, cout, cin / groups, kernelH, kernelW);
        var inputs = new List<string> { x, w };
        if (bias)
            inputs.Add(Uniform(module + ".bias", -0.05f, 0.05f, cout));
        return B.Node("Conv", inputs, a => a
            .Ints("dilations", dilation, dilation)
            .Int("group", groups)
            .Ints("kernel_shape", kernelH, kernelW)
            .Ints("pads", padH, padW, padH, padW)
            .Ints("strides", strideH, strideW), name: module + "/Conv");
    }

    /// <summary>
    /// BatchNormalization as exported in eval mode (ONNX's momentum is 1 - PyTorch's): gamma near
    /// 1, small beta and mean, var in [0.5, 1.5).
    /// </summary>
    public string BatchNorm(string module, string x, int channels, float gammaScale = 1.0f, float epsilon = 1e-5f, float momentum = 0.1f)
    {
        string gamma = Uniform(module + ".weight", 0.9f * gammaScale, 1.1f * gammaScale, channels);
        string beta = Uniform(module + ".bias", -0.1f, 0.1f, channels);
        string mean = Uniform(module + ".running_mean", -0.1f, 0.1f, channels);
        string var = Uniform(module + ".running_var", 0.5f, 1.5f, channels);
        return B.Node("BatchNormalization", [x, gamma, beta, mean, var], a => a
            .Float("epsilon", epsilon)
            .Float("momentum", 1 - momentum), name: module + "/BatchNormalization");
    }

    public string Relu(string module, string x) => B.Node("Relu", [x], name: module + "/Relu");

    /// <summary>ReLU6 as opset-17 Clip with constant min 0 and max 6 inputs.</summary>
    public string Relu6(string module, string x)
    {
        _relu6Min ??= B.Initializer("relu6.min", Tensor.Scalar(0.0f));
        _relu6Max ??= B.Initializer("relu6.max", Tensor.Scalar(6.0f));
        return B.Node("Clip", [x, _relu6Min, _relu6Max], name: module + "/Clip");
    }

    public string MaxPool(string module, string x, int kernel, int stride, int pad = 0, bool ceil = false) =>
        B.Node("MaxPool", [x], a => a
            .Int("ceil_mode", ceil ? 1 : 0)
            .Ints("kernel_shape", kernel, kernel)
            .Ints("pads", pad, pad, pad, pad)
            .Ints("strides", stride, stride), name: module + "/MaxPool");

    public string AveragePool(string module, string x, int kernel, int stride, int pad = 0) =>
        B.Node("AveragePool", [x], a => a
            .Int("ceil_mode", 0)
            .Int("count_include_pad", 1)
            .Ints("kernel_shape", kernel, kernel)
            .Ints("pads", pad, pad, pad, pad)
            .Ints("strides", stride, stride), name: module + "/AveragePool");

    public string Concat(string module, IReadOnlyList<string> inputs) =>
        B.Node("Concat", inputs, a => a.Int("axis", 1), name: module + "/Concat");

    public string Mul(string module, string a, string b) => B.Node("Mul", [a, b], name: module + "/Mul");

    public string HardSwish(string module, string x) => B.Node("HardSwish", [x], name: module + "/HardSwish");

    /// <summary>PyTorch's Hardsigmoid, relu6(x + 3) / 6, as ONNX HardSigmoid(alpha 1/6, beta 0.5).</summary>
    public string HardSigmoid(string module, string x) =>
        B.Node("HardSigmoid", [x], a => a.Float("alpha", 1.0f / 6).Float("beta", 0.5f), name: module + "/HardSigmoid");

    /// <summary>
    /// AdaptiveAvgPool2d((target, target)) on a square map of side <paramref name="size"/>: nothing
    /// when the sizes agree, AveragePool when size is a multiple of target, Expand (replication)
    /// when size is 1. Other sizes do not export to ONNX, so the caller must reject them first.
    /// </summary>
    public string AdaptiveAvgPool(string module, string x, int size, int target)
    {
        if (size == target)
            return x;
        if (size == 1)
        {
            string shape = B.Initializer(module + ".shape", Tensor.Vector(1, 1, target, target));
            return B.Node("Expand", [x, shape], name: module + "/Expand");
        }
        if (size % target == 0)
            return AveragePool(module, x, size / target, size / target);
        throw new ArgumentException($"{module}: adaptive average pooling from {size}x{size} to {target}x{target} does not export to ONNX");
    }

    public string Add(string module, string a, string b) => B.Node("Add", [a, b], name: module + "/Add");

    public string GlobalAveragePool(string module, string x) => B.Node("GlobalAveragePool", [x], name: module + "/GlobalAveragePool");

    public string Flatten(string module, string x, string? output = null) =>
        B.Node("Flatten", [x], a => a.Int("axis", 1), name: module + "/Flatten", output: output);

    /// <summary>
    /// nn.Linear as Gemm(transB=1). Hidden layers followed by ReLU get Kaiming weights; the final
    /// classifier gets PyTorch's default (bound 1/sqrt(fanIn)), which keeps the logits small.
    /// </summary>
    public string Linear(string module, string x, int inFeatures, int outFeatures, bool hidden, string? output = null)
    {
        string w = hidden
            ? Kaiming(module + ".weight", inFeatures, Sqrt2, outFeatures, inFeatures)
            : Kaiming(module + ".weight", inFeatures, 1.0f / MathF.Sqrt(3), outFeatures, inFeatures);
        float bound = 1.0f / MathF.Sqrt(inFeatures);
        string bias = Uniform(module + ".bias", -bound, bound, outFeatures);
        return B.Node("Gemm", [x, w, bias], a => a
            .Float("alpha", 1.0f)
            .Float("beta", 1.0f)
            .Int("transB", 1), name: module + "/Gemm", output: output);
    }

    /// <summary>Conv without bias then BatchNorm, the Conv2dNormActivation pattern without its activation.</summary>
    public string ConvBn(string convModule, string bnModule, string x, int cin, int cout, int kernel,
        int stride = 1, int pad = 0, int groups = 1, float? gain = null, float gammaScale = 1.0f, float epsilon = 1e-5f, float momentum = 0.1f)
    {
        string c = Conv(convModule, x, cin, cout, kernel, stride, pad, groups, gain: gain);
        return BatchNorm(bnModule, c, cout, gammaScale, epsilon, momentum);
    }

    public string Output(string name, int batch, int classes) =>
        B.Output(name, DataType.Float, [batch, classes]);

    public static string Path(params object[] parts) =>
        string.Join('.', parts.Select(p => Convert.ToString(p, CultureInfo.InvariantCulture)));

    /// <summary>Throws unless the image size is at least <paramref name="minimum"/> and a multiple of <paramref name="multiple"/>.</summary>
    public static void CheckImageSize(string network, int imageSize, int minimum, int multiple)
    {
        if (imageSize < minimum || imageSize % multiple != 0)
            throw new ArgumentException(multiple == 1
                ? $"{network} needs an image size of at least {minimum}, got {imageSize}"
                : $"{network} needs an image size that is a multiple of {multiple} and at least {minimum}, got {imageSize}", nameof(imageSize));
    }
}
