using AutoKernel.Runtime.Threading;

namespace AutoKernel.Runtime.Kernels;

/// <summary>
/// A generated kernel for an operator that is not tuned (pooling, elementwise, reductions, data
/// movement, normalization, matrix products, untuned convolutions, layout transforms): shapes are
/// constants, the schedule is fixed. Buffers are in the layouts the kernel was emitted for: NCHW[b]c
/// for the computed inputs and the output of a blocked kernel (initializer inputs stay row-major),
/// row-major otherwise. Run allocates nothing.
/// </summary>
public unsafe interface IFixedKernel
{
    int InputCount { get; }

    /// <summary>Floats in input <paramref name="index"/>.</summary>
    int InputLength(int index);

    int OutputLength { get; }

    void Run(float** inputs, float* output, WorkerPool pool);

    /// <summary>Standard-layout (NCHW or row-major) input <paramref name="index"/> to the kernel's layout.</summary>
    void InputToNative(int index, ReadOnlySpan<float> standard, Span<float> native);

    /// <summary>Kernel-layout output to standard layout.</summary>
    void OutputFromNative(ReadOnlySpan<float> native, Span<float> standard);
}
