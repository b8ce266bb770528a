using AutoKernel.Build.Graph;

namespace AutoKernel.Build.Reference;

/// <summary>BatchNormalization (inference), InstanceNormalization, LayerNormalization, RMSNormalization, LRN, Softmax, LogSoftmax.</summary>
internal static class Normalization
{
    public static Tensor[] BatchNormalization(OpContext c)
    {
        for (int i = 1; i < c.Node.Outputs.Count; i++)
        {
            if (c.Node.Outputs[i].Length > 0)
                throw c.Fail("BatchNormalization training outputs are not supported");
        }
        if (c.Int("training_mode", 0) != 0)
            throw c.Fail("BatchNormalization training_mode=1 is not supported");
        if (c.Opset < 9 && c.Int("spatial", 1) == 0)
            throw c.Fail("BatchNormalization spatial=0 is not supported");
        var x = c.Float(0);
        if (x.Rank < 2)
            throw c.Fail($"BatchNormalization expects at least 2-D input, got {ShapeMath.Format(x.Shape)}");
        int channels = x.Shape[1];
        var scale = Vector(c, 1, channels);
        var bias = Vector(c, 2, channels);
        var mean = Vector(c, 3, channels);
        var variance = Vector(c, 4, channels);
        float epsilon = c.FloatAttr("epsilon", 1e-5f);
        int size = TensorOps.Product(x.Shape, 2, x.Rank);
        var xd = x.Floats;
        var y = new float[xd.Length];
        for (int n = 0; n < x.Shape[0]; n++)
            for (int ch = 0; ch < channels; ch++)
            {
                float a = scale[ch] / MathF.Sqrt(variance[ch] + epsilon);
                float b = bias[ch] - mean[ch] * a;
                int off = (n * channels + ch) * size;
                for (int i = 0; i < size; i++)
                    y[off + i] = xd[off + i] * a + b;
            }
        return [new Tensor(DataType.Float, x.Shape, y)];
    }

    private static float[] Vector(OpContext c, int index, int length)
    {
        var t = c.Float(index);
        if (t.Rank != 1 || t.Shape[0] != length)
            throw c.Fail($"{c.Op} input {index} must have shape [{length}], got {ShapeMath.Format(t.Shape)}");
        return t.Floats;
    }

    public static Tensor[] InstanceNormalization(OpContext c)
    {
        var x = c.Float(0);
        if (x.Rank < 3)
            throw c.Fail($"InstanceNormalization expects at least 3-D input, got {ShapeMath.Format(x.Shape)}");
        int channels = x.Shape[1];
        var scale = Vector(c, 1, channels);
        var bias = Vector(c, 2, channels);
        double epsilon = c.FloatAttr("epsilon", 1e-5f);
        int size = TensorOps.Product(x.Shape, 2, x.Rank);
        var xd = x.Floats;
        var y = new float[xd.Length];
        int planes = x.Shape[0] * channels;
        Parallel.For(0, planes, p =>
        {
            int ch = p % channels, off = p * size;
            NormalizeSpan(xd.AsSpan(off, size), y.AsSpan(off, size), epsilon, scale[ch], bias[ch], null, null);
        });
        return [new Tensor(DataType.Float, x.Shape, y)];
    }

    /// <summary>
    /// y = (x - mean) / sqrt(var + eps) * scale + bias over one span (population variance).
    /// Returns the mean and 1 / sqrt(var + eps), LayerNormalization's optional outputs.
    /// </summary>
    private static (double Mean, double InvStdDev) NormalizeSpan(ReadOnlySpan<float> x, Span<float> y, double epsilon, float scale, float bias, float[]? scales, float[]? biases)
    {
        double mean = 0;
        foreach (float v in x)
            mean += v;
        mean /= x.Length;
        double variance = 0;
        foreach (float v in x)
            variance += (v - mean) * (v - mean);
        variance /= x.Length;
        double inv = 1 / Math.Sqrt(variance + epsilon);
        for (int i = 0; i < x.Length; i++)
        {
            double s = scales is null ? scale : scales[i];
            double b = biases is null ? bias : biases[i];
            y[i] = (float)((x[i] - mean) * inv * s + b);
        }
        return (mean, inv);
    }

