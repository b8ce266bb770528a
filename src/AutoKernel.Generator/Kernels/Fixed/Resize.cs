using System;
using System.Linq;
using static System.FormattableString;

namespace AutoKernel.Generator.Kernels.Fixed;

/// <summary>
/// Linear Resize/Upsample on the last two axes ("mode" = linear): per output row and column the
/// two source indices and the weight of the second ("h0", "h1", "hw", "w0", "w1", "ww"),
/// interpolated along H then W as the reference does. Nearest resizes are index maps (DataMovement).
/// </summary>
internal static class ResizeKernels
{
    public static bool Supports(FixedOp op)
    {
        if (op.OpType is not ("Resize" or "Upsample") || op.GetString("mode", "") != "linear" || op.Inputs.Count != 1 || op.Block != 0)
            return false;
        int[] x = op.Inputs[0], y = op.Output;
        if (x.Length < 2 || y.Length != x.Length || Enumerable.Range(0, x.Length - 2).Any(d => x[d] != y[d]))
            return false;
        int oh = y[y.Length - 2], ow = y[y.Length - 1], ih = x[x.Length - 2], iw = x[x.Length - 1];
        bool Ok(string n, int len, int max) => op.GetInts(n).Length == len && op.GetInts(n).All(v => v >= 0 && v < max);
        return Ok("h0", oh, ih) && Ok("h1", oh, ih) && op.GetFloats("hw").Length == oh
            && Ok("w0", ow, iw) && Ok("w1", ow, iw) && op.GetFloats("ww").Length == ow;
    }

    public static void Emit(CodeWriter w, FixedOp op, CpuTarget t)
    {
        int[] x = op.Inputs[0], y = op.Output;
        int r = x.Length;
        int ih = x[r - 2], iw = x[r - 1], oh = y[r - 2], ow = y[r - 1];
        long planes = x.Take(r - 2).Aggregate(1L, (p, d) => p * d);
        FixedEmit.IntTable(w, "H0", op.GetInts("h0").Select(v => v * iw));
        FixedEmit.IntTable(w, "H1", op.GetInts("h1").Select(v => v * iw));
        FixedEmit.FloatTable(w, "HW", op.GetFloats("hw"));
        FixedEmit.IntTable(w, "W0", op.GetInts("w0"));
        FixedEmit.IntTable(w, "W1", op.GetInts("w1"));
        FixedEmit.FloatTable(w, "WW", op.GetFloats("ww"));
        FixedEmit.ParallelFor(w, planes * oh, ow * 4, () =>
        {
            w.Line(Invariant($"int y = item % {oh}, plane = item / {oh};"));
            w.Line(Invariant($"float* src = a.In[0] + (long)plane * {ih * iw};"));
            w.Line("float* r0 = src + H0[y], r1 = src + H1[y];");
            w.Line("float hw = HW[y], hv = 1f - hw;");
            w.Line(Invariant($"float* dst = a.Out + (long)item * {ow};"));
            w.Line("ReadOnlySpan<int> w0 = W0, w1 = W1;");
            w.Line("ReadOnlySpan<float> ww = WW;");
            w.Block(Invariant($"for (int x = 0; x < {ow}; x++)"), () =>
            {
                w.Line("int i0 = w0[x], i1 = w1[x];");
                w.Line("float left = hv * r0[i0] + hw * r1[i0], right = hv * r0[i1] + hw * r1[i1];");
                w.Line("dst[x] = (1f - ww[x]) * left + ww[x] * right;");
            });
        });
    }
}
