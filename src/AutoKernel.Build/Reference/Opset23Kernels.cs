using AutoKernel.Build.Graph;

namespace AutoKernel.Build.Reference;

/// <summary>Operators new in opsets 23 and 24 that exporters emit: RMSNormalization (23) and Swish (24).</summary>
internal static class Opset23Kernels
{
    /// <summary>Swish-24: y = x * sigmoid(alpha * x), alpha 1 by default; NaN stays NaN.</summary>
    public static Tensor[] Swish(OpContext c)
    {
        var x = c.Input(0, TensorOps.FloatingPoint);
        double alpha = c.FloatAttr("alpha", 1f);
        var v = TensorOps.ToDoubles(x);
        for (int i = 0; i < v.Length; i++)
            v[i] = v[i] / (1 + Math.Exp(-alpha * v[i]));
        return [TensorOps.FromDoubles(x.Type, x.Shape, v)];
    }

    /// <summary>
    /// RMSNormalization-23: over the axes from <c>axis</c> (default -1) to the last,
    /// y = x / sqrt(mean(x²) + epsilon) * scale, scale broadcasting to x's shape. Computed in double
    /// and rounded to x's type (stash_type 1, float, is the only one a float or double input allows here).
    /// </summary>
    public static Tensor[] RmsNormalization(OpContext c)
    {
        var x = c.Input(0, TensorOps.FloatingPoint);
        var scale = c.Input(1, x.Type);
        int axis = c.Axis(c.Int("axis", -1), x.Rank);
        if (c.Int("stash_type", 1) != 1)
            throw c.Fail("RMSNormalization stash_type other than 1 (float) is not supported");
        double epsilon = c.FloatAttr("epsilon", 1e-5f);
        if (!TensorOps.BroadcastsTo(scale.Shape, x.Shape))
            throw c.Fail($"RMSNormalization scale {ShapeMath.Format(scale.Shape)} does not broadcast to {ShapeMath.Format(x.Shape)}");
        var map = TensorOps.BroadcastMap(scale.Shape, x.Shape);
        var s = TensorOps.ToDoubles(scale);
        var v = TensorOps.ToDoubles(x);
        int size = TensorOps.Product(x.Shape, axis, x.Rank);
        for (int start = 0; start + size <= v.Length && size > 0; start += size)
        {
            double squares = 0;
            for (int i = start; i < start + size; i++)
                squares += v[i] * v[i];
            double rms = Math.Sqrt(squares / size + epsilon);
            for (int i = start; i < start + size; i++)
                v[i] = v[i] / rms * s[map is null ? i : map[i]];
        }
        return [TensorOps.FromDoubles(x.Type, x.Shape, v)];
    }
}
