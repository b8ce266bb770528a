namespace AutoKernel.Build.Graph;

/// <summary>Shape rules of operators new in opsets 23 and 24: RMSNormalization (23) and Swish (24).</summary>
public static partial class ShapeInference
{
    private static void AddOpset23Rules(Dictionary<string, Rule> r)
    {
        r["Swish"] = c =>
        {
            c.InputCount(1, 1);
            var x = c.In(0);
            c.FloatingPoint(x);
            return One(x);
        };
        r["RMSNormalization"] = RmsNormalization;
    }

    private static TensorType?[] RmsNormalization(Ctx c)
    {
        c.InputCount(2, 2);
        var x = c.In(0);
        c.FloatingPoint(x);
        long axis = c.Int("axis", -1);
        if (axis < -x.Rank || axis >= x.Rank)
            throw c.Fail($"{c.Op} axis {axis} is out of range for rank {x.Rank}");
        if (c.Int("stash_type", 1) != 1)
            throw c.Fail($"{c.Op} stash_type other than 1 (float) is not supported");
        var scale = c.In(1);
        c.SameType(x, scale, "scale");
        if (ShapeMath.Broadcast(x.Shape, scale.Shape) is not { } joined || !ShapeMath.SameShape(joined, x.Shape))
            throw c.Fail($"{c.Op} scale {Fmt(scale.Shape)} does not broadcast to the input's shape {Fmt(x.Shape)}");
        return One(x);
    }
}
