namespace AutoKernel.Build.Graph;

/// <summary>An elementwise activation with its parameters, as fused into an epilogue.</summary>
public readonly record struct Activation(string Kind, float Alpha, float Beta)
{
    public static readonly Activation None = new("", 0, 0);

    public bool IsNone => Kind.Length == 0;

    public float Apply(float x) => Activations.Apply(Kind, Alpha, Beta, x);
}

/// <summary>
/// The activations that epilogue fusion can absorb, with ONNX's semantics and default parameters.
/// The reference executor and the fusion pass both use this table, so a fused node computes exactly
/// what the unfused operator did.
/// </summary>
public static class Activations
{
    /// <summary>
    /// Unary ONNX operators that fuse as an activation: those the kernels' epilogues emit
    /// (<see cref="AutoKernel.Generator.Kernels.EpilogueCode.Activations"/>, one list for both).
    /// </summary>
    public static readonly IReadOnlySet<string> Fusable =
        new HashSet<string>(AutoKernel.Generator.Kernels.EpilogueCode.Activations.Where(a => a.Length > 0), StringComparer.Ordinal);

    /// <summary>Parameters of an activation node as (alpha, beta), after ONNX defaults. Clip passes (min, max).</summary>
    public static (float Alpha, float Beta) DefaultParameters(Node node) => node.OpType switch
    {
        "LeakyRelu" => (node.GetFloat("alpha", 0.01f), 0f),
        "HardSigmoid" => (node.GetFloat("alpha", 0.2f), node.GetFloat("beta", 0.5f)),
        "Elu" => (node.GetFloat("alpha", 1f), 0f),
        "Swish" => (node.GetFloat("alpha", 1f), 0f),
        "Selu" => (node.GetFloat("alpha", 1.67326319217681884765625f), node.GetFloat("gamma", 1.05070102214813232421875f)),
        // The spec's defaults are numeric_limits<float>::lowest() and max(): finite, so Clip maps ±inf to them.
        "Clip" => (node.GetFloat("min", float.MinValue), node.GetFloat("max", float.MaxValue)),
        _ => (0f, 0f),
    };

    /// <summary>
    /// One activation of <paramref name="x"/>. NaN stays NaN, as in ONNX Runtime (every comparison
    /// is written so that a NaN input takes the branch that returns it). Clip is min(max(x, lo), hi),
    /// so when lo &gt; hi every value becomes hi, as the ONNX spec says.
    /// </summary>
    public static float Apply(string kind, float alpha, float beta, float x) => kind switch
    {
        "" => x,
        "Relu" => x < 0 ? 0 : x,
        "Clip" => Clip(x, alpha, beta),
        "LeakyRelu" => x >= 0 ? x : alpha * x,
        "Sigmoid" => 1f / (1f + MathF.Exp(-x)),
        "HardSigmoid" => Math.Clamp(alpha * x + beta, 0f, 1f),
        "HardSwish" => x * Math.Clamp(x / 6f + 0.5f, 0f, 1f),
        "Tanh" => MathF.Tanh(x),
        "Elu" => x >= 0 ? x : alpha * (MathF.Exp(x) - 1f),
        "Selu" => x > 0 ? beta * x : beta * (alpha * MathF.Exp(x) - alpha),
        "Softplus" => MathF.Max(x, 0f) + MathF.Log(1f + MathF.Exp(-MathF.Abs(x))),
        "Swish" => x / (1f + MathF.Exp(-alpha * x)),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown activation"),
    };

    /// <summary>min(max(x, lo), hi) with NaN propagated: every value is hi when lo &gt; hi.</summary>
    public static float Clip(float x, float lo, float hi)
    {
        float v = x < lo ? lo : x;
        return v > hi ? hi : v;
    }

    /// <summary>The double-precision <see cref="Clip(float, float, float)"/>.</summary>
    public static double Clip(double x, double lo, double hi)
    {
        double v = x < lo ? lo : x;
        return v > hi ? hi : v;
    }
}