    /// <summary>
    /// LayerNormalization (opset 17) with its optional Mean and InvStdDev outputs: both have X's
    /// shape with the normalized axes set to 1, in float (stash_type 1, the only type defined).
    /// </summary>
    public static Tensor[] LayerNormalization(OpContext c)
    {
        var x = c.Float(0);
        var scale = c.Float(1);
        var bias = c.Optional(2, DataType.Float);
        int axis = c.Axis(c.Int("axis", -1), x.Rank);
        if (c.Int("stash_type", 1) != 1)
            throw c.Fail("LayerNormalization stash_type other than float is not supported");
        int[] normShape = x.Shape[axis..];
        int size = TensorOps.Product(x.Shape, axis, x.Rank);
        if (!TensorOps.BroadcastsTo(scale.Shape, normShape) || (bias is not null && !TensorOps.BroadcastsTo(bias.Shape, normShape)))
            throw c.Fail($"LayerNormalization scale or bias does not broadcast to {ShapeMath.Format(normShape)}");
        var sMap = TensorOps.BroadcastMap(scale.Shape, normShape);
        var scales = sMap is null ? scale.Floats : Array.ConvertAll(sMap, i => scale.Floats[i]);
        float[] biases = new float[size];
        if (bias is not null)
        {
            var bMap = TensorOps.BroadcastMap(bias.Shape, normShape);
            biases = bMap is null ? bias.Floats : Array.ConvertAll(bMap, i => bias.Floats[i]);
        }
        double epsilon = c.FloatAttr("epsilon", 1e-5f);
        var xd = x.Floats;
        var y = new float[xd.Length];
        int rows = TensorOps.Product(x.Shape, 0, axis);
        var means = new float[rows];
        var invStdDevs = new float[rows];
        Parallel.For(0, rows, row =>
        {
            var (mean, inv) = NormalizeSpan(xd.AsSpan(row * size, size), y.AsSpan(row * size, size), epsilon, 0, 0, scales, biases);
            means[row] = (float)mean;
            invStdDevs[row] = (float)inv;
        });
        int[] statShape = [.. x.Shape[..axis], .. Enumerable.Repeat(1, x.Rank - axis)];
        return [new Tensor(DataType.Float, x.Shape, y), new Tensor(DataType.Float, statShape, means), new Tensor(DataType.Float, statShape, invStdDevs)];
    }

    /// <summary>
    /// RMSNormalization (opset 23): y = x / sqrt(mean(x^2) + epsilon) * scale over the axes from
    /// 'axis' on, statistics in double (stash_type 1).
    /// </summary>
    public static Tensor[] RmsNormalization(OpContext c)
    {
        var x = c.Float(0);
        var scale = c.Float(1);
        int axis = c.Axis(c.Int("axis", -1), x.Rank);
        if (c.Int("stash_type", 1) != 1)
            throw c.Fail("RMSNormalization stash_type other than float is not supported");
        int[] normShape = x.Shape[axis..];
        if (!TensorOps.BroadcastsTo(scale.Shape, normShape))
            throw c.Fail($"RMSNormalization scale does not broadcast to {ShapeMath.Format(normShape)}");
        var sMap = TensorOps.BroadcastMap(scale.Shape, normShape);
        var scales = sMap is null ? scale.Floats : Array.ConvertAll(sMap, i => scale.Floats[i]);
        double epsilon = c.FloatAttr("epsilon", 1e-5f);
        int size = TensorOps.Product(x.Shape, axis, x.Rank);
        int rows = TensorOps.Product(x.Shape, 0, axis);
        var xd = x.Floats;
        var y = new float[xd.Length];
        Parallel.For(0, rows, row =>
        {
            var src = xd.AsSpan(row * size, size);
            var dst = y.AsSpan(row * size, size);
            double squares = 0;
            foreach (float v in src)
                squares += (double)v * v;
            double inv = 1 / Math.Sqrt(squares / size + epsilon);
            for (int i = 0; i < size; i++)
                dst[i] = (float)(src[i] * inv * scales[i]);
        });
        return [new Tensor(DataType.Float, x.Shape, y)];
    }

