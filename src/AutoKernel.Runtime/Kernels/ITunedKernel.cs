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

    /// <summary>
    /// Packs the constant weights (ONNX layout: OIHW for convolutions, [N, K] for dense) and the
    /// bias ([N] or null) into the kernel's layout. Called once, before <see cref="Run"/>.
    /// </summary>
    void Prepare(float[] weights, float[]? bias);

    /// <summary>Computes the output. <paramref name="residual"/> is null unless the epilogue has a residual add.</summary>
    void Run(float* input, float* output, float* residual, WorkerPool pool);

    /// <summary>Standard-layout input to native layout.</summary>
    void InputToNative(ReadOnlySpan<float> standard, Span<float> native);

    /// <summary>Standard-layout output (or residual) to native layout.</summary>
    void OutputToNative(ReadOnlySpan<float> standard, Span<float> native);

    /// <summary>Native-layout output to standard layout.</summary>
    void OutputFromNative(ReadOnlySpan<float> native, Span<float> standard);
}
