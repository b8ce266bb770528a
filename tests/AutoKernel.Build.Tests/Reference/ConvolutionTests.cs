using AutoKernel.Build.Graph;
using static AutoKernel.Build.Tests.Reference.RefTest;

namespace AutoKernel.Build.Tests.Reference;

public class ConvolutionTests
{
    /// <summary>
    /// Direct convolution by its definition, 3 spatial axes (1-D and 2-D pass size-1 leading axes):
    /// y[n,m,o] = b[m] + sum_{c,k} x[n, g*Cg + c, o*s - p + k*d] * w[m, c, k].
    /// </summary>
    private static float[] DirectConv(float[] x, int[] xs, float[] w, int[] ws, float[]? b, int group, int[] s, int[] d, int[] p, int[] os)
    {
        int batch = xs[0], ch = xs[1], filters = ws[0], cg = ws[1];
        int mg = filters / group;
        var y = new float[batch * filters * os[0] * os[1] * os[2]];
        for (int n = 0; n < batch; n++)
            for (int m = 0; m < filters; m++)
                for (int oz = 0; oz < os[0]; oz++)
                    for (int oy = 0; oy < os[1]; oy++)
                        for (int ox = 0; ox < os[2]; ox++)
                        {
                            double sum = b?[m] ?? 0;
                            int g = m / mg;
                            for (int c = 0; c < cg; c++)
                                for (int kz = 0; kz < ws[2]; kz++)
                                    for (int ky = 0; ky < ws[3]; ky++)
                                        for (int kx = 0; kx < ws[4]; kx++)
                                        {
                                            int iz = oz * s[0] - p[0] + kz * d[0];
                                            int iy = oy * s[1] - p[1] + ky * d[1];
                                            int ix = ox * s[2] - p[2] + kx * d[2];
                                            if (iz < 0 || iz >= xs[2] || iy < 0 || iy >= xs[3] || ix < 0 || ix >= xs[4])
                                                continue;
                                            int xc = g * cg + c;
                                            sum += x[(((n * ch + xc) * xs[2] + iz) * xs[3] + iy) * xs[4] + ix]
                                                * w[(((m * cg + c) * ws[2] + kz) * ws[3] + ky) * ws[4] + kx];
                                        }
                            y[(((n * filters + m) * os[0] + oz) * os[1] + oy) * os[2] + ox] = (float)sum;
                        }
        return y;
    }

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
        var x = Random(batch * ch * h * w, 1);
        var wt = Random(filters * ch / group * k * k, 2);
        var b = Random(filters, 3);
        int ext = (k - 1) * dil + 1;
        int oh = (h + 2 * pad - ext) / stride + 1, ow = (w + 2 * pad - ext) / stride + 1;
        var y = Run("Conv", [F(xs, x), F(ws, wt), F([filters], b)],
            Ints("strides", stride, stride), Ints("dilations", dil, dil), Ints("pads", pad, pad, pad, pad), Int("group", group));
        Shape([batch, filters, oh, ow], y);
        var expected = DirectConv(x, [batch, ch, 1, h, w], wt, [filters, ch / group, 1, k, k], b, group, [1, stride, stride], [1, dil, dil], [0, pad, pad], [1, oh, ow]);
        Close(expected, y, 1e-4f);
    }

    [Fact]
    public void ConvAsymmetricPadsAndRectangularKernel()
    {
        var x = Random(2 * 5 * 6, 4);
        var wt = Random(3 * 2 * 2 * 3, 5);
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
        var expected = DirectConv(padded, [1, 2, 1, 8, 7], wt, [3, 2, 1, 2, 3], null, 1, [1, 2, 1], [1, 1, 1], [0, 0, 0], [1, oh, ow]);
        Close(expected, y, 1e-4f);
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
        var x = Random(size * size, 6);
        var wt = Random(k * k, 7);
        var y = Run("Conv", [F([1, 1, size, size], x), F([1, 1, k, k], wt)], Ints("strides", stride, stride), Str("auto_pad", autoPad));
        Shape([1, 1, outSize, outSize], y);
        var expected = DirectConv(x, [1, 1, 1, size, size], wt, [1, 1, 1, k, k], null, 1, [1, stride, stride], [1, 1, 1], [0, padBegin, padBegin], [1, outSize, outSize]);
        Close(expected, y, 1e-4f);
    }

    [Fact]
    public void Conv1DAnd3D()
    {
        var x1 = Random(2 * 3 * 11, 8);
        var w1 = Random(4 * 3 * 3, 9);
        var y1 = Run("Conv", [F([2, 3, 11], x1), F([4, 3, 3], w1)], Ints("strides", 2), Ints("pads", 1, 1), Ints("dilations", 2));
        Shape([2, 4, 5], y1);
        Close(DirectConv(x1, [2, 3, 1, 1, 11], w1, [4, 3, 1, 1, 3], null, 1, [1, 1, 2], [1, 1, 2], [0, 0, 1], [1, 1, 5]), y1, 1e-4f);

        var x3 = Random(1 * 4 * 5 * 6 * 7, 10);
        var w3 = Random(6 * 2 * 3 * 2 * 3, 11);
        var b3 = Random(6, 12);
        var y3 = Run("Conv", [F([1, 4, 5, 6, 7], x3), F([6, 2, 3, 2, 3], w3), F([6], b3)],
            Int("group", 2), Ints("strides", 1, 2, 2), Ints("pads", 1, 0, 1, 1, 1, 1));
        int od = (5 + 2 - 3) + 1, oh = (6 + 1 - 2) / 2 + 1, ow = (7 + 2 - 3) / 2 + 1;
        Shape([1, 6, od, oh, ow], y3);
        // pads are (d0,h0,w0,d1,h1,w1): begins (1,0,1); end padding only affects the output size.
        Close(DirectConv(x3, [1, 4, 5, 6, 7], w3, [6, 2, 3, 2, 3], b3, 2, [1, 2, 2], [1, 1, 1], [1, 0, 1], [od, oh, ow]), y3, 1e-4f);
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
        var x = Random(2 * ch * h * w, 13);
        var wt = Random(ch * mg * k * k, 14);
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
        var x = Random(9, 15);
        var wt = Random(9, 16);
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
        var x = Random(9, 21);
        var wt = Random(9, 22);
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
        var a = Random(2 * 1 * 3 * 4, 17);
        var b = Random(5 * 4 * 6, 18);
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
        var a = Random(m * k, 19);
        var b = Random(k * n, 20);
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
