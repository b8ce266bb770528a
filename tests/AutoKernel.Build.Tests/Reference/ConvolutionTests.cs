using AutoKernel.Build.Graph;
using AutoKernel.Generator.Kernels;
using AutoKernel.TestSupport;
using static AutoKernel.Build.Tests.Reference.RefTest;
using static AutoKernel.TestSupport.TestData;

namespace AutoKernel.Build.Tests.Reference;

public class ConvolutionTests
{
    /// <summary>The shared oracle's direct convolution (<see cref="NaiveConvolution"/>), with bias and no activation.</summary>
    private static float[] DirectConv(ConvShape g, float[] x, float[] w, float[]? bias = null) =>
        NaiveConvolution.Run(g, Epilogue.None, x, w, bias, null);

    public static TheoryData<int, int, int, int, int, int, int, int, int, int> Conv2DCases => new()
    {
        // batch, channels, filters, group, H, W, k, stride, dilation, pad
        { 1, 3, 4, 1, 7, 6, 3, 1, 1, 1 },
        { 2, 4, 6, 2, 8, 9, 3, 2, 1, 1 },
        { 1, 4, 4, 4, 9, 9, 3, 1, 2, 2 },   // depthwise, dilated
        { 1, 6, 12, 3, 10, 7, 5, 3, 1, 0 },
        { 1, 8, 16, 1, 5, 5, 1, 1, 1, 0 },  // pointwise
        { 3, 16, 16, 16, 6, 6, 3, 2, 1, 1 }, // depthwise, many jobs
        { 1, 3, 2, 1, 4, 4, 2, 1, 3, 3 },
    };

    [Theory]
    [MemberData(nameof(Conv2DCases))]
    public void Conv2DMatchesDirectDefinition(int batch, int ch, int filters, int group, int h, int w, int k, int stride, int dil, int pad)
    {
        int[] xs = [batch, ch, h, w];
        int[] ws = [filters, ch / group, k, k];
        var x = RandomFloats(1, batch * ch * h * w);
        var wt = RandomFloats(2, filters * ch / group * k * k);
        var b = RandomFloats(3, filters);
        int ext = (k - 1) * dil + 1;
        int oh = (h + 2 * pad - ext) / stride + 1, ow = (w + 2 * pad - ext) / stride + 1;
        var y = Run("Conv", [F(xs, x), F(ws, wt), F([filters], b)],
            Ints("strides", stride, stride), Ints("dilations", dil, dil), Ints("pads", pad, pad, pad, pad), Int("group", group));
        Shape([batch, filters, oh, ow], y);
        var expected = DirectConv(new ConvShape(batch, ch, filters, group, [h, w], [k, k], [stride, stride], [dil, dil], [pad, pad], [pad, pad]), x, wt, b);
        Close(expected, y, 1e-4f);
    }

    [Fact]
    public void ConvAsymmetricPadsAndRectangularKernel()
    {
        var x = RandomFloats(4, 2 * 5 * 6);
        var wt = RandomFloats(5, 3 * 2 * 2 * 3);
        // pads: top 1, left 0, bottom 2, right 1; kernel 2x3; strides (2,1).
        var y = Run("Conv", [F([1, 2, 5, 6], x), F([3, 2, 2, 3], wt)], Ints("strides", 2, 1), Ints("pads", 1, 0, 2, 1));
        int oh = (5 + 3 - 2) / 2 + 1, ow = (6 + 1 - 3) / 1 + 1;
        Shape([1, 3, oh, ow], y);
        // Build the padded input explicitly and convolve it with zero padding.
        var padded = new float[2 * 8 * 7];
        for (int c = 0; c < 2; c++)
            for (int i = 0; i < 5; i++)
                for (int j = 0; j < 6; j++)
                    padded[(c * 8 + i + 1) * 7 + j] = x[(c * 5 + i) * 6 + j];
        var expected = DirectConv(new ConvShape(1, 2, 3, 1, [8, 7], [2, 3], [2, 1], [1, 1], [0, 0], [0, 0]), padded, wt);
        Close(expected, y, 1e-4f);
        // The oracle's own padding gives the same answer on the unpadded input.
        Close(DirectConv(new ConvShape(1, 2, 3, 1, [5, 6], [2, 3], [2, 1], [1, 1], [1, 0], [2, 1]), x, wt), y, 1e-4f);
    }

