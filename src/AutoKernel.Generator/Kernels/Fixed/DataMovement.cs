using System;
using System.Collections.Generic;
using System.Linq;
using static System.FormattableString;

namespace AutoKernel.Generator.Kernels.Fixed;

/// <summary>
/// Operators that only move values: Copy, LayoutTransform, Concat (any axis; whole channel blocks
/// in NCHW[b]c), Split (outputs packed back to back), and the index maps. An index map (Transpose,
/// Slice, Gather, Expand, Tile, Pad, DepthToSpace, SpaceToDepth, nearest Resize/Upsample) reads
/// output element (c0..c[r-1]) from input offset map_base + sum map.d[c_d], or writes pad_value
/// where some map.d entry is int.MinValue. Axes that are affine are merged; the inner axis copies
/// runs, fills broadcasts or gathers through its table.
/// </summary>
internal static class DataMovement
{
    public const int Invalid = int.MinValue;

    public static bool IsIndexMap(FixedOp op) => op.Has("map_base");

    public static bool Supports(FixedOp op)
    {
        int[] y = op.Output;
        switch (op.OpType)
        {
            case "Copy":
                return op.Inputs.Count == 1 && FixedEmit.Count(op.Inputs[0]) == FixedEmit.Count(y) && op.Block == 0 && !op.Has("map_base");
            case "LayoutTransform":
            {
                int from = op.GetInt("from", -1), to = op.GetInt("to", -1);
                return op.Inputs.Count == 1 && y.Length == 4 && op.Inputs[0].SequenceEqual(y) && from >= 0 && to >= 0 && op.Block == 0;
            }
            case "Concat":
            {
                if (op.Inputs.Count < 1 || op.Inputs.Any(s => s.Length != y.Length))
                    return false;
                int axis = op.GetInt("axis", -1);
                if (axis < 0 || axis >= y.Length || op.Inputs.Sum(s => (long)s[axis]) != y[axis])
                    return false;
                if (op.Inputs.Any(s => Enumerable.Range(0, y.Length).Any(d => d != axis && s[d] != y[d])))
                    return false;
                if (op.Block == 0)
                    return true;
                return axis == 1 && op.Inputs.Take(op.Inputs.Count - 1).All(s => s[1] % op.Block == 0) && !op.Has("constant_inputs");
            }
            case "Split":
            {
                if (op.Inputs.Count != 1 || op.Block != 0)
                    return false;
                int[] x = op.Inputs[0];
                int axis = op.GetInt("axis", -1);
                int[] split = op.GetInts("split");
                return axis >= 0 && axis < x.Length && split.Length >= 1 && split.All(s => s >= 0) && split.Sum() == x[axis]
                    && y.Length == 1 && y[0] == FixedEmit.Count(x);
            }
        }
        if (!IsIndexMap(op) || op.Inputs.Count != 1)
            return false;
        var maps = Maps(op);
        int[] dims = Dims(op);
        if (maps.Length != dims.Length || maps.Where((m, d) => m.Length != dims[d]).Any())
            return false;
        long count = FixedEmit.Count(op.Inputs[0]);
        long baseOffset = op.GetInt("map_base", 0);
        foreach (var m in maps)
        {
            // Every reachable offset must be inside the input.
            var valid = m.Where(v => v != Invalid).ToList();
            if (valid.Count > 0)
                baseOffset += valid.Min();
        }
        long maxOffset = op.GetInt("map_base", 0) + maps.Sum(m => m.Where(v => v != Invalid).Select(v => (long)v).DefaultIfEmpty(0).Max());
        if (maps.All(m => m.Any(v => v != Invalid)) && (baseOffset < 0 || maxOffset >= count))
            return false;
        if (op.Block == 0)
            return true;
        if (op.GetInt("map_flat", 0) != 0)
            return false;
        return BlockedMaps(op) is not null;
    }

