using AutoKernel.Runtime.Threading;

namespace AutoKernel.Runtime.Kernels;

/// <summary>
/// A generated kernel: one workload, one schedule, its epilogue fused. Activations live in the
/// kernel's own layouts (e.g. NCHW16c); the layout methods convert from and to the standard ONNX
/// layouts (NCHW for convolutions, row-major [M, N] for dense) at graph boundaries and for checks.
/// </summary>
public unsafe interface ITunedKernel
{
    /// <summary>Floats in the input buffer, native layout.</summary>
    int InputLength { get; }

    /// <summary>Floats in the output buffer (and the residual buffer, which shares its layout).</summary>
    int OutputLength { get; }

    /// <summary>Floats of the packed weights the kernel reads (what <see cref="CopyPacked"/> writes and <see cref="Bind"/> expects).</summary>
    int PackedWeightsLength { get; }

    /// <summary>
    /// Floats of the packed bias block: the bias padded to the kernel's channel blocks, plus any
    /// channel mask. May be greater than zero even when the epilogue has no bias.
    /// </summary>
    int PackedBiasLength { get; }

    /// <summary>
    /// Packs the constant weights (ONNX layout: OIHW for convolutions, [N, K] for dense) and the
    /// bias ([N] or null) into storage the kernel owns. Called once, before <see cref="Run"/>
    /// (unless the kernel is bound to external storage with <see cref="Bind"/> instead).
    /// </summary>
    void Prepare(float[] weights, float[]? bias);

    /// <summary>
    /// After <see cref="Prepare"/>: copies the packed weights and bias block out. The spans must be
    /// exactly <see cref="PackedWeightsLength"/> and <see cref="PackedBiasLength"/> floats long.
    /// </summary>
    void CopyPacked(Span<float> weights, Span<float> bias);

    /// <summary>
    /// Makes the kernel read external packed storage (contents as <see cref="CopyPacked"/> wrote
    /// them), instead of <see cref="Prepare"/>'s: 64-byte aligned, read-only, shared by any number
    /// of kernel instances and outliving every <see cref="Run"/>. No Prepare is needed; the kernel
    /// keeps no packed copy of its own.
    /// </summary>
    void Bind(float* weights, float* bias);

    /// <summary>
    /// Computes the output. <paramref name="residual"/> is null unless the epilogue has a residual add.
    /// Throws <see cref="InvalidOperationException"/> before <see cref="Prepare"/> or <see cref="Bind"/>.
    /// </summary>
    void Run(float* input, float* output, float* residual, WorkerPool pool);

    /// <summary>Standard-layout input to native layout.</summary>
    void InputToNative(ReadOnlySpan<float> standard, Span<float> native);

    /// <summary>Standard-layout output (or residual) to native layout.</summary>
    void OutputToNative(ReadOnlySpan<float> standard, Span<float> native);

    /// <summary>Native-layout output to standard layout.</summary>
    void OutputFromNative(ReadOnlySpan<float> native, Span<float> standard);
}
