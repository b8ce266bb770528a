using AutoKernel.Build.Graph;
using AutoKernel.Generator.Workloads;

namespace AutoKernel.Build.Tasks;

/// <summary>
/// The constants a dense kernel needs for a tunable Gemm / FusedGemm / MatMul / FusedMatMul node:
/// <see cref="Weights"/> in the kernel's [N,K] row-major layout with Gemm's alpha folded in, and
/// <see cref="Bias"/> ([N], Gemm's beta folded in) or null when the node has no bias input.
/// </summary>
/// <remarks>
/// The dense kernel (DenseTemplate) computes <c>Y[M,N] = act(X[M,K]·W[N,K]ᵀ + bias[N] + residual[M,N])</c>.
/// A node is tunable (<see cref="TaskExtractor.WorkloadOf"/> returns a <see cref="DenseWorkload"/>)
/// exactly when it can be rewritten into that form with constant W and bias, so that the kernel
/// computes what the node computes:
/// <list type="bullet">
/// <item>Gemm / FusedGemm: A is [M,K] (transA=0; a transA=1 Gemm is not tunable and runs on the
/// generic fixed Gemm kernel), B is a float constant ([N,K] with transB=1, [K,N] with transB=0,
/// transposed here), any alpha (folded into W); C is absent, or a float constant that is one value
/// per output column: shape [N], [1,N], [1], [1,1] or a scalar, with beta folded in. A C of shape
/// [M,N] or [M,1] (M &gt; 1), or a computed C, varies along the rows: not tunable.</item>
/// <item>MatMul / FusedMatMul: A has rank ≥ 2 (its leading axes are flattened into M), B is a 2-D
/// float constant [K,N] (transposed here); FusedMatMul's bias (input 2) is a 1-D float constant [N].</item>
/// <item>Fused nodes: the residual (input 3), when present, has the output's shape [.., M, N]
/// (the epilogue-fusion pass only takes a same-shaped addend as residual); it is added after
/// alpha·A·B + beta·C, before the activation, as the kernel does.</item>
/// </list>
/// A tunable dense node has a bias exactly when its input 2 is present, which is what
/// <see cref="TaskExtractor.EpilogueOf"/> reports.
/// </remarks>
public sealed record DenseOperands(float[] Weights, float[]? Bias)
{
    /// <summary>
    /// The packed-ready constants of a tunable dense node; throws <see cref="ModelException"/>
    /// (naming the node) when <see cref="TaskExtractor.WorkloadOf"/> would not give it a dense workload.
    /// </summary>
    public static DenseOperands For(ModelGraph graph, Node node)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(node);
        var form = DenseForm.Of(graph, node, out string? why)
            ?? throw new ModelException($"not a tunable dense node: {why}") { Node = node, Opset = graph.Opset };
        return form.Operands(graph);
    }
}

/// <summary>How a node maps onto the dense kernel: sizes, where B and C come from, and the scalings.</summary>
internal sealed record DenseForm(int M, int N, int K, string B, bool TransB, float Alpha, string? C, float Beta)
{
    public DenseWorkload Workload => new(M, N, K);