    [Theory]
    // in, k, stride, autoPad, expected out, expected pad begin (worked out by hand)
    [InlineData(5, 3, 2, "SAME_UPPER", 3, 1)]
    [InlineData(6, 3, 2, "SAME_UPPER", 3, 0)]
    [InlineData(6, 3, 2, "SAME_LOWER", 3, 1)]
    [InlineData(7, 4, 1, "SAME_UPPER", 7, 1)]
    [InlineData(7, 4, 1, "SAME_LOWER", 7, 2)]
    [InlineData(7, 3, 2, "VALID", 3, 0)]
    public void ConvAutoPad(int size, int k, int stride, string autoPad, int outSize, int padBegin)
    {
        var x = RandomFloats(6, size * size);
        var wt = RandomFloats(7, k * k);
        var y = Run("Conv", [F([1, 1, size, size], x), F([1, 1, k, k], wt)], Ints("strides", stride, stride), Str("auto_pad", autoPad));
        Shape([1, 1, outSize, outSize], y);
        // The end padding that, with the begin padding worked out by hand, gives the expected output size.
        int padEnd = (outSize - 1) * stride + k - size - padBegin;
        var expected = DirectConv(new ConvShape(1, 1, 1, 1, [size, size], [k, k], [stride, stride], [1, 1], [padBegin, padBegin], [padEnd, padEnd]), x, wt);
        Close(expected, y, 1e-4f);
    }

    [Fact]
    public void Conv1DAnd3D()
    {
        var x1 = RandomFloats(8, 2 * 3 * 11);
        var w1 = RandomFloats(9, 4 * 3 * 3);
        var y1 = Run("Conv", [F([2, 3, 11], x1), F([4, 3, 3], w1)], Ints("strides", 2), Ints("pads", 1, 1), Ints("dilations", 2));
        Shape([2, 4, 5], y1);
        Close(DirectConv(new ConvShape(2, 3, 4, 1, [11], [3], [2], [2], [1], [1]), x1, w1), y1, 1e-4f);

        var x3 = RandomFloats(10, 1 * 4 * 5 * 6 * 7);
        var w3 = RandomFloats(11, 6 * 2 * 3 * 2 * 3);
        var b3 = RandomFloats(12, 6);
        var y3 = Run("Conv", [F([1, 4, 5, 6, 7], x3), F([6, 2, 3, 2, 3], w3), F([6], b3)],
            Int("group", 2), Ints("strides", 1, 2, 2), Ints("pads", 1, 0, 1, 1, 1, 1));
        int od = (5 + 2 - 3) + 1, oh = (6 + 1 - 2) / 2 + 1, ow = (7 + 2 - 3) / 2 + 1;
        Shape([1, 6, od, oh, ow], y3);
        // pads are (d0,h0,w0,d1,h1,w1): begins (1,0,1); end padding only affects the output size.
        Close(DirectConv(new ConvShape(1, 4, 6, 2, [5, 6, 7], [3, 2, 3], [1, 2, 2], [1, 1, 1], [1, 0, 1], [1, 1, 1]), x3, w3, b3), y3, 1e-4f);
    }

    [Fact]
    public void ConvHandComputed()
    {
        // 3x3 input, 2x2 all-ones kernel, no padding: sums of 2x2 windows.
        var y = Run("Conv", [F([1, 1, 3, 3], 1, 2, 3, 4, 5, 6, 7, 8, 9), F([1, 1, 2, 2], 1, 1, 1, 1), F([1], 10)]);
        Close([22, 26, 34, 38], y);
    }

    /// <summary>Transposed convolution by its definition: each input scatters x * w into the output.</summary>
    private static float[] DirectConvTranspose(float[] x, int[] xs, float[] w, int[] ws, int group, int s, int d, int p, int oh, int ow)
    {
        int ch = xs[1], cg = ch / group, mg = ws[1], filters = mg * group;
        var y = new double[xs[0] * filters * oh * ow];
        for (int n = 0; n < xs[0]; n++)
            for (int c = 0; c < ch; c++)
                for (int iy = 0; iy < xs[2]; iy++)
                    for (int ix = 0; ix < xs[3]; ix++)
                        for (int m = 0; m < mg; m++)
                            for (int ky = 0; ky < ws[2]; ky++)
                                for (int kx = 0; kx < ws[3]; kx++)
                                {
                                    int oy = iy * s - p + ky * d, ox = ix * s - p + kx * d;
                                    if (oy < 0 || oy >= oh || ox < 0 || ox >= ow)
                                        continue;
                                    int om = c / cg * mg + m;
                                    y[((n * filters + om) * oh + oy) * ow + ox] +=
                                        x[((n * ch + c) * xs[2] + iy) * xs[3] + ix] * w[((c * mg + m) * ws[2] + ky) * ws[3] + kx];
                                }
        return Array.ConvertAll(y, v => (float)v);
    }