    private static int[] Dims(FixedOp op) => op.GetInt("map_flat", 0) != 0 ? new[] { (int)FixedEmit.Count(op.Output) } : op.Output;

    private static int[][] Maps(FixedOp op) => Enumerable.Range(0, Dims(op).Length).Select(d => op.GetInts(Invariant($"map.{d}"))).ToArray();

    public static void Emit(CodeWriter w, FixedOp op, CpuTarget t)
    {
        switch (op.OpType)
        {
            case "Copy":
                EmitCopy(w, FixedEmit.Count(op.Output));
                return;
            case "LayoutTransform":
                EmitLayoutTransform(w, op);
                return;
            case "Concat":
                EmitConcat(w, op);
                return;
            case "Split":
                EmitSplit(w, op);
                return;
        }
        if (op.Block > 0)
            EmitBlockedMap(w, op);
        else
            EmitMap(w, op);
    }

    private static void EmitCopy(CodeWriter w, long count)
    {
        long seg = FixedEmit.Grain * 4;
        long items = (count + seg - 1) / seg;
        FixedEmit.ParallelFor(w, items, seg, () =>
        {
            w.Line(Invariant($"long i = (long)item * {seg}, len = Math.Min({seg}L, {count}L - i);"));
            w.Line("Buffer.MemoryCopy(a.In[0] + i, a.Out + i, len * 4, len * 4);");
        });
    }

    private static void EmitLayoutTransform(CodeWriter w, FixedOp op)
    {
        int[] s = op.Output;
        int n = s[0], c = s[1], h = s[2], wd = s[3];
        int from = op.GetInt("from", 0), to = op.GetInt("to", 0);
        if (from == to)
        {
            EmitCopy(w, FixedEmit.BufferLength(s, from));
            return;
        }
        if (to == 0)
        {
            int cb1 = EmitterShared.Blocks(c, from);
            FixedEmit.ParallelFor(w, (long)n * c * h, wd, () =>
            {
                w.Line(Invariant($"int y = item % {h}, plane = item / {h}, ch = plane % {c}, b = plane / {c};"));
                w.Line(Invariant($"float* src = a.In[0] + ((long)(b * {cb1} + ch / {from}) * {h} + y) * {wd * from} + ch % {from};"));
                w.Line(Invariant($"float* dst = a.Out + (long)item * {wd};"));
                w.Line(Invariant($"for (int x = 0; x < {wd}; x++) dst[x] = src[x * {from}];"));
            });
            return;
        }
        int cb2 = EmitterShared.Blocks(c, to);
        FixedEmit.ParallelFor(w, (long)n * cb2 * h, (long)wd * to, () =>
        {
            w.Line(Invariant($"int y = item % {h}, plane = item / {h}, cb = plane % {cb2}, b = plane / {cb2};"));
            w.Line(Invariant($"float* dst = a.Out + (long)item * {wd * to};"));
            w.Block(Invariant($"for (int l = 0; l < {to}; l++)"), () =>
            {
                w.Line(Invariant($"int ch = cb * {to} + l;"));
                w.Block(Invariant($"if (ch >= {c})"), () =>
                {
                    w.Line(Invariant($"for (int x = 0; x < {wd}; x++) dst[x * {to} + l] = 0f;"));
                    w.Line("continue;");
                });
                if (from == 0)
                {
                    w.Line(Invariant($"float* src = a.In[0] + ((long)(b * {c} + ch) * {h} + y) * {wd};"));
                    w.Line(Invariant($"for (int x = 0; x < {wd}; x++) dst[x * {to} + l] = src[x];"));
                }
                else
                {
                    int cb1 = EmitterShared.Blocks(c, from);
                    w.Line(Invariant($"float* src = a.In[0] + ((long)(b * {cb1} + ch / {from}) * {h} + y) * {wd * from} + ch % {from};"));
                    w.Line(Invariant($"for (int x = 0; x < {wd}; x++) dst[x * {to} + l] = src[x * {from}];"));
                }
            });
        });
    }

