using System.Globalization;
using AutoKernel.Build.Graph;

namespace AutoKernel.Build.Reference;

/// <summary>
/// The sliding-window geometry of Conv and the pools, padded to three spatial axes (leading axes of
/// size 1) so that one loop nest serves 1-D, 2-D and 3-D operators.
/// </summary>
internal sealed class Window
{
    public const int Axes = 3;

    public int[] In { get; } = [1, 1, 1];
    public int[] Kernel { get; } = [1, 1, 1];
    public int[] Stride { get; } = [1, 1, 1];
    public int[] Dilation { get; } = [1, 1, 1];
    public int[] PadBegin { get; } = [0, 0, 0];
    public int[] PadEnd { get; } = [0, 0, 0];
    public int[] Out { get; } = [1, 1, 1];

    public int InSize => In[0] * In[1] * In[2];
    public int OutSize => Out[0] * Out[1] * Out[2];
    public int KernelSize => Kernel[0] * Kernel[1] * Kernel[2];

    /// <summary>The spatial output shape (the real axes only).</summary>
    public int[] OutSpatial(int rank) => Out[(Axes - rank)..];

    /// <summary>
    /// Reads strides, dilations, pads and auto_pad for a window of <paramref name="kernel"/> over
    /// <paramref name="input"/> (both spatial only) and computes the output size.
    /// </summary>
    public static Window Compute(OpContext c, int[] input, int[] kernel, bool ceilMode)
    {
        int r = input.Length;
        if (r < 1 || r > Axes)
            throw c.Fail(string.Create(CultureInfo.InvariantCulture, $"{c.Op} supports 1 to 3 spatial axes, got {r}"));
        var strides = c.Ints("strides") ?? Ones(r);
        var dilations = c.Ints("dilations") ?? Ones(r);
        var pads = c.Ints("pads") ?? new long[2 * r];
        string autoPad = c.String("auto_pad", "NOTSET");
        if (strides.Length != r || dilations.Length != r || pads.Length != 2 * r)
            throw c.Fail(string.Create(CultureInfo.InvariantCulture, $"{c.Op} strides, dilations and pads must have {r}, {r} and {2 * r} values"));
        var w = new Window();
        int o = Axes - r;
        for (int i = 0; i < r; i++)
        {
            if (kernel[i] < 1 || strides[i] < 1 || dilations[i] < 1 || pads[i] < 0 || pads[i + r] < 0)
                throw c.Fail($"{c.Op} kernel, strides and dilations must be positive and pads non-negative");
            w.In[o + i] = input[i];
            w.Kernel[o + i] = kernel[i];
            w.Stride[o + i] = c.Dim(strides[i], "stride");
            w.Dilation[o + i] = c.Dim(dilations[i], "dilation");
            if (autoPad is not ("NOTSET" or "VALID" or "SAME_UPPER" or "SAME_LOWER"))
                throw c.Fail($"{c.Op} auto_pad '{autoPad}' is not supported");
            var (begin, end, outSize) = ConvGeometry.ResolveAxis(
                autoPad, input[i], kernel[i], w.Stride[o + i], w.Dilation[o + i], c.Dim(pads[i], "pad"), c.Dim(pads[i + r], "pad"), ceilMode);
            if (outSize < 1)
                throw c.Fail($"{c.Op} kernel is larger than the padded input {ShapeMath.Format(input)}");
            w.PadBegin[o + i] = begin;
            w.PadEnd[o + i] = end;
            w.Out[o + i] = c.Dim(outSize, "output size");
        }
        return w;
    }

    public static long[] Ones(int n)
    {
        var r = new long[n];
        Array.Fill(r, 1L);
        return r;
    }
}

/// <summary>Conv (im2col per group + GEMM) and ConvTranspose (GEMM + col2im).</summary>
internal static class Convolution
{
    public static Tensor[] Conv(OpContext c) => [ConvCore(c)];