    [Theory]
    [InlineData(1, 1, 1, 0, 0)]
    [InlineData(2, 1, 1, 1, 1)]
    [InlineData(2, 2, 2, 0, 0)]
    [InlineData(3, 1, 2, 1, 2)]
    public void ConvTransposeMatchesDefinition(int stride, int dil, int group, int pad, int outputPadding)
    {
        int ch = 4, mg = 3, h = 4, w = 5, k = 3;
        var x = RandomFloats(13, 2 * ch * h * w);
        var wt = RandomFloats(14, ch * mg * k * k);
        var y = Run("ConvTranspose", [F([2, ch, h, w], x), F([ch, mg, k, k], wt)],
            Ints("strides", stride, stride), Ints("dilations", dil, dil), Ints("pads", pad, pad, pad, pad),
            Ints("output_padding", outputPadding, outputPadding), Int("group", group));
        int oh = stride * (h - 1) + outputPadding + (k - 1) * dil + 1 - 2 * pad;
        int ow = stride * (w - 1) + outputPadding + (k - 1) * dil + 1 - 2 * pad;
        Shape([2, mg * group, oh, ow], y);
        Close(DirectConvTranspose(x, [2, ch, h, w], wt, [ch, mg, k, k], group, stride, dil, pad, oh, ow), y, 1e-4f);
    }

    [Fact]
    public void ConvTransposeOutputShape()
    {
        // stride 2, k 3, in 3: full size 7; output_shape 6 leaves total padding 1 -> begin 1, end 0 (NOTSET).
        var x = RandomFloats(15, 9);
        var wt = RandomFloats(16, 9);
        var y = Run("ConvTranspose", [F([1, 1, 3, 3], x), F([1, 1, 3, 3], wt)], Ints("strides", 2, 2), Ints("output_shape", 6, 6));
        Shape([1, 1, 6, 6], y);
        Close(DirectConvTranspose(x, [1, 1, 3, 3], wt, [1, 1, 3, 3], 1, 2, 1, 1, 6, 6), y, 1e-4f);
    }

    [Theory]
    // stride 2, k 3, in 3: full output 7, target 6, total padding 1.
    [InlineData("SAME_UPPER", 0)]
    [InlineData("SAME_LOWER", 1)]
    public void ConvTransposeAutoPad(string autoPad, int padBegin)
    {
        var x = RandomFloats(21, 9);
        var wt = RandomFloats(22, 9);
        var y = Run("ConvTranspose", [F([1, 1, 3, 3], x), F([1, 1, 3, 3], wt)], Ints("strides", 2, 2), Str("auto_pad", autoPad));
        Shape([1, 1, 6, 6], y);
        Close(DirectConvTranspose(x, [1, 1, 3, 3], wt, [1, 1, 3, 3], 1, 2, 1, padBegin, 6, 6), y, 1e-4f);
    }

    [Fact]
    public void GemmWithTransposesAndBroadcastC()
    {
        var a = F([3, 2], 1, 4, 2, 5, 3, 6);        // A^T = [[1,2,3],[4,5,6]]
        var b = F([2, 3], 1, 2, 3, 4, 5, 6);        // B^T = [[1,4],[2,5],[3,6]]
        var c = F([2], 1, 2);                        // row broadcast
        var y = Run("Gemm", [a, b, c], Int("transA", 1), Int("transB", 1), Float("alpha", 2), Float("beta", 3));
        // A^T B^T = [[14,32],[32,77]]; *2 + 3*[1,2]
        Shape([2, 2], y);
        Close([31, 70, 67, 160], y);
    }

    [Fact]
    public void MatMulBroadcastAndVectors()
    {
        var a = RandomFloats(17, 2 * 1 * 3 * 4);
        var b = RandomFloats(18, 5 * 4 * 6);
        var y = Run("MatMul", [F([2, 1, 3, 4], a), F([5, 4, 6], b)]);
        Shape([2, 5, 3, 6], y);
        var expected = new float[2 * 5 * 3 * 6];
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 5; j++)
                for (int r = 0; r < 3; r++)
                    for (int col = 0; col < 6; col++)
                    {
                        double s = 0;
                        for (int k = 0; k < 4; k++)
                            s += a[(i * 3 + r) * 4 + k] * b[(j * 4 + k) * 6 + col];
                        expected[((i * 5 + j) * 3 + r) * 6 + col] = (float)s;
                    }
        Close(expected, y, 1e-5f);

        var v = Run("MatMul", [F([3], 1, 2, 3), F([3, 2], 1, 2, 3, 4, 5, 6)]);
        Shape([2], v);
        Close([22, 28], v);
        var u = Run("MatMul", [F([2, 3], 1, 2, 3, 4, 5, 6), F([3], 1, 0, -1)]);
        Shape([2], u);
        Close([-2, -2], u);
    }

    [Fact]
    public void LargeGemmMatchesNaive()
    {
        int m = 37, k = 300, n = 530;
        var a = RandomFloats(19, m * k);
        var b = RandomFloats(20, k * n);
        var y = Run("MatMul", [F([m, k], a), F([k, n], b)]);
        var expected = new float[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                    s += a[i * k + p] * b[p * n + j];
                expected[i * n + j] = (float)s;
            }
        Close(expected, y, 1e-4f);
    }
}
