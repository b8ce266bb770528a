namespace AutoKernel.Build.Graph;

public static partial class ShapeInference
{
    private enum Kind
    {
        Any,
        Numeric,
        Float,
        Bool,
    }

    private static void AddElementwiseRules(Dictionary<string, Rule> r)
    {
        // Unary, output type and shape = input.
        foreach (var op in new[] { "Relu", "Neg", "Abs", "Erf" })
            r[op] = c => Unary(c, Kind.Numeric);
        foreach (var op in new[]
        {
            "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Reciprocal", "Floor", "Ceil", "Softplus", "Softsign",
            "Elu", "Selu", "LeakyRelu", "HardSigmoid", "HardSwish", "Swish",
        })
            r[op] = c => Unary(c, Kind.Float);
        r["Not"] = c => Unary(c, Kind.Bool);
        r["Identity"] = c => Unary(c, Kind.Any);
        r["Clip"] = Clip;
        r["PRelu"] = PRelu;
        r["Dropout"] = Dropout;

        foreach (var op in new[] { "Add", "Sub", "Mul", "Div", "Mod" })
            r[op] = c => Binary(c, compare: false);
        r["Pow"] = Pow;
        foreach (var op in new[] { "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual" })
            r[op] = c => Binary(c, compare: true);
        foreach (var op in new[] { "And", "Or", "Xor" })
            r[op] = Logical;
        foreach (var op in new[] { "Min", "Max", "Mean", "Sum" })
            r[op] = Variadic;
        r["Where"] = Where;
    }

    private static void CheckKind(Ctx c, TensorType t, Kind kind, string what = "input")
    {
        switch (kind)
        {
            case Kind.Numeric:
                c.Numeric(t, what);
                break;
            case Kind.Float:
                c.FloatingPoint(t, what);
                break;
            case Kind.Bool when t.ElementType != DataType.Bool:
                throw c.Fail($"{c.Op} needs a bool {what}, got {t.ElementType.Name()}");
        }
    }

    private static TensorType?[] Unary(Ctx c, Kind kind)
    {
        c.InputCount(1, 1);
        var x = c.In(0);
        CheckKind(c, x, kind);
        return One(x);
    }

    private static TensorType?[] Clip(Ctx c)
    {
        if (c.Opset < 11)
        {
            c.InputCount(1, 1);
            var x0 = c.In(0);
            c.FloatingPoint(x0);
            float min = c.Node.GetFloat("min", float.NegativeInfinity), max = c.Node.GetFloat("max", float.PositiveInfinity);
            // Clip-6 with min > max is refused, as ONNX Runtime refuses it; from opset 11 (bounds as
            // inputs) every value becomes max instead, as the spec says.
            if (min > max)
                throw c.Fail($"{c.Op} min {min} is greater than max {max}");
            return One(x0);
        }
        c.InputCount(1, 3);
        var x = c.In(0);
        c.Numeric(x);
        for (int i = 1; i <= 2; i++)
        {
            if (c.Opt(i) is not { } bound)
                continue;
            string what = i == 1 ? "min" : "max";
            c.SameType(x, bound, what);
            if (bound.ElementCount != 1)
                throw c.Fail($"{c.Op} {what} must be a scalar, got shape {Fmt(bound.Shape)}");
        }
        return One(x);
    }

    private static TensorType?[] PRelu(Ctx c)
    {
        c.InputCount(2, 2);
        var x = c.In(0);
        var slope = c.In(1);
        c.Numeric(x);
        c.SameType(x, slope, "slope");
        var b = ShapeMath.Broadcast(x.Shape, slope.Shape);
        if (b is null || !ShapeMath.SameShape(b, x.Shape))
            throw c.Fail($"{c.Op} slope {Fmt(slope.Shape)} does not broadcast to input {Fmt(x.Shape)}");
        return One(x);
    }

    private static TensorType?[] Dropout(Ctx c)
    {
        c.InputCount(1, c.Opset >= 12 ? 3 : 1);
        var x = c.In(0);
        if (c.Opset >= 12)
        {
            if (c.Opt(1) is { } ratio && ratio.ElementCount != 1)
                throw c.Fail($"{c.Op} ratio must be a scalar, got shape {Fmt(ratio.Shape)}");
            if (c.Opt(2) is { } mode)
            {
                if (mode.ElementType != DataType.Bool || mode.ElementCount != 1)
                    throw c.Fail($"{c.Op} training_mode must be a bool scalar, got {mode}");
                if (c.ConstOrNull(2) is { } m && m.GetDouble(0) != 0)
                    throw c.Fail($"{c.Op} training_mode true is not supported (inference only)");
            }
        }
        // Opset 7-9 gave the mask the input's type; opset 10 made it bool.
        var maskType = c.Opset >= 10 ? DataType.Bool : x.ElementType;
        return [x, T(maskType, x.Shape)];
    }

    private static TensorType?[] Binary(Ctx c, bool compare)
    {
        c.InputCount(2, 2);
        var a = c.In(0);
        var b = c.In(1);
        c.SameType(a, b, "input 1");
        if (!compare || c.Op != "Equal")
            c.Numeric(a);
        var shape = c.Broadcast(a.Shape, b.Shape);
        return One(T(compare ? DataType.Bool : a.ElementType, shape));
    }

    /// <summary>And, Or, Xor: bool inputs, broadcast, bool output.</summary>
    private static TensorType?[] Logical(Ctx c)
    {
        c.InputCount(2, 2);
        var a = c.In(0);
        var b = c.In(1);
        if (a.ElementType != DataType.Bool || b.ElementType != DataType.Bool)
            throw c.Fail($"{c.Op} takes bool inputs, got {a.ElementType.Name()} and {b.ElementType.Name()}");
        return One(T(DataType.Bool, c.Broadcast(a.Shape, b.Shape)));
    }

    private static TensorType?[] Pow(Ctx c)
    {
        c.InputCount(2, 2);
        var a = c.In(0);
        var b = c.In(1);
        c.Numeric(a);
        c.Numeric(b, "exponent");
        if (c.Opset < 12)
            c.SameType(a, b, "exponent");
        return One(T(a.ElementType, c.Broadcast(a.Shape, b.Shape)));
    }

    private static TensorType?[] Variadic(Ctx c)
    {
        c.InputCount(1, int.MaxValue);
        var first = c.In(0);
        c.Numeric(first);
        int[] shape = first.Shape;
        for (int i = 1; i < c.Node.Inputs.Count; i++)
        {
            var t = c.In(i);
            c.SameType(first, t, $"input {i}");
            shape = c.Broadcast(shape, t.Shape);
        }
        return One(T(first.ElementType, shape));
    }

    private static TensorType?[] Where(Ctx c)
    {
        c.InputCount(3, 3);
        var cond = c.In(0);
        var x = c.In(1);
        var y = c.In(2);
        if (cond.ElementType != DataType.Bool)
            throw c.Fail($"{c.Op} condition must be bool, got {cond.ElementType.Name()}");
        c.SameType(x, y, "input 2");
        var shape = c.Broadcast(c.Broadcast(cond.Shape, x.Shape), y.Shape);
        return One(T(x.ElementType, shape));
    }
}
