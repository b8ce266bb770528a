namespace AutoKernel.Build.Graph;

/// <summary>
/// AutoKernel's fused operators, produced by the epilogue-fusion pass. Each computes
/// <c>y = activation(op(x) + bias + residual)</c>: the base operator with its own attributes,
/// then the bias (an input of the base op), the residual add, and the activation, in that order.
/// <list type="bullet">
/// <item><c>FusedConv</c>: inputs X, W, B?, Residual?; Conv's attributes.</item>
/// <item><c>FusedGemm</c>: inputs A, B, C?, Residual?; Gemm's attributes (alpha, beta, transA, transB).</item>
/// <item><c>FusedMatMul</c>: inputs A, B, Bias?, Residual?; Bias is 1-D over the last axis.</item>
/// </list>
/// Activation attributes: <c>activation</c> (an <see cref="Activations"/> name, "" for none),
/// <c>activation_alpha</c>, <c>activation_beta</c>.
/// </summary>
public static class FusedOps
{
    public const string Domain = "ai.autokernel";
    public const string FusedConv = "FusedConv";
    public const string FusedGemm = "FusedGemm";
    public const string FusedMatMul = "FusedMatMul";
    public const string ActivationAttribute = "activation";
    public const string AlphaAttribute = "activation_alpha";
    public const string BetaAttribute = "activation_beta";

    /// <summary>The index of the residual input of a fused node.</summary>
    public const int ResidualInput = 3;

    public static bool IsFused(Node node) => node.Domain == Domain;

    public static Activation ActivationOf(Node node) => new(
        node.GetString(ActivationAttribute, ""),
        node.GetFloat(AlphaAttribute, 0f),
        node.GetFloat(BetaAttribute, 0f));
}
