using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Workloads;

namespace AutoKernel.Generator.Tests.Support;

/// <summary>The definition of a 2-D convolution with a fused epilogue, loop by loop, for checking emitted kernels.</summary>
public static class NaiveConv
{
    public static float[] Run(Conv2dWorkload c, Epilogue e, float[] x, float[] w, float[]? bias, float[]? residual)
    {
        int oh = c.OutHeight, ow = c.OutWidth, cg = c.InChannels / c.Groups, kg = c.OutChannels / c.Groups;
        var y = new float[c.Batch * c.OutChannels * oh * ow];
        for (int n = 0; n < c.Batch; n++)
        for (int k = 0; k < c.OutChannels; k++)
        for (int i = 0; i < oh; i++)
        for (int j = 0; j < ow; j++)
        {
            double sum = bias is null ? 0 : bias[k];
            int g = k / kg;
            for (int ci = 0; ci < cg; ci++)
            for (int r = 0; r < c.KernelHeight; r++)
            for (int s = 0; s < c.KernelWidth; s++)
            {
                int yy = i * c.StrideHeight - c.PadTop + r * c.DilationHeight;
                int xx = j * c.StrideWidth - c.PadLeft + s * c.DilationWidth;
                if (yy < 0 || yy >= c.InHeight || xx < 0 || xx >= c.InWidth)
                    continue;
                sum += x[((n * c.InChannels + g * cg + ci) * c.InHeight + yy) * c.InWidth + xx]
                    * w[((k * cg + ci) * c.KernelHeight + r) * c.KernelWidth + s];
            }
            int at = ((n * c.OutChannels + k) * oh + i) * ow + j;
            if (residual is not null)
                sum += residual[at];
            y[at] = Activate(e, (float)sum);
        }
        return y;
    }

    /// <summary>The epilogue activation, written exactly as AutoKernel.Build.Graph.Activations.Apply (the reference semantics).</summary>
    public static float Activate(Epilogue e, float x)
    {
        float alpha = e.Alpha, beta = e.Beta;
        return e.Activation switch
        {
            "" => x,
            "Relu" => x > 0 ? x : 0,
            "Clip" => x < alpha ? alpha : x > beta ? beta : x,
            "LeakyRelu" => x >= 0 ? x : alpha * x,
            "Sigmoid" => 1f / (1f + MathF.Exp(-x)),
            "HardSigmoid" => Math.Clamp(alpha * x + beta, 0f, 1f),
            "HardSwish" => x * Math.Clamp(x / 6f + 0.5f, 0f, 1f),
            "Tanh" => MathF.Tanh(x),
            "Elu" => x >= 0 ? x : alpha * (MathF.Exp(x) - 1f),
            "Selu" => x > 0 ? beta * x : beta * (alpha * MathF.Exp(x) - alpha),
            "Softplus" => MathF.Max(x, 0f) + MathF.Log(1f + MathF.Exp(-MathF.Abs(x))),
            "Swish" => x / (1f + MathF.Exp(-e.Alpha * x)),
            _ => throw new ArgumentException(e.Activation),
        };
    }

    /// <summary>y = act(x · wᵀ + bias + residual) for row-major x [M, K], w [N, K].</summary>
    public static float[] Dense(DenseWorkload d, Epilogue e, float[] x, float[] w, float[]? bias, float[]? residual)
    {
        var y = new float[d.M * d.N];
        for (int m = 0; m < d.M; m++)
        for (int n = 0; n < d.N; n++)
        {
            double sum = bias is null ? 0 : bias[n];
            for (int k = 0; k < d.K; k++)
                sum += (double)x[m * d.K + k] * w[n * d.K + k];
            if (residual is not null)
                sum += residual[m * d.N + n];
            y[m * d.N + n] = Activate(e, (float)sum);
        }
        return y;
    }

    /// <summary><see cref="Run"/> or <see cref="Dense"/>, by workload; bias and residual are used where the epilogue has them.</summary>
    public static float[] Reference(Workload workload, Epilogue e, float[] x, float[] w, float[] bias, float[]? residual)
    {
        float[]? b = e.Bias ? bias : null;
        float[]? r = e.Residual ? residual : null;
        return workload switch
        {
            Conv2dWorkload c => Run(c, e, x, w, b, r),
            DenseWorkload d => Dense(d, e, x, w, b, r),
            _ => throw new ArgumentException(workload.Key),
        };
    }

    public static float[] Random(Random random, int length)
    {
        var a = new float[length];
        for (int i = 0; i < a.Length; i++)
            a[i] = (float)(random.NextDouble() * 2 - 1);
        return a;
    }
}
