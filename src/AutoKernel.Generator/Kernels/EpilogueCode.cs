using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace AutoKernel.Generator.Kernels;

/// <summary>
/// C# for applying an epilogue activation to a vector or scalar value, shared by every emitter.
/// Semantics match ONNX (and AutoKernel.Build.Graph.Activations, the reference), NaN included: a
/// NaN stays NaN through every activation, as in ONNX Runtime.
/// </summary>
/// <remarks>
/// The clamps use MaxNative/MinNative (one vmaxps/vminps on x86, fmax/fmin on Arm) with the
/// constant first and the value second: x86 returns the second operand when either is NaN, Arm
/// returns NaN, so a NaN value comes through on both. Vector512.Max is IEEE 754 maximum in .NET 10
/// (NaN-propagating too, but vmaxps plus a vfixupimmps per call) and MathF.Max is a call with
/// NaN checks; the native form with this operand order is the one-instruction NaN-keeping max.
/// It also makes Clip min(max(x, lo), hi), so every value is hi when lo &gt; hi (the spec's rule).
/// </remarks>
public static class EpilogueCode
{
    /// <summary>
    /// Every activation <see cref="Vector"/> and <see cref="Scalar"/> emit, "" (none) first: the
    /// one list of what an epilogue (tuned or fixed kernel) may name.
    /// </summary>
    public static IReadOnlyList<string> Activations { get; } =
        ["", "Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Elu", "Selu", "Softplus", "Swish"];

    /// <summary>Whether <paramref name="activation"/> is one of <see cref="Activations"/> ("" included).</summary>
    public static bool IsActivation(string activation) => Activations.Contains(activation);

    /// <summary>A float literal that round-trips ("1.5f", "float.NegativeInfinity").</summary>
    public static string Float(float value) =>
        float.IsPositiveInfinity(value) ? "float.PositiveInfinity"
        : float.IsNegativeInfinity(value) ? "float.NegativeInfinity"
        : float.IsNaN(value) ? "float.NaN"
        : value.ToString("R", CultureInfo.InvariantCulture) + "f";

    /// <summary>
    /// An expression that applies the activation to the vector expression <paramref name="v"/>
    /// (a simple variable name: it may be evaluated more than once) of type
    /// <c>{vectorClass}&lt;float&gt;</c>, e.g. vectorClass "Vector512". Returns v itself for none.
    /// </summary>
    public static string Vector(Epilogue e, string v, string vectorClass)
    {
        string V = vectorClass;
        string C(float f) => $"{V}.Create({Float(f)})";
        string zero = $"{V}<float>.Zero";
        string one = $"{V}<float>.One";
        string a = Float(e.Alpha);
        return e.Activation switch
        {
            "" => v,
            "Relu" => $"{V}.MaxNative({zero}, {v})",
            "Clip" => $"{V}.MinNative({C(e.Beta)}, {V}.MaxNative({C(e.Alpha)}, {v}))",
            "LeakyRelu" => $"{V}.ConditionalSelect({V}.GreaterThanOrEqual({v}, {zero}), {v}, {v} * {a})",
            "Sigmoid" => $"({one} / ({one} + {V}.Exp(-{v})))",
            "HardSigmoid" => $"{V}.MinNative({one}, {V}.MaxNative({zero}, {v} * {a} + {C(e.Beta)}))",
            "HardSwish" => $"({v} * {V}.MinNative({one}, {V}.MaxNative({zero}, {v} * {C(1f / 6f)} + {C(0.5f)})))",
            "Tanh" => $"({one} - {C(2f)} / ({V}.Exp({v} + {v}) + {one}))",
            "Elu" => $"{V}.ConditionalSelect({V}.GreaterThanOrEqual({v}, {zero}), {v}, ({V}.Exp({v}) - {one}) * {a})",
            // x >= 0 rather than ONNX's x > 0: the same function (both branches are 0 at 0), but exactly 0 at 0 even where Exp(0) is a rounding off 1.
            "Selu" => $"({V}.ConditionalSelect({V}.GreaterThanOrEqual({v}, {zero}), {v}, ({V}.Exp({v}) - {one}) * {a}) * {Float(e.Beta)})",
            "Softplus" => $"({V}.MaxNative({zero}, {v}) + {V}.Log({one} + {V}.Exp(-{V}.Abs({v}))))",
            "Swish" => $"({v} / ({one} + {V}.Exp({v} * {C(-e.Alpha)})))",
            _ => throw new ArgumentException($"activation '{e.Activation}' has no vector form", nameof(e)),
        };
    }

