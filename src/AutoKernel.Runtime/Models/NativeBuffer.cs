using System.Runtime.InteropServices;

namespace AutoKernel.Runtime.Models;

/// <summary>Zeroed, 64-byte-aligned native memory for a model's arena; freed on Dispose (or by the finalizer).</summary>
public sealed unsafe class NativeBuffer : IDisposable
{
    private nint _memory;

    public NativeBuffer(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        Bytes = bytes;
        void* memory = NativeMemory.AlignedAlloc((nuint)Math.Max(bytes, WeightsFile.Alignment), WeightsFile.Alignment);
        NativeMemory.Clear(memory, (nuint)Math.Max(bytes, WeightsFile.Alignment));
        _memory = (nint)memory;
    }

    public long Bytes { get; }

    public float* Floats => Volatile.Read(ref _memory) is var m && m != 0 ? (float*)m : throw new ObjectDisposedException(nameof(NativeBuffer));

    ~NativeBuffer() => Free();

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    private void Free()
    {
        // Atomic, so that two threads disposing at once cannot both free the memory.
        void* memory = (void*)Interlocked.Exchange(ref _memory, 0);
        if (memory != null)
            NativeMemory.AlignedFree(memory);
    }
}
