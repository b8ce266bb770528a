using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Workloads;
using AutoKernel.TestSupport;

namespace AutoKernel.Build.Tests.Support;

/// <summary>The shared naive convolution oracle against outputs worked out by hand on tiny inputs.</summary>
public sealed class NaiveConvolutionTests
{
    /// <summary>The 3x3 image 1..9, row by row.</summary>
    private static readonly float[] Nine = [1, 2, 3, 4, 5, 6, 7, 8, 9];

    private static ConvShape Shape2d(int k, int stride = 1, int dilation = 1, int pad = 0) =>
        new(1, 1, 1, 1, [3, 3], [k, k], [stride, stride], [dilation, dilation], [pad, pad], [pad, pad]);

    [Fact]
    public void Valid_2d_convolution_with_bias()
    {
        // w = [[1, 2], [3, 4]]; y[0,0] = 1*1 + 2*2 + 4*3 + 5*4 = 37, y[0,1] = 2 + 6 + 15 + 24 = 47,
        // y[1,0] = 4 + 10 + 21 + 32 = 67, y[1,1] = 5 + 12 + 24 + 36 = 77; each plus the bias 0.5.
        var y = NaiveConvolution.Run(Shape2d(2), Epilogue.None, Nine, [1, 2, 3, 4], [0.5f], null);
        Assert.Equal([37.5f, 47.5f, 67.5f, 77.5f], y);
    }

    [Fact]
    public void Padding_and_stride_skip_the_taps_outside_the_image()
    {
        // 3x3 ones, pad 1, stride 2: output 2x2 of the windows rows/cols {-1..1} and {1..3}, padding dropped:
        // 1+2+4+5 = 12, 2+3+5+6 = 16, 4+5+7+8 = 24, 5+6+8+9 = 28.
        var y = NaiveConvolution.Run(Shape2d(3, stride: 2, pad: 1), Epilogue.None, Nine, [1, 1, 1, 1, 1, 1, 1, 1, 1], null, null);
        Assert.Equal([12f, 16f, 24f, 28f], y);
    }

    [Fact]
    public void Dilation_spreads_the_taps()
    {
        // 2x2 kernel at dilation 2 reads the corners: 1*1 + 3*2 + 7*3 + 9*4 = 64.
        var y = NaiveConvolution.Run(Shape2d(2, dilation: 2), Epilogue.None, Nine, [1, 2, 3, 4], null, null);
        Assert.Equal([64f], y);
    }

    [Fact]
    public void Conv2d_workload_pads_top_left_bottom_right_as_named()
    {
        // 2x2 ones, PadTop 1, PadLeft 0, PadBottom 0, PadRight 1: output 3x3, y[i,j] sums rows i-1..i, cols j..j+1:
        // row 0: 1+2, 2+3, 3;  row 1: 1+2+4+5, 2+3+5+6, 3+6;  row 2: 4+5+7+8, 5+6+8+9, 6+9.
        var c = new Conv2dWorkload(1, 1, 3, 3, 1, 2, 2, 1, 1, 1, 0, 0, 1, 1, 1, 1);
        var y = NaiveConvolution.Run(c, Epilogue.None, Nine, [1, 1, 1, 1], null, null);
        Assert.Equal([3f, 5f, 3f, 12f, 16f, 9f, 24f, 28f, 15f], y);
    }

    [Fact]
    public void Asymmetric_1d_padding_changes_only_where_the_windows_start()
    {
        // x = [1, 2, 3], kernel [1, 1], one zero before and none after: [0+1, 1+2, 2+3].
        var y = NaiveConvolution.Run(new ConvShape(1, 1, 1, 1, [3], [2], [1], [1], [1], [0]), Epilogue.None, [1, 2, 3], [1, 1], null, null);
        Assert.Equal([1f, 3f, 5f], y);
    }