    private static void EmitConcat(CodeWriter w, FixedOp op)
    {
        int axis = op.GetInt("axis", 1);
        int k = op.Inputs.Count;
        long outer, rowLen;
        long[] lens, offs;
        if (op.Block > 0)
        {
            int b = op.Block, plane = op.Output[2] * op.Output[3] * b;
            outer = op.Output[0];
            rowLen = (long)EmitterShared.Blocks(op.Output[1], b) * plane;
            lens = op.Inputs.Select(s => (long)EmitterShared.Blocks(s[1], b) * plane).ToArray();
        }
        else
        {
            outer = op.Output.Take(axis).Aggregate(1L, (p, d) => p * d);
            long inner = op.Output.Skip(axis + 1).Aggregate(1L, (p, d) => p * d);
            rowLen = op.Output[axis] * inner;
            lens = op.Inputs.Select(s => s[axis] * inner).ToArray();
        }
        offs = new long[k];
        for (int i = 1; i < k; i++)
            offs[i] = offs[i - 1] + lens[i - 1];
        FixedEmit.IntTable(w, "Lens", lens.Select(v => (int)v));
        FixedEmit.IntTable(w, "Offs", offs.Select(v => (int)v));
        FixedEmit.ParallelFor(w, outer * k, (long)lens.Average(), () =>
        {
            w.Line(Invariant($"int row = item / {k}, i = item - row * {k};"));
            w.Line("int len = Lens[i];");
            w.Line(Invariant($"Buffer.MemoryCopy(a.In[i] + (long)row * len, a.Out + (long)row * {rowLen} + Offs[i], len * 4L, len * 4L);"));
        });
    }

    private static void EmitSplit(CodeWriter w, FixedOp op)
    {
        int[] x = op.Inputs[0];
        int axis = op.GetInt("axis", 0);
        int[] split = op.GetInts("split");
        int k = split.Length;
        long outer = x.Take(axis).Aggregate(1L, (p, d) => p * d);
        long inner = x.Skip(axis + 1).Aggregate(1L, (p, d) => p * d);
        long rowLen = x[axis] * inner;
        var lens = split.Select(s => s * inner).ToArray();
        var inOffs = new long[k];
        var outBase = new long[k];
        for (int i = 1; i < k; i++)
        {
            inOffs[i] = inOffs[i - 1] + lens[i - 1];
            outBase[i] = outBase[i - 1] + lens[i - 1] * outer;
        }
        FixedEmit.IntTable(w, "Lens", lens.Select(v => (int)v));
        FixedEmit.IntTable(w, "InOffs", inOffs.Select(v => (int)v));
        FixedEmit.IntTable(w, "OutBase", outBase.Select(v => (int)v));
        FixedEmit.ParallelFor(w, outer * k, (long)Math.Max(1, lens.Average()), () =>
        {
            w.Line(Invariant($"int row = item / {k}, i = item - row * {k};"));
            w.Line("int len = Lens[i];");
            w.Line(Invariant($"Buffer.MemoryCopy(a.In[0] + (long)row * {rowLen} + InOffs[i], a.Out + OutBase[i] + (long)row * len, len * 4L, len * 4L);"));
        });
    }

    private sealed class Axis
    {
        public int Extent;
        public int[] Table = new int[0];
        public bool Affine;
        public long Stride;
        public bool HasInvalid;
    }