    public static Tensor ConvCore(OpContext c)
    {
        var x = c.Float(0);
        var w = c.Float(1);
        var bias = c.Optional(2, DataType.Float);
        if (x.Rank < 3 || x.Rank > 5)
            throw c.Fail($"{c.Op} expects 3-D to 5-D input, got {ShapeMath.Format(x.Shape)}");
        if (w.Rank != x.Rank)
            throw c.Fail($"{c.Op} weight {ShapeMath.Format(w.Shape)} does not match input {ShapeMath.Format(x.Shape)}");
        int r = x.Rank - 2;
        int batch = x.Shape[0], channels = x.Shape[1], filters = w.Shape[0];
        int group = c.SmallInt("group", 1);
        if (group < 1 || channels % group != 0 || filters % group != 0 || w.Shape[1] * group != channels)
            throw c.Fail($"{c.Op} group {group} does not fit input {ShapeMath.Format(x.Shape)} and weight {ShapeMath.Format(w.Shape)}");
        int[] kernel = w.Shape[2..];
        var ks = c.Ints("kernel_shape");
        if (ks is not null && !ks.AsSpan().SequenceEqual(Array.ConvertAll(kernel, d => (long)d)))
            throw c.Fail($"{c.Op} kernel_shape does not match weight {ShapeMath.Format(w.Shape)}");
        if (bias is not null && (bias.Rank != 1 || bias.Shape[0] != filters))
            throw c.Fail($"{c.Op} bias {ShapeMath.Format(bias.Shape)} does not match {filters} filters");
        var win = Window.Compute(c, x.Shape[2..], kernel, ceilMode: false);

        int cg = channels / group, mg = filters / group;
        int kk = cg * win.KernelSize, outSize = win.OutSize, inSize = win.InSize;
        int[] shape = [batch, filters, .. win.OutSpatial(r)];
        var y = new float[c.Count(shape)];
        var xd = x.Floats;
        var wd = w.Floats;
        bool pointwise = win.KernelSize == 1 && win.Stride is [1, 1, 1] && win.PadBegin is [0, 0, 0] && win.PadEnd is [0, 0, 0];

        void RunGroup(int ng, bool parallelGemm)
        {
            int n = ng / group, g = ng % group;
            int xOff = (n * channels + g * cg) * inSize;
            float[] col;
            int colOff;
            if (pointwise)
            {
                col = xd;
                colOff = xOff;
            }
            else
            {
                col = Im2Col(xd, xOff, cg, win);
                colOff = 0;
            }
            Gemm(wd, g * mg * kk, col, colOff, y, (n * filters + g * mg) * outSize, mg, outSize, kk, parallelGemm);
        }

        int jobs = batch * group;
        if (jobs >= 2 * Environment.ProcessorCount)
            Parallel.For(0, jobs, ng => RunGroup(ng, false));
        else
            for (int ng = 0; ng < jobs; ng++)
                RunGroup(ng, true);

        if (bias is not null)
            AddChannelBias(y, bias.Floats, batch, filters, outSize);
        return new Tensor(DataType.Float, shape, y);
    }

    private static void Gemm(float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int m, int n, int k, bool parallel) =>
        MatrixMultiply.Gemm(a, aOff, b, bOff, c, cOff, m, n, k, parallel);

    public static void AddChannelBias(float[] y, float[] bias, int batch, int channels, int size)
    {
        for (int n = 0; n < batch; n++)
            for (int m = 0; m < channels; m++)
            {
                var plane = y.AsSpan((n * channels + m) * size, size);
                float b = bias[m];
                for (int i = 0; i < plane.Length; i++)
                    plane[i] += b;
            }
    }