    /// <summary>
    /// The scalar form of <see cref="Vector"/> for remainder loops; <paramref name="x"/> is a float
    /// variable. float.MaxNative(c, x) is one vmaxss that keeps a NaN x, like the vector lanes.
    /// </summary>
    public static string Scalar(Epilogue e, string x)
    {
        string a = Float(e.Alpha);
        string b = Float(e.Beta);
        return e.Activation switch
        {
            "" => x,
            "Relu" => $"float.MaxNative(0f, {x})",
            "Clip" => $"float.MinNative({b}, float.MaxNative({a}, {x}))",
            "LeakyRelu" => $"({x} >= 0f ? {x} : {x} * {a})",
            "Sigmoid" => $"(1f / (1f + MathF.Exp(-{x})))",
            "HardSigmoid" => $"float.MinNative(1f, float.MaxNative(0f, {x} * {a} + {b}))",
            "HardSwish" => $"({x} * float.MinNative(1f, float.MaxNative(0f, {x} * {Float(1f / 6f)} + 0.5f)))",
            "Tanh" => $"MathF.Tanh({x})",
            "Elu" => $"({x} >= 0f ? {x} : (MathF.Exp({x}) - 1f) * {a})",
            "Selu" => $"(({x} >= 0f ? {x} : (MathF.Exp({x}) - 1f) * {a}) * {b})",
            "Softplus" => $"(float.MaxNative(0f, {x}) + MathF.Log(1f + MathF.Exp(-MathF.Abs({x}))))",
            "Swish" => $"({x} / (1f + MathF.Exp({x} * {Float(-e.Alpha)})))",
            _ => throw new ArgumentException($"activation '{e.Activation}' has no scalar form", nameof(e)),
        };
    }

    /// <summary>
    /// Whether the activation maps 0 to exactly 0 in both emitted forms (none, Relu, LeakyRelu,
    /// Tanh, Elu, Selu, HardSwish; Clip when its range holds 0; HardSigmoid when beta &lt;= 0).
    /// Blocked kernels compute exactly 0 before the activation in padded output channels (zero
    /// weights, bias and residual there), so these keep the padding zero; any other activation
    /// needs the padded channels masked (see <see cref="NeedsChannelMask"/>).
    /// </summary>
    public static bool KeepsZero(Epilogue e) => e.Activation switch
    {
        "" or "Relu" or "LeakyRelu" or "Tanh" or "Elu" or "Selu" or "HardSwish" or "Swish" => true,
        "Clip" => e.Alpha <= 0f && e.Beta >= 0f,
        "HardSigmoid" => e.Beta <= 0f,
        _ => false,
    };

    /// <summary>
    /// Whether a kernel whose <paramref name="channels"/> output channels are stored in blocks of
    /// <paramref name="block"/> must mask the padded channels of the last block after the activation.
    /// </summary>
    public static bool NeedsChannelMask(int channels, int block, Epilogue e) => channels % block != 0 && !KeepsZero(e);

    /// <summary>
    /// Writes the epilogue of one accumulator vector and its store: acc, + bias, + the residual
    /// loaded from <paramref name="residualAt"/>, the activation, an optional AND with the mask
    /// loaded from <paramref name="maskAt"/> (zeroing padded channels), then the store.
    /// </summary>
    public static void StoreVector(CodeWriter w, Epilogue e, string vectorClass, string accumulator, string bias, string residualAt, string? maskAt, string outputAt)
    {
        string V = vectorClass;
        w.Line($"{V}<float> acc = {accumulator};");
        if (e.Bias)
            w.Line($"acc += {bias};");
        if (e.Residual)
            w.Line($"acc += {V}.Load({residualAt});");
        if (e.Activation.Length > 0)
            w.Line("acc = " + Vector(e, "acc", V) + ";");
        if (maskAt is not null)
            w.Line($"acc = {V}.BitwiseAnd(acc, {V}.Load({maskAt}));");
        w.Line($"{V}.Store(acc, {outputAt});");
    }
}
