using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Workloads;

namespace AutoKernel.TestSupport;

/// <summary>
/// The definition of a convolution with a fused epilogue, loop by loop, for checking kernels and the
/// reference executor against:
/// y[n, k, o] = act(bias[k] + sum over c, t of x[n, g * Cg + c, o * stride - padBegin + t * dilation] * w[k, c, t] + residual[n, k, o])
/// with g = k / (OutChannels / Groups), Cg = InChannels / Groups, taps that fall in the padding
/// skipped, the sum accumulated in double from the bias and rounded to float once before the
/// activation. Nothing here is tuned or vectorized, and nothing comes from the product's code.
/// </summary>
public static class NaiveConvolution
{
    /// <summary>
    /// The convolution of <paramref name="x"/> with <paramref name="w"/>, plus <paramref name="bias"/>
    /// and <paramref name="residual"/> where they are given (whatever the epilogue's flags say), then
    /// the epilogue's activation.
    /// </summary>
    public static float[] Run(ConvShape g, Epilogue epilogue, float[] x, float[] w, float[]? bias, float[]? residual)
    {
        ArgumentNullException.ThrowIfNull(g);
        ArgumentNullException.ThrowIfNull(epilogue);
        g.Validate();
        Require(x.Length == g.InputLength, $"input has {x.Length} elements, {g} needs {g.InputLength}");
        Require(w.Length == g.WeightLength, $"weights have {w.Length} elements, {g} needs {g.WeightLength}");
        Require(bias is null || bias.Length == g.OutChannels, $"bias has {bias?.Length} elements, {g} needs {g.OutChannels}");
        Require(residual is null || residual.Length == g.OutputLength, $"residual has {residual?.Length} elements, {g} needs {g.OutputLength}");

        // Spatial axes padded at the front to three of extent 1, so one loop nest serves every rank.
        int lead = ConvShape.MaxRank - g.Rank;
        int[] Axes(int[] values, int fill) => [.. Enumerable.Repeat(fill, lead), .. values];
        int[] inSize = Axes(g.InSize, 1), kernel = Axes(g.KernelSize, 1), stride = Axes(g.Strides, 1);
        int[] dilation = Axes(g.Dilations, 1), pad = Axes(g.PadsBegin, 0), outSize = Axes(g.OutSize, 1);
        int cg = g.InChannels / g.Groups, kg = g.OutChannels / g.Groups;

        var y = new float[g.OutputLength];
        for (int n = 0; n < g.Batch; n++)
        for (int k = 0; k < g.OutChannels; k++)
        for (int oz = 0; oz < outSize[0]; oz++)
        for (int oy = 0; oy < outSize[1]; oy++)
        for (int ox = 0; ox < outSize[2]; ox++)
        {
            double sum = bias is null ? 0 : bias[k];
            int group = k / kg;
            for (int c = 0; c < cg; c++)
            for (int tz = 0; tz < kernel[0]; tz++)
            for (int ty = 0; ty < kernel[1]; ty++)
            for (int tx = 0; tx < kernel[2]; tx++)
            {
                int iz = oz * stride[0] - pad[0] + tz * dilation[0];
                int iy = oy * stride[1] - pad[1] + ty * dilation[1];
                int ix = ox * stride[2] - pad[2] + tx * dilation[2];
                if (iz < 0 || iz >= inSize[0] || iy < 0 || iy >= inSize[1] || ix < 0 || ix >= inSize[2])
                    continue;
                int xc = group * cg + c;
                sum += (double)x[(((n * g.InChannels + xc) * inSize[0] + iz) * inSize[1] + iy) * inSize[2] + ix]
                    * w[(((k * cg + c) * kernel[0] + tz) * kernel[1] + ty) * kernel[2] + tx];
            }
            int at = (((n * g.OutChannels + k) * outSize[0] + oz) * outSize[1] + oy) * outSize[2] + ox;
            if (residual is not null)
                sum += residual[at];
            y[at] = Activate(epilogue, (float)sum);
        }
        return y;
    }

