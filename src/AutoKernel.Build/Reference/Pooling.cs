using AutoKernel.Build.Graph;

namespace AutoKernel.Build.Reference;

/// <summary>MaxPool, AveragePool and the global pools, one (batch, channel) plane per parallel job.</summary>
internal static class Pooling
{
    public static Tensor[] MaxPool(OpContext c)
    {
        if (c.Node.Outputs.Count > 1 && c.Node.Outputs[1].Length > 0)
            throw c.Fail("MaxPool Indices output is not supported");
        return [Pool(c, max: true, countIncludePad: false)];
    }

    public static Tensor[] AveragePool(OpContext c) =>
        [Pool(c, max: false, countIncludePad: c.Int("count_include_pad", 0) != 0)];

    private static Tensor Pool(OpContext c, bool max, bool countIncludePad)
    {
        var x = c.Float(0);
        if (x.Rank < 3 || x.Rank > 5)
            throw c.Fail($"{c.Op} expects 3-D to 5-D input, got {ShapeMath.Format(x.Shape)}");
        int r = x.Rank - 2;
        var ks = c.Ints("kernel_shape") ?? throw c.Fail($"{c.Op} needs kernel_shape");
        if (ks.Length != r)
            throw c.Fail($"{c.Op} kernel_shape has {ks.Length} values for {r} spatial axes");
        var kernel = new int[r];
        for (int i = 0; i < r; i++)
            kernel[i] = c.Dim(ks[i], "kernel size");
        if (c.Op == "AveragePool" && c.Opset < 19 && c.Ints("dilations") is not null)
            throw c.Fail("AveragePool dilations need opset 19");
        var w = Window.Compute(c, x.Shape[2..], kernel, c.Int("ceil_mode", 0) != 0);
        int planes = x.Shape[0] * x.Shape[1];
        int[] shape = [x.Shape[0], x.Shape[1], .. w.OutSpatial(r)];
        var y = new float[c.Count(shape)];
        var xd = x.Floats;
        int[] inn = w.In, k = w.Kernel, s = w.Stride, d = w.Dilation, pb = w.PadBegin, pe = w.PadEnd, o = w.Out;
        int inPlane = w.InSize, outPlane = w.OutSize;
        Parallel.For(0, planes, plane =>
        {
            int src = plane * inPlane, dst = plane * outPlane;
            for (int oz = 0; oz < o[0]; oz++)
                for (int oy = 0; oy < o[1]; oy++)
                    for (int ox = 0; ox < o[2]; ox++, dst++)
                    {
                        float best = float.NegativeInfinity;
                        double sum = 0;
                        int valid = 0, padded = 0;
                        for (int kz = 0; kz < k[0]; kz++)
                        {
                            int iz = oz * s[0] - pb[0] + kz * d[0];
                            for (int ky = 0; ky < k[1]; ky++)
                            {
                                int iy = oy * s[1] - pb[1] + ky * d[1];
                                for (int kx = 0; kx < k[2]; kx++)
                                {
                                    int ix = ox * s[2] - pb[2] + kx * d[2];
                                    // Positions inside input plus explicit padding count for count_include_pad;
                                    // positions past the end padding (ceil_mode overhang) never do.
                                    if (iz < inn[0] + pe[0] && iy < inn[1] + pe[1] && ix < inn[2] + pe[2])
                                        padded++;
                                    if (iz < 0 || iz >= inn[0] || iy < 0 || iy >= inn[1] || ix < 0 || ix >= inn[2])
                                        continue;
                                    float v = xd[src + (iz * inn[1] + iy) * inn[2] + ix];
                                    valid++;
                                    sum += v;
                                    if (v > best || float.IsNaN(v))
                                        best = v;
                                }
                            }
                        }
                        int divisor = countIncludePad ? padded : valid;
                        y[dst] = max ? best : divisor == 0 ? 0f : (float)(sum / divisor);
                    }
        });
        return new Tensor(DataType.Float, shape, y);
    }

    public static Tensor[] GlobalAveragePool(OpContext c) => [Global(c, max: false)];

    public static Tensor[] GlobalMaxPool(OpContext c) => [Global(c, max: true)];

    private static Tensor Global(OpContext c, bool max)
    {
        var x = c.Float(0);
        if (x.Rank < 3)
            throw c.Fail($"{c.Op} expects at least 3-D input, got {ShapeMath.Format(x.Shape)}");
        int planes = x.Shape[0] * x.Shape[1];
        int size = TensorOps.Product(x.Shape, 2, x.Rank);
        var shape = new int[x.Rank];
        Array.Fill(shape, 1);
        shape[0] = x.Shape[0];
        shape[1] = x.Shape[1];
        var y = new float[planes];
        var xd = x.Floats;
        for (int p = 0; p < planes; p++)
        {
            var plane = xd.AsSpan(p * size, size);
            if (max)
            {
                float best = float.NegativeInfinity;
                foreach (float v in plane)
                    best = v > best || float.IsNaN(v) ? v : best;
                y[p] = best;
            }
            else
            {
                double sum = 0;
                foreach (float v in plane)
                    sum += v;
                y[p] = size == 0 ? 0f : (float)(sum / size);
            }
        }
        return new Tensor(DataType.Float, shape, y);
    }
}