    [Fact]
    public void Groups_read_their_own_input_channels()
    {
        // Two groups of one channel, 1x1 kernels 10 and 100: channel 0 [1, 2] -> [10, 20], channel 1 [3, 4] -> [300, 400].
        var grouped = NaiveConvolution.Run(new ConvShape(1, 2, 2, 2, [2], [1], [1], [1], [0], [0]), Epilogue.None, [1, 2, 3, 4], [10, 100], null, null);
        Assert.Equal([10f, 20f, 300f, 400f], grouped);

        // Four input channels in two groups, no spatial axes: output 0 = 1 + 2 (weights [1, 1] on channels 0, 1),
        // output 1 = 3 - 4 (weights [1, -1] on channels 2, 3).
        var wide = NaiveConvolution.Run(new ConvShape(1, 4, 2, 2, [], [], [], [], [], []), Epilogue.None, [1, 2, 3, 4], [1, 1, 1, -1], null, null);
        Assert.Equal([3f, -1f], wide);
    }

    [Fact]
    public void Depthwise_with_a_channel_multiplier()
    {
        // Groups == InChannels == 2, four outputs: outputs 0, 1 read channel 0 ([1, 2]) with weights 1, 2;
        // outputs 2, 3 read channel 1 ([3, 4]) with weights 3, 4.
        var y = NaiveConvolution.Run(new ConvShape(1, 2, 4, 2, [2], [1], [1], [1], [0], [0]), Epilogue.None, [1, 2, 3, 4], [1, 2, 3, 4], null, null);
        Assert.Equal([1f, 2f, 2f, 4f, 9f, 12f, 12f, 16f], y);
    }

    [Fact]
    public void Three_spatial_axes_and_batches()
    {
        // A 2x2x2 kernel of ones over a 2x2x2 input sums it: 1+...+8 = 36; the second image is ten times the first.
        float[] x = [1, 2, 3, 4, 5, 6, 7, 8, 10, 20, 30, 40, 50, 60, 70, 80];
        var y = NaiveConvolution.Run(new ConvShape(2, 1, 1, 1, [2, 2, 2], [2, 2, 2], [1, 1, 1], [1, 1, 1], [0, 0, 0], [0, 0, 0]),
            Epilogue.None, x, [1, 1, 1, 1, 1, 1, 1, 1], null, null);
        Assert.Equal([36f, 360f], y);
    }

    [Fact]
    public void Dense_adds_bias_then_residual_then_activates()
    {
        // x = [[1, 2], [3, 4]], w rows [1, 0] and [1, 1]: x·wᵀ = [[1, 3], [3, 7]]; + bias [0.5, -10] + residual 1
        // = [[2.5, -6], [4.5, -2]]; Relu -> [[2.5, 0], [4.5, 0]].
        var d = new DenseWorkload(2, 2, 2);
        var relu = new Epilogue(true, true, "Relu", 0, 0);
        var y = NaiveConvolution.Dense(d, relu, [1, 2, 3, 4], [1, 0, 1, 1], [0.5f, -10], [1, 1, 1, 1]);
        Assert.Equal([2.5f, 0f, 4.5f, 0f], y);
    }

    [Fact]
    public void Reference_uses_bias_and_residual_only_where_the_epilogue_has_them()
    {
        var d = new DenseWorkload(1, 1, 1);
        // x = 2, w = 3: 6; bias 100 and residual 1000 are given but only the residual is in the epilogue.
        var y = NaiveConvolution.Reference(d, new Epilogue(false, true, "", 0, 0), [2], [3], [100], [1000]);
        Assert.Equal([1006f], y);
        Assert.Equal([106f], NaiveConvolution.Reference(d, new Epilogue(true, false, "", 0, 0), [2], [3], [100], [1000]));
        Assert.Throws<ArgumentException>(() => NaiveConvolution.Reference(d, new Epilogue(true, false, "", 0, 0), [2], [3], null, null));
    }

