using System;
using System.Linq;
using static System.FormattableString;

namespace AutoKernel.Generator.Kernels.Fixed;

/// <summary>
/// MaxPool and AveragePool (1 to 3 spatial axes, strides, dilations, pads, count_include_pad;
/// attributes kernel_shape, strides, dilations, pads_begin, pads_end as resolved by the importer's
/// window rules) and GlobalAveragePool/GlobalMaxPool. Standard layout for any rank; NCHW[b]c for
/// 4-D, all lanes of a channel block at once.
/// </summary>
internal static class Pooling
{
    public static bool Supports(FixedOp op)
    {
        if (op.Inputs.Count != 1)
            return false;
        int[] x = op.Inputs[0], y = op.Output;
        if (x.Length < 3 || x.Length > 5 || y.Length != x.Length || x[0] != y[0] || x[1] != y[1] || op.Has("constant_inputs"))
            return false;
        if (op.Block > 0 && x.Length != 4)
            return false;
        switch (op.OpType)
        {
            case "GlobalAveragePool":
            case "GlobalMaxPool":
                return y.Skip(2).All(d => d == 1);
            case "MaxPool":
            case "AveragePool":
            {
                int r = x.Length - 2;
                int[] k = op.GetInts("kernel_shape"), s = op.GetInts("strides"), d = op.GetInts("dilations"), pb = op.GetInts("pads_begin"), pe = op.GetInts("pads_end");
                return k.Length == r && s.Length == r && d.Length == r && pb.Length == r && pe.Length == r
                    && k.All(v => v >= 1) && s.All(v => v >= 1) && d.All(v => v >= 1) && pb.All(v => v >= 0) && pe.All(v => v >= 0);
            }
            default:
                return false;
        }
    }

