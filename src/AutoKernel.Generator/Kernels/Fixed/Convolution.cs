using System;
using System.Linq;
using static System.FormattableString;

namespace AutoKernel.Generator.Kernels.Fixed;

/// <summary>
/// Direct Conv (1 to 3 spatial axes, groups, strides, dilations; attributes strides, dilations,
/// pads_begin, pads_end, group) with the fused epilogue ("bias", "residual", activation), and
/// ConvTranspose (strides, dilations, pads_begin, group, "bias") as a gather over the input
/// positions that reach each output, stepping the residue classes (no division per element).
/// Standard layout; tuned convolutions do not come here.
/// </summary>
internal static class Convolution
{
    public static bool Supports(FixedOp op)
    {
        if (op.OpType is not ("Conv" or "ConvTranspose") || op.Block != 0 || !FixedEmit.KnownActivation(op))
            return false;
        bool bias = op.GetInt("bias", 0) != 0, residual = op.GetInt("residual", 0) != 0;
        if (op.Inputs.Count != 2 + (bias ? 1 : 0) + (residual ? 1 : 0))
            return false;
        int[] x = op.Inputs[0], wt = op.Inputs[1], y = op.Output;
        int r = x.Length - 2;
        if (r < 1 || r > 3 || wt.Length != x.Length || y.Length != x.Length || y[0] != x[0])
            return false;
        int g = op.GetInt("group", 1);
        int[] s = op.GetInts("strides"), d = op.GetInts("dilations"), pb = op.GetInts("pads_begin");
        if (g < 1 || s.Length != r || d.Length != r || pb.Length != r || s.Any(v => v < 1) || d.Any(v => v < 1) || x[1] % g != 0)
            return false;
        int m = op.OpType == "Conv" ? wt[0] : wt[1] * g;
        if (y[1] != m || (op.OpType == "Conv" ? wt[1] * g != x[1] || m % g != 0 : wt[0] != x[1]))
            return false;
        if (bias && FixedEmit.Count(op.Inputs[2]) != m)
            return false;
        if (residual && FixedEmit.Count(op.Inputs[op.Inputs.Count - 1]) != FixedEmit.Count(y))
            return false;
        return op.OpType == "ConvTranspose" || op.GetInts("pads_end").Length == r;
    }