    private static List<Axis> Normalize(FixedOp op, out long baseOffset)
    {
        baseOffset = op.GetInt("map_base", 0);
        var axes = new List<Axis>();
        foreach (int[] m in Maps(op))
        {
            var ax = new Axis { Extent = m.Length, Table = (int[])m.Clone(), HasInvalid = m.Contains(Invalid) };
            if (!ax.HasInvalid && m.Length > 0)
            {
                int first = m[0];
                baseOffset += first;
                for (int i = 0; i < m.Length; i++)
                    ax.Table[i] -= first;
                long s = m.Length > 1 ? ax.Table[1] : 0;
                ax.Affine = Enumerable.Range(0, m.Length).All(i => ax.Table[i] == i * s);
                ax.Stride = s;
            }
            if (ax.Extent == 1 && !ax.HasInvalid)
                continue;
            if (axes.Count > 0 && ax.Affine && axes[axes.Count - 1].Affine && axes[axes.Count - 1].Stride == ax.Stride * ax.Extent)
            {
                var prev = axes[axes.Count - 1];
                prev.Extent *= ax.Extent;
                prev.Stride = ax.Stride;
                prev.Table = Enumerable.Range(0, prev.Extent).Select(i => (int)(i * ax.Stride)).ToArray();
                continue;
            }
            axes.Add(ax);
        }
        if (axes.Count == 0)
            axes.Add(new Axis { Extent = 1, Table = new[] { 0 }, Affine = true, Stride = 1 });
        return axes;
    }

    private static void EmitMap(CodeWriter w, FixedOp op)
    {
        var axes = Normalize(op, out long baseOffset);
        string pad = EpilogueCode.Float(op.GetFloat("pad_value", 0f));
        int r = axes.Count;
        var last = axes[r - 1];
        int inner = last.Extent;
        long rows = axes.Take(r - 1).Aggregate(1L, (p, a) => p * a.Extent);
        for (int d = 0; d < r; d++)
        {
            if (!axes[d].Affine)
                FixedEmit.IntTable(w, Invariant($"T{d}"), axes[d].Table);
        }
        int seg = inner > FixedEmit.Grain ? FixedEmit.Grain : inner;
        int segs = (inner + seg - 1) / seg;
        FixedEmit.ParallelFor(w, rows * segs, seg, () =>
        {
            w.Line(segs > 1 ? Invariant($"int row = item / {segs}, i = (item - row * {segs}) * {seg}, end = Math.Min({inner}, i + {seg});") : Invariant($"int row = item, i = 0, end = {inner};"));
            FixedEmit.Coordinates(w, "row", axes.Take(r - 1).Select(a => a.Extent).ToArray(), "c");
            w.Line(Invariant($"long off = {baseOffset};"));
            w.Line(Invariant($"float* o = a.Out + (long)row * {inner};"));
            for (int d = 0; d < r - 1; d++)
            {
                if (axes[d].Affine)
                {
                    if (axes[d].Stride != 0)
                        w.Line(Invariant($"off += (long)c{d} * {axes[d].Stride};"));
                }
                else if (axes[d].HasInvalid)
                {
                    w.Line(Invariant($"int t{d} = T{d}[c{d}];"));
                    w.Line(Invariant($"if (t{d} == int.MinValue) {{ new Span<float>(o + i, end - i).Fill({pad}); continue; }}"));
                    w.Line(Invariant($"off += t{d};"));
                }
                else
                {
                    w.Line(Invariant($"off += T{d}[c{d}];"));
                }
            }
            w.Line("float* src = a.In[0] + off;");
            if (last.Affine && last.Stride == 1)
                w.Line("Buffer.MemoryCopy(src + i, o + i, (end - i) * 4L, (end - i) * 4L);");
            else if (last.Affine && last.Stride == 0)
                w.Line("new Span<float>(o + i, end - i).Fill(src[0]);");
            else if (last.Affine)
                w.Line(Invariant($"for (; i < end; i++) o[i] = src[(long)i * {last.Stride}];"));
            else
            {
                w.Line(Invariant($"ReadOnlySpan<int> tl = T{r - 1};"));
                w.Line(last.HasInvalid
                    ? $"for (; i < end; i++) {{ int tt = tl[i]; o[i] = tt == int.MinValue ? {pad} : src[tt]; }}"
                    : "for (; i < end; i++) o[i] = src[tl[i]];");
            }
        });
    }