    public static Tensor[] Lrn(OpContext c)
    {
        var x = c.Float(0);
        if (x.Rank < 3)
            throw c.Fail($"LRN expects at least 3-D input, got {ShapeMath.Format(x.Shape)}");
        int size = c.SmallInt("size", 0);
        if (size < 1)
            throw c.Fail("LRN needs a positive size");
        double alpha = c.FloatAttr("alpha", 1e-4f), beta = c.FloatAttr("beta", 0.75f), bias = c.FloatAttr("bias", 1f);
        int channels = x.Shape[1], plane = TensorOps.Product(x.Shape, 2, x.Rank);
        int before = (size - 1) / 2, after = size - 1 - before;
        var xd = x.Floats;
        var y = new float[xd.Length];
        for (int n = 0; n < x.Shape[0]; n++)
            for (int ch = 0; ch < channels; ch++)
                for (int i = 0; i < plane; i++)
                {
                    double sq = 0;
                    for (int j = Math.Max(0, ch - before); j <= Math.Min(channels - 1, ch + after); j++)
                    {
                        double v = xd[(n * channels + j) * plane + i];
                        sq += v * v;
                    }
                    int idx = (n * channels + ch) * plane + i;
                    y[idx] = (float)(xd[idx] / Math.Pow(bias + alpha / size * sq, beta));
                }
        return [new Tensor(DataType.Float, x.Shape, y)];
    }

    public static Tensor[] Softmax(OpContext c) => [SoftmaxCore(c, log: false)];

    public static Tensor[] LogSoftmax(OpContext c) => [SoftmaxCore(c, log: true)];

    /// <summary>
    /// Before opset 13 the input is coerced to 2-D at <c>axis</c> (default 1) and normalized over
    /// the whole second dimension; from 13 it is normalized along <c>axis</c> alone (default -1).
    /// </summary>
    private static Tensor SoftmaxCore(OpContext c, bool log)
    {
        var x = c.Input(0, TensorOps.FloatingPoint);
        bool perAxis = c.Opset >= 13;
        int rank = x.Rank;
        int outer, length, inner;
        if (rank == 0)
        {
            outer = inner = length = 1;
        }
        else if (perAxis)
        {
            int axis = c.Axis(c.Int("axis", -1), rank);
            outer = TensorOps.Product(x.Shape, 0, axis);
            length = x.Shape[axis];
            inner = TensorOps.Product(x.Shape, axis + 1, rank);
        }
        else
        {
            long a = c.Int("axis", 1);
            // The 2-D coercion allows axis == rank (everything in the first dimension).
            int axis = a == rank ? rank : c.Axis(a, rank);
            outer = TensorOps.Product(x.Shape, 0, axis);
            length = TensorOps.Product(x.Shape, axis, rank);
            inner = 1;
        }
        var xd = TensorOps.ToDoubles(x);
        var y = new double[xd.Length];
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                int start = o * length * inner + i;
                double max = double.NegativeInfinity;
                for (int j = 0; j < length; j++)
                    max = Math.Max(max, xd[start + j * inner]);
                double sum = 0;
                for (int j = 0; j < length; j++)
                    sum += Math.Exp(xd[start + j * inner] - max);
                double logSum = Math.Log(sum);
                for (int j = 0; j < length; j++)
                {
                    double shifted = xd[start + j * inner] - max;
                    y[start + j * inner] = log ? shifted - logSum : Math.Exp(shifted) / sum;
                }
            }
        return TensorOps.FromDoubles(x.Type, x.Shape, y);
    }
}
