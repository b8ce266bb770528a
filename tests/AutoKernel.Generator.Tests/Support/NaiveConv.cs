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

    public static float Activate(Epilogue e, float x) => e.Activation switch
    {
        "" => x,
        "Relu" => Math.Max(x, 0),
        "Clip" => Math.Min(Math.Max(x, e.Alpha), e.Beta),
        "LeakyRelu" => x >= 0 ? x : x * e.Alpha,
        "Sigmoid" => 1 / (1 + MathF.Exp(-x)),
        _ => throw new ArgumentException(e.Activation),
    };

    public static float[] Random(Random random, int length)
    {
        var a = new float[length];
        for (int i = 0; i < a.Length; i++)
            a[i] = (float)(random.NextDouble() * 2 - 1);
        return a;
    }
}