    /// <summary>
    /// The [channels * kernel positions, output positions] matrix of input values each output reads
    /// (zero where the window covers padding). Row (ch, kz, ky, kx), column (oz, oy, ox).
    /// </summary>
    private static float[] Im2Col(float[] x, int xOff, int channels, Window w)
    {
        int[] inn = w.In, k = w.Kernel, s = w.Stride, d = w.Dilation, p = w.PadBegin, o = w.Out;
        int outSize = w.OutSize;
        var col = new float[channels * w.KernelSize * outSize];
        int row = 0;
        for (int ch = 0; ch < channels; ch++)
            for (int kz = 0; kz < k[0]; kz++)
                for (int ky = 0; ky < k[1]; ky++)
                    for (int kx = 0; kx < k[2]; kx++, row++)
                    {
                        int dst = row * outSize;
                        for (int oz = 0; oz < o[0]; oz++)
                        {
                            int iz = oz * s[0] - p[0] + kz * d[0];
                            for (int oy = 0; oy < o[1]; oy++)
                            {
                                int iy = oy * s[1] - p[1] + ky * d[1];
                                bool rowValid = iz >= 0 && iz < inn[0] && iy >= 0 && iy < inn[1];
                                int srcRow = xOff + ((ch * inn[0] + iz) * inn[1] + iy) * inn[2];
                                for (int ox = 0; ox < o[2]; ox++, dst++)
                                {
                                    int ix = ox * s[2] - p[2] + kx * d[2];
                                    if (rowValid && ix >= 0 && ix < inn[2])
                                        col[dst] = x[srcRow + ix];
                                }
                            }
                        }
                    }
        return col;
    }

    // ---- ConvTranspose ----

    public static Tensor[] ConvTranspose(OpContext c)
    {
        var x = c.Float(0);
        var w = c.Float(1);
        var bias = c.Optional(2, DataType.Float);
        if (x.Rank < 3 || x.Rank > 5)
            throw c.Fail($"ConvTranspose expects 3-D to 5-D input, got {ShapeMath.Format(x.Shape)}");
        if (w.Rank != x.Rank)
            throw c.Fail($"ConvTranspose weight {ShapeMath.Format(w.Shape)} does not match input {ShapeMath.Format(x.Shape)}");
        int r = x.Rank - 2;
        int batch = x.Shape[0], channels = x.Shape[1];
        int group = c.SmallInt("group", 1);
        if (group < 1 || channels % group != 0 || w.Shape[0] != channels)
            throw c.Fail($"ConvTranspose group {group} does not fit input {ShapeMath.Format(x.Shape)} and weight {ShapeMath.Format(w.Shape)}");
        int cg = channels / group, mg = w.Shape[1], filters = mg * group;
        if (bias is not null && (bias.Rank != 1 || bias.Shape[0] != filters))
            throw c.Fail($"ConvTranspose bias {ShapeMath.Format(bias.Shape)} does not match {filters} output channels");
        int[] kernel = w.Shape[2..];
        var ks = c.Ints("kernel_shape");
        if (ks is not null && !ks.AsSpan().SequenceEqual(Array.ConvertAll(kernel, d => (long)d)))
            throw c.Fail("ConvTranspose kernel_shape does not match the weight");

        var strides = c.Ints("strides") ?? Window.Ones(r);
        var dilations = c.Ints("dilations") ?? Window.Ones(r);
        var pads = c.Ints("pads") ?? new long[2 * r];
        var outputPadding = c.Ints("output_padding") ?? new long[r];
        var outputShape = c.Ints("output_shape");
        string autoPad = c.String("auto_pad", "NOTSET");
        if (strides.Length != r || dilations.Length != r || pads.Length != 2 * r || outputPadding.Length != r)
            throw c.Fail("ConvTranspose strides, dilations, pads or output_padding have the wrong length");
        if (outputShape is not null && outputShape.Length == r + 2)
            outputShape = outputShape[2..];
        if (outputShape is not null && outputShape.Length != r)
            throw c.Fail("ConvTranspose output_shape has the wrong length");
        if (autoPad is not ("NOTSET" or "VALID" or "SAME_UPPER" or "SAME_LOWER"))
            throw c.Fail($"ConvTranspose auto_pad '{autoPad}' is not supported");

        var win = new Window();
        int o = Window.Axes - r;
        for (int i = 0; i < r; i++)
        {
            if (kernel[i] < 1 || strides[i] < 1 || dilations[i] < 1 || outputPadding[i] < 0 || pads[i] < 0 || pads[i + r] < 0)
                throw c.Fail("ConvTranspose kernel, strides and dilations must be positive, pads and output_padding non-negative");
            long inSize = x.Shape[2 + i];
            long full = strides[i] * (inSize - 1) + outputPadding[i] + (kernel[i] - 1) * dilations[i] + 1;
            long begin, end;
            if (outputShape is not null || autoPad is "SAME_UPPER" or "SAME_LOWER")
            {
                long target = outputShape is not null ? outputShape[i] : inSize * strides[i];
                long total = full - target;
                if (total < 0)
                    throw c.Fail($"ConvTranspose output_shape {target} is larger than the full output {full}");
                // ONNX: SAME_UPPER puts the smaller half first, otherwise the larger half first.
                begin = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
                end = total - begin;
            }
            else if (autoPad == "VALID")
            {
                begin = end = 0;
            }
            else
            {
                begin = pads[i];
                end = pads[i + r];
            }
            win.In[o + i] = (int)inSize;
            win.Kernel[o + i] = kernel[i];
            win.Stride[o + i] = c.Dim(strides[i], "stride");
            win.Dilation[o + i] = c.Dim(dilations[i], "dilation");
            win.PadBegin[o + i] = c.Dim(begin, "pad");
            win.PadEnd[o + i] = c.Dim(end, "pad");
            long outSize = full - begin - end;
            if (outSize < 1)
                throw c.Fail("ConvTranspose output would be empty");
            win.Out[o + i] = c.Dim(outSize, "output size");
        }

        int kk = mg * win.KernelSize, inPlane = win.InSize, outPlane = win.OutSize;
        int[] shape = [batch, filters, .. win.OutSpatial(r)];
        var y = new float[c.Count(shape)];
        var xd = x.Floats;
        var wd = w.Floats;
        for (int n = 0; n < batch; n++)
            for (int g = 0; g < group; g++)
            {
                // col[kk, inPlane] = W_g^T [kk, cg] * X_g [cg, inPlane]
                var wt = MatrixMultiply.Transpose(wd, g * cg * kk, cg, kk);
                var col = new float[kk * inPlane];
                MatrixMultiply.Gemm(wt, 0, xd, (n * channels + g * cg) * inPlane, col, 0, kk, inPlane, cg);
                Col2Im(col, y, (n * filters + g * mg) * outPlane, mg, win);
            }
        if (bias is not null)
            AddChannelBias(y, bias.Floats, batch, filters, outPlane);
        return [new Tensor(DataType.Float, shape, y)];
    }