    public static void Emit(CodeWriter w, FixedOp op, CpuTarget t)
    {
        int[] x = op.Inputs[0], wt = op.Inputs[1], y = op.Output;
        int r = x.Length - 2;
        int[] P3(int[] v, int fill) => Enumerable.Repeat(fill, 3 - r).Concat(v).ToArray();
        int[] inn = P3(x.Skip(2).ToArray(), 1), o = P3(y.Skip(2).ToArray(), 1), k = P3(wt.Skip(2).ToArray(), 1);
        int[] s = P3(op.GetInts("strides"), 1), d = P3(op.GetInts("dilations"), 1), p = P3(op.GetInts("pads_begin"), 0);
        int g = op.GetInt("group", 1);
        int c = x[1], m = y[1], cg = c / g, mg = m / g;
        bool bias = op.GetInt("bias", 0) != 0, residual = op.GetInt("residual", 0) != 0;
        var e = FixedEmit.ActivationOf(op);
        bool transpose = op.OpType == "ConvTranspose";
        string V = t.VectorClass;
        int vf = t.VectorFloats;
        int inPlane = inn[0] * inn[1] * inn[2], outPlane = o[0] * o[1] * o[2], kSize = k[0] * k[1] * k[2];
        w.Line("//@table private static int CeilDiv(int a, int b) => a >= 0 ? (a + b - 1) / b : -(-a / b);");
        FixedEmit.ParallelFor(w, (long)y[0] * m * o[0] * o[1], (long)o[2] * cg * kSize, () =>
        {
            w.Line(Invariant($"int oy = item % {o[1]}, rest = item / {o[1]}, oz = rest % {o[0]}, plane = rest / {o[0]}, mo = plane % {m}, n = plane / {m};"));
            w.Line(Invariant($"int grp = mo / {mg};"));
            w.Line(Invariant($"float* dst = a.Out + (long)item * {o[2]};"));
            w.Line(bias ? Invariant($"float b0 = a.In[2][mo];") : "float b0 = 0f;");
            w.Line(Invariant($"for (int ox = 0; ox < {o[2]}; ox++) dst[ox] = b0;"));
            w.Block(Invariant($"for (int ci = 0; ci < {cg}; ci++)"), () =>
            {
                w.Line(Invariant($"int ch = grp * {cg} + ci;"));
                w.Line(Invariant($"float* src = a.In[0] + ((long)n * {c} + ch) * {inPlane};"));
                w.Line(transpose
                    ? Invariant($"float* wk = a.In[1] + ((long)ch * {mg} + mo % {mg}) * {kSize};")
                    : Invariant($"float* wk = a.In[1] + ((long)mo * {cg} + ci) * {kSize};"));
                w.Block(Invariant($"for (int kz = 0; kz < {k[0]}; kz++)"), () =>
                {
                    if (transpose)
                        w.Line(Invariant($"int nz = oz + {p[0]} - kz * {d[0]}; if (nz < 0 || nz % {s[0]} != 0 || nz / {s[0]} >= {inn[0]}) continue; int iz = nz / {s[0]};"));
                    else
                        w.Line(Invariant($"int iz = oz * {s[0]} - {p[0]} + kz * {d[0]}; if (iz < 0 || iz >= {inn[0]}) continue;"));
                    w.Block(Invariant($"for (int ky = 0; ky < {k[1]}; ky++)"), () =>
                    {
                        if (transpose)
                            w.Line(Invariant($"int ny = oy + {p[1]} - ky * {d[1]}; if (ny < 0 || ny % {s[1]} != 0 || ny / {s[1]} >= {inn[1]}) continue; int iy = ny / {s[1]};"));
                        else
                            w.Line(Invariant($"int iy = oy * {s[1]} - {p[1]} + ky * {d[1]}; if (iy < 0 || iy >= {inn[1]}) continue;"));
                        w.Line(Invariant($"float* srow = src + ((long)iz * {inn[1]} + iy) * {inn[2]};"));
                        w.Block(Invariant($"for (int kx = 0; kx < {k[2]}; kx++)"), () =>
                        {
                            w.Line(Invariant($"float wv = wk[(kz * {k[1]} + ky) * {k[2]} + kx];"));
                            if (transpose)
                            {
                                // Output ox = ix * s - p + kx * d for the input columns ix that land inside.
                                w.Line(Invariant($"int off = {p[2]} - kx * {d[2]};"));
                                w.Line(Invariant($"int lo = Math.Max(0, CeilDiv(off, {s[2]})), hi = Math.Min({inn[2]}, CeilDiv({o[2]} + off, {s[2]}));"));
                                w.Line(Invariant($"for (int ix = lo; ix < hi; ix++) dst[ix * {s[2]} - off] += wv * srow[ix];"));
                            }
                            else
                            {
                                // Input ix = ox * s - p + kx * d must be inside: ox in [lo, hi).
                                w.Line(Invariant($"int off = {p[2]} - kx * {d[2]};"));
                                w.Line(Invariant($"int lo = Math.Max(0, CeilDiv(off, {s[2]})), hi = Math.Min({o[2]}, CeilDiv({inn[2]} + off, {s[2]}));"));
                                if (s[2] == 1)
                                {
                                    w.Line("int ox = lo;");
                                    w.Block($"if ({FixedEmit.Fast(t)})", () =>
                                    {
                                        w.Line($"var vw = {V}.Create(wv);");
                                        w.Line(Invariant($"for (; ox + {vf} <= hi; ox += {vf}) {V}.Store({V}.Load(dst + ox) + vw * {V}.Load(srow + ox - off), dst + ox);"));
                                    });
                                    w.Line("for (; ox < hi; ox++) dst[ox] += wv * srow[ox - off];");
                                }
                                else
                                {
                                    w.Line(Invariant($"for (int ox = lo; ox < hi; ox++) dst[ox] += wv * srow[ox * {s[2]} - off];"));
                                }
                            }
                        });
                    });
                });
            });
            if (residual || e.Activation.Length > 0)
            {
                w.Block(Invariant($"for (int ox = 0; ox < {o[2]}; ox++)"), () =>
                {
                    w.Line("float v = dst[ox];");
                    if (residual)
                        w.Line(Invariant($"v += a.In[{op.Inputs.Count - 1}][(long)item * {o[2]} + ox];"));
                    w.Line($"dst[ox] = {EpilogueCode.Scalar(e, "v")};");
                });
            }
        });
    }
}