    /// <summary>
    /// The H and W maps in NCHW[b]c units (ih * W * b, iw * b) when the map keeps N and C as they
    /// are (Pad and Resize on H/W), or null.
    /// </summary>
    private static (int[] H, int[] W)? BlockedMaps(FixedOp op)
    {
        int[] x = op.Inputs[0], y = op.Output;
        if (x.Length != 4 || y.Length != 4 || x[0] != y[0] || x[1] != y[1] || op.GetInt("map_base", 0) != 0 || op.Has("constant_inputs"))
            return null;
        var m = Maps(op);
        int b = op.Block;
        for (int n = 0; n < y[0]; n++)
        {
            if (m[0][n] != n * x[1] * x[2] * x[3])
                return null;
        }
        for (int c = 0; c < y[1]; c++)
        {
            if (m[1][c] != c * x[2] * x[3])
                return null;
        }
        var hs = new int[y[2]];
        for (int i = 0; i < y[2]; i++)
        {
            int v = m[2][i];
            if (v != Invalid && (v < 0 || v % x[3] != 0 || v / x[3] >= x[2]))
                return null;
            hs[i] = v == Invalid ? Invalid : v / x[3] * x[3] * b;
        }
        var ws = new int[y[3]];
        for (int i = 0; i < y[3]; i++)
        {
            int v = m[3][i];
            if (v != Invalid && (v < 0 || v >= x[3]))
                return null;
            ws[i] = v == Invalid ? Invalid : v * b;
        }
        return (hs, ws);
    }

    private static void EmitBlockedMap(CodeWriter w, FixedOp op)
    {
        var (hs, ws) = BlockedMaps(op)!.Value;
        int[] x = op.Inputs[0], y = op.Output;
        int b = op.Block, cb = EmitterShared.Blocks(y[1], b), rem = y[1] % b;
        float pad = op.GetFloat("pad_value", 0f);
        FixedEmit.IntTable(w, "TH", hs);
        FixedEmit.IntTable(w, "TW", ws);
        bool anyInvalid = hs.Contains(Invalid) || ws.Contains(Invalid);
        if (anyInvalid)
        {
            // Pad lanes per channel block position: the pad value in real channels, zero past C.
            FixedEmit.FloatTable(w, "PadFull", Enumerable.Repeat(pad, b));
            FixedEmit.FloatTable(w, "PadLast", Enumerable.Range(0, b).Select(l => rem == 0 || l < rem ? pad : 0f));
        }
        FixedEmit.ParallelFor(w, (long)y[0] * cb * y[2], (long)y[3] * b, () =>
        {
            w.Line(Invariant($"int oh = item % {y[2]}, plane = item / {y[2]};"));
            w.Line(Invariant($"float* o = a.Out + (long)item * {y[3] * b};"));
            w.Line(Invariant($"float* src = a.In[0] + (long)plane * {x[2] * x[3] * b};"));
            w.Line("int th = TH[oh];");
            if (anyInvalid)
            {
                w.Line(Invariant($"ReadOnlySpan<float> padLanes = plane % {cb} == {cb - 1} ? PadLast : PadFull;"));
                w.Line(Invariant($"if (th == int.MinValue) {{ for (int ow = 0; ow < {y[3]}; ow++) padLanes.CopyTo(new Span<float>(o + ow * {b}, {b})); continue; }}"));
            }
            w.Line("float* srcRow = src + th;");
            w.Block(Invariant($"for (int ow = 0; ow < {y[3]}; ow++)"), () =>
            {
                w.Line("int tw = TW[ow];");
                if (anyInvalid)
                    w.Line(Invariant($"if (tw == int.MinValue) {{ padLanes.CopyTo(new Span<float>(o + ow * {b}, {b})); continue; }}"));
                w.Line(Invariant($"Buffer.MemoryCopy(srcRow + tw, o + ow * {b}, {b * 4}, {b * 4});"));
            });
        });
    }
}