    /// <summary>Scatters each input position's contribution col[(m, kz, ky, kx), (iz, iy, ix)] into the output.</summary>
    private static void Col2Im(float[] col, float[] y, int yOff, int channels, Window w)
    {
        int[] inn = w.In, k = w.Kernel, s = w.Stride, d = w.Dilation, p = w.PadBegin, o = w.Out;
        int inPlane = w.InSize, outPlane = w.OutSize, kSize = w.KernelSize;
        // Output channels are independent: each writes only its own plane.
        Parallel.For(0, channels, m =>
        {
            int row = m * kSize;
            for (int kz = 0; kz < k[0]; kz++)
                for (int ky = 0; ky < k[1]; ky++)
                    for (int kx = 0; kx < k[2]; kx++, row++)
                    {
                        int src = row * inPlane;
                        for (int iz = 0; iz < inn[0]; iz++)
                        {
                            int oz = iz * s[0] - p[0] + kz * d[0];
                            for (int iy = 0; iy < inn[1]; iy++)
                            {
                                int oy = iy * s[1] - p[1] + ky * d[1];
                                bool rowValid = oz >= 0 && oz < o[0] && oy >= 0 && oy < o[1];
                                int dstRow = yOff + m * outPlane + (oz * o[1] + oy) * o[2];
                                for (int ix = 0; ix < inn[2]; ix++, src++)
                                {
                                    int ox = ix * s[2] - p[2] + kx * d[2];
                                    if (rowValid && ox >= 0 && ox < o[2])
                                        y[dstRow + ox] += col[src];
                                }
                            }
                        }
                    }
        });
    }
}