    public static void Emit(CodeWriter w, FixedOp op, CpuTarget t)
    {
        if (op.OpType.StartsWith("Global", StringComparison.Ordinal))
        {
            if (op.Block > 0)
                EmitGlobalBlocked(w, op, t);
            else
                EmitGlobal(w, op, t);
            return;
        }
        // Spatial axes padded to three at the front.
        int r = op.Inputs[0].Length - 2;
        int[] Pad3(int[] v, int fill) => Enumerable.Repeat(fill, 3 - r).Concat(v).ToArray();
        int[] inn = Pad3(op.Inputs[0].Skip(2).ToArray(), 1), o = Pad3(op.Output.Skip(2).ToArray(), 1);
        int[] k = Pad3(op.GetInts("kernel_shape"), 1), s = Pad3(op.GetInts("strides"), 1), d = Pad3(op.GetInts("dilations"), 1);
        int[] pb = Pad3(op.GetInts("pads_begin"), 0), pe = Pad3(op.GetInts("pads_end"), 0);
        // MaxPool accumulates with IEEE Max (V.Max / MathF.Max), not MaxNative: the accumulator and
        // the element may each be NaN, and only the IEEE form keeps a NaN from either side (vmaxps
        // keeps only its second operand's).
        bool max = op.OpType == "MaxPool";
        bool includePad = op.GetInt("count_include_pad", 0) != 0;
        int b = op.Block;
        int planes = op.Inputs[0][0] * (b > 0 ? EmitterShared.Blocks(op.Inputs[0][1], b) : op.Inputs[0][1]);
        int lanes = b > 0 ? b : 1;
        int vf = t.VectorFloats;
        string V = t.VectorClass;

        // Per-axis window bounds: k in [lo, hi) are inside the input; [0, hiPad) inside input plus end padding.
        string Range(int a, string oc) => Invariant(
            $"int st{a} = {oc} * {s[a]} - {pb[a]}; int lo{a} = st{a} < 0 ? (-st{a} + {d[a] - 1}) / {d[a]} : 0; int hi{a} = Math.Min({k[a]}, Math.Max(0, ({inn[a]} - st{a} + {d[a] - 1}) / {d[a]}));")
            + (includePad ? Invariant($" int hp{a} = Math.Min({k[a]}, Math.Max(0, ({inn[a] + pe[a]} - st{a} + {d[a] - 1}) / {d[a]}));") : "");

        FixedEmit.ParallelFor(w, (long)planes * o[0] * o[1], (long)o[2] * k[0] * k[1] * k[2] * lanes, () =>
        {
            w.Line(Invariant($"int oy = item % {o[1]}, rest = item / {o[1]}, oz = rest % {o[0]}, plane = rest / {o[0]};"));
            w.Line(Invariant($"float* src = a.In[0] + (long)plane * {inn[0] * inn[1] * inn[2] * lanes};"));
            w.Line(Invariant($"float* dst = a.Out + (long)item * {o[2] * lanes};"));
            w.Line(Range(0, "oz"));
            w.Line(Range(1, "oy"));
            w.Block(Invariant($"for (int ox = 0; ox < {o[2]}; ox++)"), () =>
            {
                w.Line(Range(2, "ox"));
                if (!max)
                    w.Line(includePad ? "int count = hp0 * hp1 * hp2;" : "int count = Math.Max(0, hi0 - lo0) * Math.Max(0, hi1 - lo1) * Math.Max(0, hi2 - lo2);");
                void Window(Action<string> visit)
                {
                    w.Block("for (int kz = lo0; kz < hi0; kz++)", () =>
                        w.Block("for (int ky = lo1; ky < hi1; ky++)", () =>
                        {
                            w.Line(Invariant($"float* rowp = src + ((long)(st0 + kz * {d[0]}) * {inn[1]} + (st1 + ky * {d[1]})) * {inn[2] * lanes};"));
                            w.Block("for (int kx = lo2; kx < hi2; kx++)", () =>
                                visit(Invariant($"rowp + (st2 + kx * {d[2]}) * {lanes}")));
                        }));
                }
                if (lanes == 1)
                {
                    w.Line(max ? "float acc = float.NegativeInfinity;" : "float acc = 0f;");
                    Window(p => w.Line(max ? $"acc = MathF.Max(acc, *({p}));" : $"acc += *({p});"));
                    w.Line(max ? "dst[ox] = acc;" : "dst[ox] = count == 0 ? 0f : acc / count;");
                    return;
                }
                w.Line("int l = 0;");
                if (lanes % vf == 0)
                {
                    w.Block($"if ({FixedEmit.Fast(t)})", () =>
                    {
                        w.Block(Invariant($"for (; l < {lanes}; l += {vf})"), () =>
                        {
                            w.Line(max ? $"var acc = {V}.Create(float.NegativeInfinity);" : $"var acc = {V}<float>.Zero;");
                            Window(p => w.Line(max ? $"acc = {V}.Max(acc, {V}.Load({p} + l));" : $"acc += {V}.Load({p} + l);"));
                            w.Line(max
                                ? Invariant($"{V}.Store(acc, dst + ox * {lanes} + l);")
                                : Invariant($"{V}.Store(count == 0 ? {V}<float>.Zero : acc / {V}.Create((float)count), dst + ox * {lanes} + l);"));
                        });
                    });
                }
                w.Block(Invariant($"for (; l < {lanes}; l++)"), () =>
                {
                    w.Line(max ? "float acc = float.NegativeInfinity;" : "float acc = 0f;");
                    Window(p => w.Line(max ? $"acc = MathF.Max(acc, ({p})[l]);" : $"acc += ({p})[l];"));
                    w.Line(max ? Invariant($"dst[ox * {lanes} + l] = acc;") : Invariant($"dst[ox * {lanes} + l] = count == 0 ? 0f : acc / count;"));
                });
                if (max && b > 0 && op.Inputs[0][1] % b != 0)
                {
                    // A window entirely in padding leaves -inf; padded lanes must read zero anyway.
                    int cb = EmitterShared.Blocks(op.Inputs[0][1], b), rem = op.Inputs[0][1] % b;
                    w.Line(Invariant($"if (plane % {cb} == {cb - 1}) for (int z = {rem}; z < {b}; z++) dst[ox * {b} + z] = 0f;"));
                }
            });
        });
    }

