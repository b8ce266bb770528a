using System.Runtime.InteropServices;

namespace AutoKernel.Runtime.Models;

/// <summary>Zeroed, 64-byte-aligned native memory for a model's arena; freed on Dispose (or by the finalizer).</summary>
public sealed unsafe class NativeBuffer : IDisposable
{
    private void* _memory;

    public NativeBuffer(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        Bytes = bytes;
        _memory = NativeMemory.AlignedAlloc((nuint)Math.Max(bytes, WeightsFile.Alignment), WeightsFile.Alignment);
        NativeMemory.Clear(_memory, (nuint)Math.Max(bytes, WeightsFile.Alignment));
    }

    public long Bytes { get; }

    public float* Floats => _memory != null ? (float*)_memory : throw new ObjectDisposedException(nameof(NativeBuffer));

    ~NativeBuffer() => Free();

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    private void Free()
    {
        void* memory = _memory;
        _memory = null;
        if (memory != null)
            NativeMemory.AlignedFree(memory);
    }
}
