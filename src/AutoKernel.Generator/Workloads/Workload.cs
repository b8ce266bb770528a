using System;
using System.Globalization;
using System.Linq;

namespace AutoKernel.Generator.Workloads;

/// <summary>
/// A tunable computation with fixed shapes. Two nodes with equal keys run the same kernel, so
/// the tuner measures each key once. The epilogue (bias, activation, residual) is not part of the
/// key: it costs little next to the main loop nest and does not change which schedule wins.
/// </summary>
public abstract record Workload
{
    /// <summary>The task family: conv2d, depthwise_conv2d, group_conv2d, dense or batch_matmul.</summary>
    public abstract string Kind { get; }

    /// <summary>Stable text key; the format is documented in docs/architecture.md and must not change silently.</summary>
    public abstract string Key { get; }

    /// <summary>Floating-point operations per run (a multiply-add counts as two).</summary>
    public abstract long Flops { get; }

    /// <summary>A short shape summary for tables.</summary>
    public abstract string Shape { get; }

    protected static string Join(params int[] values) => string.Join("x", values.Select(v => v.ToString(CultureInfo.InvariantCulture)));
}

/// <summary>2-D convolution in NCHW layout with OIHW weights (float32).</summary>
public sealed record Conv2dWorkload(
    int Batch, int InChannels, int InHeight, int InWidth,
    int OutChannels, int KernelHeight, int KernelWidth,
    int StrideHeight, int StrideWidth,
    int PadTop, int PadLeft, int PadBottom, int PadRight,
    int DilationHeight, int DilationWidth, int Groups) : Workload
{
    public int OutHeight => (InHeight + PadTop + PadBottom - (DilationHeight * (KernelHeight - 1) + 1)) / StrideHeight + 1;

    public int OutWidth => (InWidth + PadLeft + PadRight - (DilationWidth * (KernelWidth - 1) + 1)) / StrideWidth + 1;

    public override string Kind =>
        Groups == 1 ? "conv2d"
        : Groups == InChannels && OutChannels % InChannels == 0 ? "depthwise_conv2d"
        : "group_conv2d";

    public override string Key =>
        $"{Kind}|data={Join(Batch, InChannels, InHeight, InWidth)}|weight={Join(OutChannels, InChannels / Groups, KernelHeight, KernelWidth)}" +
        $"|stride={Join(StrideHeight, StrideWidth)}|pad={Join(PadTop, PadLeft, PadBottom, PadRight)}|dilation={Join(DilationHeight, DilationWidth)}" +
        $"|groups={Groups.ToString(CultureInfo.InvariantCulture)}|layout=NCHW|dtype=float32";

    public override long Flops => 2L * Batch * OutChannels * OutHeight * OutWidth * (InChannels / Groups) * KernelHeight * KernelWidth;

    public override string Shape =>
        $"{Join(Batch, InChannels, InHeight, InWidth)} -> {Join(Batch, OutChannels, OutHeight, OutWidth)}, k{Join(KernelHeight, KernelWidth)} s{Join(StrideHeight, StrideWidth)}" +
        (PadTop + PadLeft + PadBottom + PadRight > 0 ? $" p{Join(PadTop, PadLeft, PadBottom, PadRight)}" : "") +
        (DilationHeight * DilationWidth > 1 ? $" d{Join(DilationHeight, DilationWidth)}" : "") +
        (Groups > 1 ? $" g{Groups.ToString(CultureInfo.InvariantCulture)}" : "");
}

/// <summary>Y[M,N] = X[M,K] · W[N,K]ᵀ with constant W (Gemm with a constant B, 2-D MatMul with a constant B).</summary>
public sealed record DenseWorkload(int M, int N, int K) : Workload
{
    public override string Kind => "dense";

    public override string Key => $"dense|data={Join(M, K)}|weight={Join(N, K)}|dtype=float32";

    public override long Flops => 2L * M * N * K;

    public override string Shape => $"{Join(M, K)} x {Join(K, N)}";
}

/// <summary>Y[B,M,N] = A[B,M,K] · B[B,K,N], both operands computed (batch dimensions flattened into B).</summary>
public sealed record BatchMatMulWorkload(int Batch, int M, int N, int K) : Workload
{
    public override string Kind => "batch_matmul";

    public override string Key => $"batch_matmul|a={Join(Batch, M, K)}|b={Join(Batch, K, N)}|dtype=float32";

    public override long Flops => 2L * Batch * M * N * K;

    public override string Shape => $"{Join(Batch, M, K)} x {Join(Batch, K, N)}";
}