    /// <summary>The node's dense form, or null with the reason it is not tunable.</summary>
    public static DenseForm? Of(ModelGraph graph, Node node, out string? why)
    {
        string op = node.Domain.Length == 0 ? node.OpType
            : node.Domain == FusedOps.Domain && node.OpType.StartsWith("Fused", StringComparison.Ordinal) ? node.OpType["Fused".Length..]
            : "";
        bool fused = node.Domain == FusedOps.Domain;
        if (op is not ("Gemm" or "MatMul"))
            return Fail(out why, $"{node.Domain}.{node.OpType} is not Gemm, MatMul or their fused forms");
        var a = graph.TypeOf(node.Input(0));
        if (a is null || a.ElementType != DataType.Float || !a.IsStatic)
            return Fail(out why, "input A is not a float tensor of known shape");
        if (!graph.Initializers.TryGetValue(node.Input(1), out var b) || b.Type != DataType.Float)
            return Fail(out why, "input B is not a float constant");
        if (b.Rank != 2)
            return Fail(out why, $"B has rank {b.Rank}, not 2");

        DenseForm form;
        if (op == "Gemm")
        {
            if (a.Rank != 2)
                return Fail(out why, $"A has rank {a.Rank}, not 2");
            // transA=1 would need A transposed at run time: the generic fixed Gemm kernel runs it.
            if (node.GetInt("transA", 0) != 0)
                return Fail(out why, "transA=1 (A is transposed; runs on the generic Gemm kernel)");
            bool transB = node.GetInt("transB", 0) != 0;
            int m = a.Shape[0], k = a.Shape[1];
            int kb = transB ? b.Shape[1] : b.Shape[0], n = transB ? b.Shape[0] : b.Shape[1];
            if (k != kb)
                return Fail(out why, $"inner dimensions differ: A {ShapeMath.Format(a.Shape)}, B {ShapeMath.Format(b.Shape)} (transB={(transB ? 1 : 0)})");
            string? c = null;
            if (node.HasInput(2))
            {
                c = node.Input(2);
                if (!graph.Initializers.TryGetValue(c, out var cTensor) || cTensor.Type != DataType.Float)
                    return Fail(out why, "C is not a float constant");
                if (!IsPerColumn(cTensor.Shape, n))
                    return Fail(out why, $"C {ShapeMath.Format(cTensor.Shape)} is not one value per output column of [{m},{n}]");
            }
            form = new DenseForm(m, n, k, node.Input(1), transB, node.GetFloat("alpha", 1f), c, node.GetFloat("beta", 1f));
        }
        else
        {
            if (a.Rank < 2)
                return Fail(out why, $"A has rank {a.Rank}, below 2");
            int k = a.Shape[^1];
            if (k != b.Shape[0])
                return Fail(out why, $"inner dimensions differ: A {ShapeMath.Format(a.Shape)}, B {ShapeMath.Format(b.Shape)}");
            if (k <= 0)
                return Fail(out why, $"empty inner dimension: A {ShapeMath.Format(a.Shape)}");
            int m = checked((int)(a.ElementCount / k));
            int n = b.Shape[1];
            string? bias = null;
            if (fused && node.HasInput(2))
            {
                bias = node.Input(2);
                if (!graph.Initializers.TryGetValue(bias, out var biasTensor) || biasTensor.Type != DataType.Float
                    || biasTensor.Rank != 1 || biasTensor.Shape[0] != n)
                    return Fail(out why, $"the bias is not a float constant of shape [{n}]");
            }
            else if (node.HasInput(2))
            {
                return Fail(out why, "MatMul has a third input");
            }
            form = new DenseForm(m, n, k, node.Input(1), TransB: false, 1f, bias, 1f);
        }
        if (form.M <= 0 || form.N <= 0 || form.K <= 0)
            return Fail(out why, $"empty product M={form.M}, N={form.N}, K={form.K}");

        if (fused && node.HasInput(FusedOps.ResidualInput))
        {
            var output = graph.TypeOf(node.Outputs[0]);
            var residual = graph.TypeOf(node.Input(FusedOps.ResidualInput));
            if (residual is null || residual.ElementType != DataType.Float || output is null || !residual.Equals(output)
                || residual.ElementCount != (long)form.M * form.N)
                return Fail(out why, "the residual does not have the output's shape");
        }
        why = null;
        return form;
    }

    /// <summary>
    /// True when C broadcasts to [M,N] with one value per column, whatever M is: a scalar, [1], [N],
    /// [1,1] or [1,N]. Such a C becomes the kernel's [N] bias.
    /// </summary>
    private static bool IsPerColumn(int[] shape, int n) => shape.Length switch
    {
        0 => true,
        1 => shape[0] == 1 || shape[0] == n,
        2 => shape[0] == 1 && (shape[1] == 1 || shape[1] == n),
        _ => false,
    };

    /// <summary>W as [N,K] times alpha; beta·C broadcast to [N] (or the fused bias), or null.</summary>
    public DenseOperands Operands(ModelGraph graph)
    {
        var b = graph.Initializers[B].Floats;
        var weights = new float[checked(N * K)];
        for (int n = 0; n < N; n++)
        {
            for (int k = 0; k < K; k++)
            {
                float w = TransB ? b[n * K + k] : b[k * N + n];
                weights[n * K + k] = Alpha == 1f ? w : Alpha * w;
            }
        }
        float[]? bias = null;
        if (C is not null)
        {
            var c = graph.Initializers[C].Floats;
            bias = new float[N];
            for (int n = 0; n < N; n++)
            {
                float v = c.Length == 1 ? c[0] : c[n];
                bias[n] = Beta == 1f ? v : Beta * v;
            }
        }
        return new DenseOperands(weights, bias);
    }

    private static DenseForm? Fail(out string? why, string reason)
    {
        why = reason;
        return null;
    }
}
