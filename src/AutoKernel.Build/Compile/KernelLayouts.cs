using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Schedules;

namespace AutoKernel.Build.Compile;

/// <summary>
/// The activation layouts a tuned kernel reads and writes, as channel blocks: 0 is the standard
/// layout (NCHW, row-major), b ≥ 1 is NCHW[b]c. A test holds each template's emitted InputLength
/// and OutputLength to these layouts.
/// </summary>
public static class KernelLayouts
{
    public static (int Input, int Output) Of(KernelTemplate template, Config config, CpuTarget target) => template.Name switch
    {
        "conv2d_nchwc" or "conv2d_1x1_nchwc" => (Normalize(config["tile_ic"][1]), Normalize(config["tile_oc"][1])),
        "conv2d_winograd_nchwc" => (Normalize(target.VectorFloats), Normalize(target.VectorFloats)),
        "depthwise_conv2d_nchwc" => (Normalize(config.Value("cb")), Normalize(config.Value("cb"))),
        "group_conv2d_nchw" or "dense_packed" => (0, 0),
        _ => throw new ArgumentException($"the compiler does not know the layouts of template '{template.Name}'", nameof(template)),
    };

    /// <summary>NCHW[1]c is NCHW byte for byte.</summary>
    public static int Normalize(int block) => block <= 1 ? 0 : block;

    /// <summary>
    /// Floats of a tensor in a layout: blocked 4-D tensors pad the channels to whole blocks. In long
    /// (the runtime's int BlockedLength overflows for a padded tensor past 2^31 floats), so that the
    /// compiler can refuse such a buffer with a clear message rather than crash.
    /// </summary>
    public static long Floats(int[] shape, int block) =>
        block > 1 && shape.Length == 4
            ? checked(shape[0] * (((long)shape[1] + block - 1) / block) * block * shape[2] * shape[3])
            : Graph.ShapeMath.ElementCount(shape);
}