    /// <summary>A 2-D convolution workload: NCHW input, OIHW weights, NCHW output.</summary>
    public static float[] Run(Conv2dWorkload c, Epilogue epilogue, float[] x, float[] w, float[]? bias, float[]? residual) =>
        Run(ConvShape.Of(c), epilogue, x, w, bias, residual);

    /// <summary>y = act(x · wᵀ + bias + residual) for row-major x [M, K], w [N, K], bias [N], residual and y [M, N].</summary>
    public static float[] Dense(DenseWorkload d, Epilogue epilogue, float[] x, float[] w, float[]? bias, float[]? residual) =>
        Run(ConvShape.Of(d), epilogue, x, w, bias, residual);

    /// <summary>
    /// <see cref="Run(Conv2dWorkload, Epilogue, float[], float[], float[], float[])"/> or
    /// <see cref="Dense"/> by workload, with the bias and residual used only where the epilogue's
    /// flags say so (the arrays may be given either way).
    /// </summary>
    public static float[] Reference(Workload workload, Epilogue epilogue, float[] x, float[] w, float[]? bias, float[]? residual)
    {
        float[]? b = epilogue.Bias ? bias ?? throw new ArgumentException("the epilogue has a bias", nameof(bias)) : null;
        float[]? r = epilogue.Residual ? residual ?? throw new ArgumentException("the epilogue has a residual", nameof(residual)) : null;
        return workload switch
        {
            Conv2dWorkload c => Run(c, epilogue, x, w, b, r),
            DenseWorkload d => Dense(d, epilogue, x, w, b, r),
            _ => throw new ArgumentException($"no naive form for {workload.Key}", nameof(workload)),
        };
    }

    /// <summary>
    /// The epilogue's activation of <paramref name="x"/>, by ONNX's definition, evaluated in double and
    /// rounded to float once. A NaN stays NaN through every activation (as in ONNX Runtime); Clip is
    /// min(max(x, alpha), beta), so every value is beta when alpha &gt; beta; Selu's gamma is the
    /// epilogue's Beta, Swish's alpha its Alpha.
    /// </summary>
    public static float Activate(Epilogue epilogue, float x)
    {
        double v = x, alpha = epilogue.Alpha, beta = epilogue.Beta;
        double y = epilogue.Activation switch
        {
            "" => v,
            "Relu" => v < 0 ? 0 : v,
            // Math.Max and Math.Min return NaN when either operand is NaN.
            "Clip" => Math.Min(Math.Max(v, alpha), beta),
            "LeakyRelu" => v < 0 ? alpha * v : v,
            "Sigmoid" => 1 / (1 + Math.Exp(-v)),
            "HardSigmoid" => HardClamp(alpha * v + beta),
            "HardSwish" => v * HardClamp(v / 6 + 0.5),
            "Tanh" => Math.Tanh(v),
            "Elu" => v < 0 ? alpha * (Math.Exp(v) - 1) : v,
            "Selu" => v > 0 ? beta * v : beta * (alpha * Math.Exp(v) - alpha),
            // log(1 + e^v), written so that e^v cannot overflow: max(v, 0) + log(1 + e^-|v|).
            "Softplus" => Math.Max(v, 0) + Math.Log(1 + Math.Exp(-Math.Abs(v))),
            "Swish" => v / (1 + Math.Exp(-alpha * v)),
            _ => throw new ArgumentException($"unknown activation '{epilogue.Activation}'", nameof(epilogue)),
        };
        return (float)y;
    }

    /// <summary>max(0, min(1, v)), NaN kept.</summary>
    private static double HardClamp(double v) => v < 0 ? 0 : v > 1 ? 1 : v;

    private static void Require(bool condition, string message)
    {
        if (!condition)
            throw new ArgumentException(message);
    }
}
