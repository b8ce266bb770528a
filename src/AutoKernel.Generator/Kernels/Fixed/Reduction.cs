using System;
using System.Collections.Generic;
using System.Linq;
using static System.FormattableString;

namespace AutoKernel.Generator.Kernels.Fixed;

/// <summary>
/// ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2, ReduceSumSquare,
/// ReduceLogSum and ReduceLogSumExp over the sorted, normalized attribute "axes" (the output shape
/// says whether dims are kept; no axes maps each element on its own). Axes are merged into kept and
/// reduced groups; a reduced inner run is reduced with vectors, a kept inner run accumulates whole
/// vectors of outputs over the reduced offsets. ReduceLogSumExp takes two passes per output (the
/// maximum, then the sum of shifted exponentials), so large inputs do not overflow.
/// </summary>
internal static class Reduction
{
    private static readonly string[] Ops =
    {
        "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
        "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp",
    };

    public static bool Supports(FixedOp op)
    {
        if (Array.IndexOf(Ops, op.OpType) < 0 || op.Inputs.Count != 1 || op.Block != 0)
            return false;
        int[] x = op.Inputs[0];
        int[] axes = op.GetInts("axes");
        if (axes.Any(a => a < 0 || a >= x.Length) || axes.Distinct().Count() != axes.Length)
            return false;
        long outCount = Enumerable.Range(0, x.Length).Where(d => Array.IndexOf(axes, d) < 0).Aggregate(1L, (p, d) => p * x[d]);
        return FixedEmit.Count(op.Output) == outCount && x.All(d => d > 0);
    }