    private static void EmitGlobal(CodeWriter w, FixedOp op, CpuTarget t)
    {
        int[] x = op.Inputs[0];
        int planes = x[0] * x[1];
        long size = x.Skip(2).Aggregate(1L, (p, d) => p * d);
        bool max = op.OpType == "GlobalMaxPool";
        string V = t.VectorClass;
        int vf = t.VectorFloats;
        FixedEmit.ParallelFor(w, planes, size, () =>
        {
            w.Line(Invariant($"float* src = a.In[0] + (long)item * {size};"));
            w.Line("long i = 0;");
            w.Line(max ? "float acc = float.NegativeInfinity;" : "float acc = 0f;");
            w.Block(Invariant($"if ({FixedEmit.Fast(t)} && {size} >= {vf})"), () =>
            {
                w.Line(max ? $"var vacc = {V}.Create(float.NegativeInfinity);" : $"var vacc = {V}<float>.Zero;");
                w.Line(Invariant($"for (; i + {vf} <= {size}; i += {vf}) vacc = ") + (max ? $"{V}.Max(vacc, {V}.Load(src + i));" : $"vacc + {V}.Load(src + i);"));
                w.Line(max ? Invariant($"for (int l = 0; l < {vf}; l++) acc = MathF.Max(acc, vacc.GetElement(l));") : $"acc = {V}.Sum(vacc);");
            });
            w.Line(Invariant($"for (; i < {size}; i++) acc = ") + (max ? "MathF.Max(acc, src[i]);" : "acc + src[i];"));
            w.Line(max ? "a.Out[item] = acc;" : Invariant($"a.Out[item] = acc / {size};"));
        });
    }

    private static void EmitGlobalBlocked(CodeWriter w, FixedOp op, CpuTarget t)
    {
        int[] x = op.Inputs[0];
        int b = op.Block, cb = EmitterShared.Blocks(x[1], b);
        int hw = x[2] * x[3];
        bool max = op.OpType == "GlobalMaxPool";
        string V = t.VectorClass;
        int vf = t.VectorFloats;
        FixedEmit.ParallelFor(w, (long)x[0] * cb, (long)hw * b, () =>
        {
            w.Line(Invariant($"float* src = a.In[0] + (long)item * {hw * b};"));
            w.Line(Invariant($"float* dst = a.Out + (long)item * {b};"));
            w.Line("int l = 0;");
            if (b % vf == 0)
            {
                w.Block($"if ({FixedEmit.Fast(t)})", () =>
                {
                    w.Block(Invariant($"for (; l < {b}; l += {vf})"), () =>
                    {
                        w.Line(max ? $"var acc = {V}.Create(float.NegativeInfinity);" : $"var acc = {V}<float>.Zero;");
                        w.Line(Invariant($"for (int p = 0; p < {hw}; p++) acc = ") + (max ? Invariant($"{V}.Max(acc, {V}.Load(src + p * {b} + l));") : Invariant($"acc + {V}.Load(src + p * {b} + l);")));
                        w.Line(max ? $"{V}.Store(acc, dst + l);" : Invariant($"{V}.Store(acc / {V}.Create({hw}f), dst + l);"));
                    });
                });
            }
            w.Block(Invariant($"for (; l < {b}; l++)"), () =>
            {
                w.Line(max ? "float acc = float.NegativeInfinity;" : "float acc = 0f;");
                w.Line(Invariant($"for (int p = 0; p < {hw}; p++) acc = ") + (max ? Invariant($"MathF.Max(acc, src[p * {b} + l]);") : Invariant($"acc + src[p * {b} + l];")));
                w.Line(max ? "dst[l] = acc;" : Invariant($"dst[l] = acc / {hw};"));
            });
        });
    }
}
