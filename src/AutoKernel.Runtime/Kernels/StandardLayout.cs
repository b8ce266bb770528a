using System.Runtime.InteropServices;
using AutoKernel.Runtime.Threading;

namespace AutoKernel.Runtime.Kernels;

/// <summary>
/// Runs a kernel on managed arrays in the standard ONNX layouts, converting through the kernel's
/// own layouts. It allocates, so it is for checks, tests and tools, not for a model's hot path.
/// </summary>
public static class StandardLayout
{
    public static unsafe float[] Run(IFixedKernel kernel, IReadOnlyList<float[]> inputs, int standardOutputLength, WorkerPool pool)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Count != kernel.InputCount)
            throw new ArgumentException($"kernel takes {kernel.InputCount} inputs, got {inputs.Count}", nameof(inputs));
        var native = new float[inputs.Count][];
        var handles = new GCHandle[inputs.Count];
        var output = new float[kernel.OutputLength];
        try
        {
            float** pointers = stackalloc float*[inputs.Count];
            for (int i = 0; i < inputs.Count; i++)
            {
                native[i] = new float[kernel.InputLength(i)];
                kernel.InputToNative(i, inputs[i], native[i]);
                handles[i] = GCHandle.Alloc(native[i], GCHandleType.Pinned);
                pointers[i] = (float*)handles[i].AddrOfPinnedObject();
            }
            fixed (float* o = output)
                kernel.Run(pointers, o, pool);
        }
        finally
        {
            foreach (var h in handles)
            {
                if (h.IsAllocated)
                    h.Free();
            }
        }
        var standard = new float[standardOutputLength];
        kernel.OutputFromNative(output, standard);
        return standard;
    }
}