    public static void Emit(CodeWriter w, FixedOp op, CpuTarget t)
    {
        int[] x = op.Inputs[0];
        var axes = new HashSet<int>(op.GetInts("axes"));
        int[] strides = FixedEmit.Strides(x);
        // Groups of (extent, stride, reduced) with size-1 axes dropped and neighbours of one kind merged.
        var groups = new List<(long Extent, long Stride, bool Reduced)>();
        for (int d = 0; d < x.Length; d++)
        {
            if (x[d] == 1)
                continue;
            bool red = axes.Contains(d);
            if (groups.Count > 0 && groups[groups.Count - 1].Reduced == red)
            {
                var g = groups[groups.Count - 1];
                groups[groups.Count - 1] = (g.Extent * x[d], strides[d], red);
                continue;
            }
            groups.Add((x[d], strides[d], red));
        }
        var kept = groups.Where(g => !g.Reduced).ToList();
        var reduced = groups.Where(g => g.Reduced).ToList();
        long r = reduced.Aggregate(1L, (p, g) => p * g.Extent);
        string kind = op.OpType;
        string V = t.VectorClass;
        int vf = t.VectorFloats;
        string init = kind switch { "ReduceMax" => "float.NegativeInfinity", "ReduceMin" => "float.PositiveInfinity", "ReduceProd" => "1f", _ => "0f" };
        // Combine folds two partial results; SAcc and VAcc first map the element (|v|, v*v).
        string Combine(string acc, string v) => kind switch
        {
            // IEEE Max/Min, not the native forms: either operand may be NaN, and a NaN must win.
            "ReduceMax" => $"MathF.Max({acc}, {v})",
            "ReduceMin" => $"MathF.Min({acc}, {v})",
            "ReduceProd" => $"{acc} * {v}",
            _ => $"{acc} + {v}",
        };
        string SAcc(string acc, string v) => kind switch
        {
            "ReduceL1" => Combine(acc, $"MathF.Abs({v})"),
            "ReduceL2" or "ReduceSumSquare" => Combine(acc, $"{v} * {v}"),
            _ => Combine(acc, v),
        };
        string VAcc(string acc, string v) => kind switch
        {
            "ReduceMax" => $"{V}.Max({acc}, {v})",
            "ReduceMin" => $"{V}.Min({acc}, {v})",
            "ReduceProd" => $"{acc} * {v}",
            "ReduceL1" => $"{acc} + {V}.Abs({v})",
            "ReduceL2" or "ReduceSumSquare" => $"{acc} + {v} * {v}",
            _ => $"{acc} + {v}",
        };
        string Finish(string acc) => kind switch
        {
            "ReduceMean" => Invariant($"{acc} / {r}f"),
            "ReduceL2" => $"MathF.Sqrt({acc})",
            "ReduceLogSum" => $"MathF.Log({acc})",
            _ => acc,
        };
        bool finishes = kind is "ReduceMean" or "ReduceL2" or "ReduceLogSum";
        bool logSumExp = kind == "ReduceLogSumExp";

        // Offsets of every reduced position (row-major over the reduced groups).
        var offsets = new List<long> { 0 };
        foreach (var g in reduced)
            offsets = offsets.SelectMany(o => Enumerable.Range(0, (int)g.Extent).Select(i => o + i * g.Stride)).ToList();
        bool lastReduced = groups.Count > 0 && groups[groups.Count - 1].Reduced;
        bool contiguous = reduced.Count == 1 && lastReduced && reduced[0].Stride == 1 && !logSumExp;
        if (!contiguous)
            FixedEmit.IntTable(w, "Red", offsets.Select(v => (int)v));
        if (!lastReduced && kept.Count > 0 && !logSumExp)
        {
            // Kept inner run: whole rows of outputs accumulate over the reduced offsets.
            var inner = kept[kept.Count - 1];
            var outer = kept.Take(kept.Count - 1).ToList();
            long rows = outer.Aggregate(1L, (p, g) => p * g.Extent);
            FixedEmit.ParallelFor(w, rows, inner.Extent * r, () =>
            {
                FixedEmit.Coordinates(w, "item", outer.Select(g => (int)g.Extent).ToArray(), "c");
                string baseOff = string.Join(" + ", new[] { "0L" }.Concat(outer.Select((g, d) => Invariant($"(long)c{d} * {g.Stride}"))));
                w.Line($"float* src = a.In[0] + {baseOff};");
                w.Line(Invariant($"float* o = a.Out + (long)item * {inner.Extent};"));
                w.Line(Invariant($"for (int i = 0; i < {inner.Extent}; i++) o[i] = {init};"));
                w.Block(Invariant($"for (int q = 0; q < {r}; q++)"), () =>
                {
                    w.Line("float* p = src + Red[q];");
                    w.Line("int i = 0;");
                    w.Block($"if ({FixedEmit.Fast(t)})", () =>
                        w.Line(Invariant($"for (; i + {vf} <= {inner.Extent}; i += {vf}) {V}.Store({VAcc($"{V}.Load(o + i)", $"{V}.Load(p + i)")}, o + i);")));
                    w.Line(Invariant($"for (; i < {inner.Extent}; i++) o[i] = {SAcc("o[i]", "p[i]")};"));
                });
                if (finishes)
                    w.Line(Invariant($"for (int i = 0; i < {inner.Extent}; i++) o[i] = {Finish("o[i]")};"));
            });
            return;
        }
        long outputs = kept.Aggregate(1L, (p, g) => p * g.Extent);
        FixedEmit.ParallelFor(w, outputs, r, () =>
        {
            FixedEmit.Coordinates(w, "item", kept.Select(g => (int)g.Extent).ToArray(), "c");
            string baseOff = string.Join(" + ", new[] { "0L" }.Concat(kept.Select((g, d) => Invariant($"(long)c{d} * {g.Stride}"))));
            w.Line($"float* src = a.In[0] + {baseOff};");
            w.Line($"float acc = {init};");
            if (logSumExp)
            {
                w.Line("ReadOnlySpan<int> red = Red;");
                w.Line("float m = float.NegativeInfinity;");
                w.Line(Invariant($"for (int q = 0; q < {r}; q++) m = MathF.Max(m, src[red[q]]);"));
                w.Line(Invariant($"for (int q = 0; q < {r}; q++) acc += MathF.Exp(src[red[q]] - m);"));
                // An infinite or NaN maximum is the answer itself; the shifted sum would be NaN.
                w.Line("a.Out[item] = float.IsFinite(m) ? MathF.Log(acc) + m : m;");
                return;
            }
            if (contiguous)
            {
                w.Line("long i = 0;");
                w.Block(Invariant($"if ({FixedEmit.Fast(t)} && {r} >= {vf})"), () =>
                {
                    w.Line(kind switch { "ReduceMax" => $"var v = {V}.Create(float.NegativeInfinity);", "ReduceMin" => $"var v = {V}.Create(float.PositiveInfinity);", "ReduceProd" => $"var v = {V}<float>.One;", _ => $"var v = {V}<float>.Zero;" });
                    w.Line(Invariant($"for (; i + {vf} <= {r}; i += {vf}) v = {VAcc("v", $"{V}.Load(src + i)")};"));
                    w.Line(Invariant($"for (int l = 0; l < {vf}; l++) acc = {Combine("acc", "v.GetElement(l)")};"));
                });
                w.Line(Invariant($"for (; i < {r}; i++) acc = {SAcc("acc", "src[i]")};"));
            }
            else
            {
                w.Line("ReadOnlySpan<int> red = Red;");
                w.Line(Invariant($"for (int q = 0; q < {r}; q++) acc = {SAcc("acc", "src[red[q]]")};"));
            }
            w.Line($"a.Out[item] = {Finish("acc")};");
        });
    }
}