    [Fact]
    public void Inconsistent_shapes_are_refused()
    {
        Assert.Throws<ArgumentException>(() => NaiveConvolution.Run(Shape2d(2), Epilogue.None, [1, 2, 3], [1, 2, 3, 4], null, null));
        Assert.Throws<ArgumentException>(() => NaiveConvolution.Run(Shape2d(2), Epilogue.None, Nine, [1, 2, 3], null, null));
        Assert.Throws<ArgumentException>(() => NaiveConvolution.Run(Shape2d(2), Epilogue.None, Nine, [1, 2, 3, 4], [1, 2], null));
        Assert.Throws<ArgumentException>(() => NaiveConvolution.Run(Shape2d(4), Epilogue.None, Nine, new float[16], null, null));
        Assert.Throws<ArgumentException>(() => NaiveConvolution.Run(new ConvShape(1, 3, 2, 2, [1], [1], [1], [1], [0], [0]), Epilogue.None, [1, 2, 3], [1, 2, 3], null, null));
    }

    /// <summary>Activation, alpha, beta, x and the value worked out by hand.</summary>
    public static TheoryData<string, float, float, float, double> Activations => new()
    {
        { "", 0, 0, -2.5f, -2.5 },
        { "Relu", 0, 0, -2, 0 },
        { "Relu", 0, 0, 3, 3 },
        { "Clip", 0, 6, -1, 0 },
        { "Clip", 0, 6, 7, 6 },
        { "Clip", 0, 6, 2, 2 },
        { "Clip", 2, 1, 0, 1 },   // lo > hi: min(max(x, lo), hi) is hi everywhere
        { "Clip", 2, 1, 5, 1 },
        { "LeakyRelu", 0.1f, 0, -2, -0.2 },
        { "LeakyRelu", 0.1f, 0, 3, 3 },
        { "Sigmoid", 0, 0, 0, 0.5 },
        { "Sigmoid", 0, 0, 1.0986123f, 0.75 },   // x = ln 3: 1 / (1 + 1/3)
        { "HardSigmoid", 0.2f, 0.5f, 1, 0.7 },
        { "HardSigmoid", 0.2f, 0.5f, 5, 1 },
        { "HardSigmoid", 0.2f, 0.5f, -5, 0 },
        { "HardSwish", 0, 0, 3, 3 },              // 3 * min(1, 3/6 + 1/2)
        { "HardSwish", 0, 0, -3, 0 },
        { "HardSwish", 0, 0, 1, 2.0 / 3 },        // 1 * (1/6 + 1/2)
        { "Tanh", 0, 0, 0.6931472f, 0.6 },        // x = ln 2: (4 - 1) / (4 + 1)
        { "Elu", 1, 0, -0.6931472f, -0.5 },       // e^-ln2 - 1
        { "Elu", 1, 0, 2, 2 },
        { "Selu", 2, 3, -0.6931472f, -3 },        // 3 * (2 * 1/2 - 2)
        { "Selu", 2, 3, 1, 3 },
        { "Softplus", 0, 0, 0, 0.6931471805599453 },       // ln 2
        { "Softplus", 0, 0, 1.0986123f, 1.3862943611198906 }, // ln(1 + 3) = ln 4
        { "Softplus", 0, 0, 100, 100 },           // no overflow
        { "Softplus", 0, 0, -100, 0 },
        { "Swish", 1, 0, 1.0986123f, 1.0986123 * 0.75 },    // x * sigmoid(x) at x = ln 3
        { "Swish", 2, 0, 0.54930615f, 0.54930615 * 0.75 },  // x * sigmoid(2x), 2x = ln 3
    };

    [Theory]
    [MemberData(nameof(Activations))]
    public void Every_activation_by_its_definition(string activation, float alpha, float beta, float x, double expected)
    {
        float y = NaiveConvolution.Activate(new Epilogue(false, false, activation, alpha, beta), x);
        Assert.True(Math.Abs(y - expected) <= 1e-6 * Math.Max(1, Math.Abs(expected)), $"{activation}({x}) = {y}, expected {expected}");
    }

    [Fact]
    public void Every_activation_keeps_NaN_and_an_unknown_one_is_refused()
    {
        string[] all = ["", "Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Elu", "Selu", "Softplus", "Swish"];
        Assert.All(all, a => Assert.True(float.IsNaN(NaiveConvolution.Activate(new Epilogue(false, false, a, 0.5f, 6), float.NaN)), a));
        Assert.Throws<ArgumentException>(() => NaiveConvolution.Activate(new Epilogue(false, false, "Gelu", 0, 0), 1));
    }
}
