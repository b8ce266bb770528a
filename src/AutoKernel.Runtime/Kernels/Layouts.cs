namespace AutoKernel.Runtime.Kernels;

/// <summary>
/// Activation layout transforms between NCHW and the channel-blocked NCHW[b]c layout
/// (N, C/b, H, W, b), where channels past C in the last block are zero.
/// </summary>
public static class Layouts
{
    /// <summary>Floats in an NCHW[b]c buffer for the given NCHW shape.</summary>
    public static int BlockedLength(int n, int c, int h, int w, int block) =>
        checked(n * ((c + block - 1) / block) * block * h * w);

    public static void NchwToBlocked(ReadOnlySpan<float> src, Span<float> dst, int n, int c, int h, int w, int block)
    {
        int blocks = (c + block - 1) / block;
        int plane = h * w;
        if (src.Length < n * c * plane || dst.Length < n * blocks * block * plane)
            throw new ArgumentException("buffer too small for the shape");
        for (int b = 0; b < n; b++)
        {
            for (int cb = 0; cb < blocks; cb++)
            {
                var dstBlock = dst.Slice((b * blocks + cb) * plane * block, plane * block);
                for (int ci = 0; ci < block; ci++)
                {
                    int channel = cb * block + ci;
                    if (channel >= c)
                    {
                        for (int p = 0; p < plane; p++)
                            dstBlock[p * block + ci] = 0f;
                        continue;
                    }
                    var srcPlane = src.Slice((b * c + channel) * plane, plane);
                    for (int p = 0; p < plane; p++)
                        dstBlock[p * block + ci] = srcPlane[p];
                }
            }
        }
    }

    public static void BlockedToNchw(ReadOnlySpan<float> src, Span<float> dst, int n, int c, int h, int w, int block)
    {
        int blocks = (c + block - 1) / block;
        int plane = h * w;
        if (dst.Length < n * c * plane || src.Length < n * blocks * block * plane)
            throw new ArgumentException("buffer too small for the shape");
        for (int b = 0; b < n; b++)
        {
            for (int channel = 0; channel < c; channel++)
            {
                int cb = channel / block, ci = channel % block;
                var srcBlock = src.Slice((b * blocks + cb) * plane * block, plane * block);
                var dstPlane = dst.Slice((b * c + channel) * plane, plane);
                for (int p = 0; p < plane; p++)
                    dstPlane[p] = srcBlock[p * block + ci];
            }
        }
    }
}
