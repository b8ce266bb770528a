using System;
using System.Collections.Generic;
using System.Linq;
using static System.FormattableString;

namespace AutoKernel.Generator.Kernels.Fixed;

/// <summary>
/// Broadcasting unary, binary and variadic elementwise operators (numpy broadcasting over the
/// logical shapes), Where, Clip with computed bounds, PRelu, unfused BatchNormalization, each
/// followed by the optional "activation" attributes. Standard layout: axes are merged and the
/// contiguous inner axis is vectorized; NCHW[b]c: computed inputs share the output's channels
/// and constants broadcast per channel; padded channels are written as zero. NaN propagates as in
/// the reference: Min, Max and Clip's value keep a NaN (IEEE Min/Max where either operand may be NaN).
/// </summary>
internal static class Elementwise
{
    private static readonly HashSet<string> Unary = new(StringComparer.Ordinal)
    { "Activation", "Neg", "Abs", "Sqrt", "Exp", "Log", "Reciprocal", "Floor", "Ceil", "Erf", "Softsign", "Copy" };

    private static readonly HashSet<string> Binary = new(StringComparer.Ordinal)
    { "Add", "Sub", "Mul", "Div", "Pow", "Mod", "PRelu" };

    private static readonly HashSet<string> Variadic = new(StringComparer.Ordinal) { "Sum", "Mean", "Min", "Max" };

    private sealed class Operand
    {
        public int[] Shape = new int[0];
        public string Pointer = "";
        public bool Constant;
    }

    private static List<Operand>? Operands(FixedOp op)
    {
        var list = new List<Operand>();
        if (op.OpType == "Where" && op.Has("condition"))
        {
            int[] cs = op.GetInts("condition_shape");
            if (FixedEmit.Count(cs) != op.GetFloats("condition").Length)
                return null;
            list.Add(new Operand { Shape = cs, Pointer = "cond", Constant = true });
        }
        for (int i = 0; i < op.Inputs.Count; i++)
            list.Add(new Operand { Shape = op.Inputs[i], Pointer = Invariant($"a.In[{i}]"), Constant = FixedEmit.InputBlock(op, i) == 0 });
        return list;
    }

    private static int Arity(FixedOp op) => op.OpType switch
    {
        _ when Unary.Contains(op.OpType) => 1,
        _ when Binary.Contains(op.OpType) => 2,
        "Where" => 3,
        "Clip" => 3,
        "BatchNormalization" => 5,
        _ => -1,
    };

    public static bool Supports(FixedOp op)
    {
        bool variadic = Variadic.Contains(op.OpType);
        if (!variadic && Arity(op) < 0)
            return false;
        if (!FixedEmit.KnownActivation(op) || (op.OpType == "Activation" && op.GetString("activation", "").Length == 0))
            return false;
        var operands = Operands(op);
        if (operands is null || (variadic ? operands.Count < 1 : operands.Count != Arity(op)))
            return false;
        if (operands.Any(o => FixedEmit.BroadcastStrides(o.Shape, op.Output) is null))
            return false;
        int[] y = op.Output;
        if (op.Block == 0)
            return true;
        if (op.OpType == "Where" && op.Has("condition"))
            return false;
        for (int i = 0; i < op.Inputs.Count; i++)
        {
            int[] s = op.Inputs[i];
            if (FixedEmit.InputBlock(op, i) > 0)
            {
                if (s.Length != 4 || s[1] != y[1] || (s[0] != y[0] && s[0] != 1) || (s[2] != y[2] && s[2] != 1) || (s[3] != y[3] && s[3] != 1))
                    return false;
            }
            else
            {
                int[] st = FixedEmit.BroadcastStrides(s, y)!;
                if (st[2] != 0 || st[3] != 0)
                    return false;
            }
        }
        return true;
    }

    /// <summary>The scalar expression over float variables <paramref name="x"/>.</summary>
    private static string Scalar(FixedOp op, string[] x) => op.OpType switch
    {
        "Activation" or "Copy" => x[0],
        "Neg" => $"-{x[0]}",
        "Abs" => $"MathF.Abs({x[0]})",
        "Sqrt" => $"MathF.Sqrt({x[0]})",
        "Exp" => $"(float)Math.Exp({x[0]})",
        "Log" => $"(float)Math.Log({x[0]})",
        "Reciprocal" => $"(1f / {x[0]})",
        "Floor" => $"MathF.Floor({x[0]})",
        "Ceil" => $"MathF.Ceiling({x[0]})",
        "Erf" => $"Erf({x[0]})",
        "Softsign" => $"({x[0]} / (1f + MathF.Abs({x[0]})))",
        "Add" => $"({x[0]} + {x[1]})",
        "Sub" => $"({x[0]} - {x[1]})",
        "Mul" => $"({x[0]} * {x[1]})",
        "Div" => $"({x[0]} / {x[1]})",
        "Pow" => $"(float)Math.Pow({x[0]}, {x[1]})",
        // Float Mod is fmod = 1: C's fmod, the sign of the dividend, which is what C# % computes.
        "Mod" => $"({x[0]} % {x[1]})",
        "PRelu" => $"({x[0]} < 0f ? {x[0]} * {x[1]} : {x[0]})",
        "Where" => $"({x[0]} != 0f ? {x[1]} : {x[2]})",
        // Bounds first: a NaN value comes through (see EpilogueCode), and min > max gives max.
        "Clip" => $"float.MinNative({x[2]}, float.MaxNative({x[1]}, {x[0]}))",
        "BatchNormalization" => $"({x[0]} * ({x[1]} / MathF.Sqrt({x[4]} + {EpilogueCode.Float(op.GetFloat("epsilon", 1e-5f))})) + ({x[2]} - {x[3]} * ({x[1]} / MathF.Sqrt({x[4]} + {EpilogueCode.Float(op.GetFloat("epsilon", 1e-5f))}))))",
        "Sum" => "(" + string.Join(" + ", x) + ")",
        "Mean" => Invariant($"(({string.Join(" + ", x)}) / {x.Length}f)"),
        "Min" => x.Skip(1).Aggregate(x[0], (acc, v) => $"MathF.Min({acc}, {v})"),
        "Max" => x.Skip(1).Aggregate(x[0], (acc, v) => $"MathF.Max({acc}, {v})"),
        _ => throw new InvalidOperationException(op.OpType),
    };

    /// <summary>The vector expression over vector variables, or null when the operator has none.</summary>
    private static string? Vector(FixedOp op, string[] v, string V)
    {
        string zero = $"{V}<float>.Zero", one = $"{V}<float>.One";
        return op.OpType switch
        {
            "Activation" or "Copy" => v[0],
            "Neg" => $"(-{v[0]})",
            "Abs" => $"{V}.Abs({v[0]})",
            "Sqrt" => $"{V}.Sqrt({v[0]})",
            "Reciprocal" => $"({one} / {v[0]})",
            "Floor" => $"{V}.Floor({v[0]})",
            "Ceil" => $"{V}.Ceiling({v[0]})",
            "Softsign" => $"({v[0]} / ({one} + {V}.Abs({v[0]})))",
            "Add" => $"({v[0]} + {v[1]})",
            "Sub" => $"({v[0]} - {v[1]})",
            "Mul" => $"({v[0]} * {v[1]})",
            "Div" => $"({v[0]} / {v[1]})",
            "PRelu" => $"{V}.ConditionalSelect({V}.LessThan({v[0]}, {zero}), {v[0]} * {v[1]}, {v[0]})",
            "Where" => $"{V}.ConditionalSelect({V}.Equals({v[0]}, {zero}), {v[2]}, {v[1]})",
            "Clip" => $"{V}.MinNative({v[2]}, {V}.MaxNative({v[1]}, {v[0]}))",
            "Sum" => "(" + string.Join(" + ", v) + ")",
            "Mean" => Invariant($"(({string.Join(" + ", v)}) / {V}.Create({v.Length}f))"),
            "Min" => v.Skip(1).Aggregate(v[0], (acc, x) => $"{V}.Min({acc}, {x})"),
            "Max" => v.Skip(1).Aggregate(v[0], (acc, x) => $"{V}.Max({acc}, {x})"),
            _ => null,
        };
    }

    public static void Emit(CodeWriter w, FixedOp op, CpuTarget t)
    {
        var operands = Operands(op)!;
        if (op.Has("condition"))
            FixedEmit.FloatTable(w, "Cond", op.GetFloats("condition"));
        if (op.OpType == "Erf")
            w.Line("//@table private static float Erf(float v) { double x = v, s = x < 0 ? -1 : 1; x = Math.Abs(x); double k = 1 / (1 + 0.5 * x); double y = 1 - k * Math.Exp(-x * x - 1.26551223 + k * (1.00002368 + k * (0.37409196 + k * (0.09678418 + k * (-0.18628806 + k * (0.27886807 + k * (-1.13520398 + k * (1.48851587 + k * (-0.82215223 + k * 0.17087277))))))))); return (float)(s * y); }");
        if (op.Block == 0)
            EmitStandard(w, op, t, operands);
        else
            EmitBlocked(w, op, t, operands);
    }

    private static void EmitStandard(CodeWriter w, FixedOp op, CpuTarget t, List<Operand> operands)
    {
        string V = t.VectorClass;
        int vf = t.VectorFloats;
        var e = FixedEmit.ActivationOf(op);
        // Merge axes: drop size-1 output axes, join neighbours that are contiguous for every operand.
        var dims = new List<int>();
        var strides = operands.Select(_ => new List<int>()).ToList();
        var full = operands.Select(o => FixedEmit.BroadcastStrides(o.Shape, op.Output)!).ToList();
        for (int d = 0; d < op.Output.Length; d++)
        {
            if (op.Output[d] == 1)
                continue;
            if (dims.Count > 0 && Enumerable.Range(0, operands.Count).All(k => strides[k][strides[k].Count - 1] == full[k][d] * op.Output[d]))
            {
                dims[dims.Count - 1] *= op.Output[d];
                for (int k = 0; k < operands.Count; k++)
                    strides[k][strides[k].Count - 1] = full[k][d];
                continue;
            }
            dims.Add(op.Output[d]);
            for (int k = 0; k < operands.Count; k++)
                strides[k].Add(full[k][d]);
        }
        if (dims.Count == 0)
        {
            dims.Add(1);
            foreach (var s in strides)
                s.Add(0);
        }
        int r = dims.Count, inner = dims[r - 1];
        long rows = dims.Take(r - 1).Aggregate(1L, (p, d) => p * d);
        int seg = inner > FixedEmit.Grain ? FixedEmit.Grain : inner;
        int segs = (inner + seg - 1) / seg;
        bool vector = Vector(op, operands.Select((_, k) => "v" + k).ToArray(), V) is not null;
        FixedEmit.ParallelFor(w, rows * segs, seg, () =>
        {
            w.Line(segs > 1 ? Invariant($"int row = item / {segs}, i = (item - row * {segs}) * {seg}, end = Math.Min({inner}, i + {seg});") : Invariant($"int row = item, i = 0, end = {inner};"));
            FixedEmit.Coordinates(w, "row", dims.Take(r - 1).ToArray(), "c");
            for (int k = 0; k < operands.Count; k++)
            {
                var terms = Enumerable.Range(0, r - 1).Where(d => strides[k][d] != 0).Select(d => Invariant($"c{d} * {strides[k][d]}")).ToList();
                string basePtr = operands[k].Pointer == "cond" ? "cond" : operands[k].Pointer;
                w.Line($"float* q{k} = {basePtr}{(terms.Count > 0 ? " + " + string.Join(" + ", terms) : "")};");
            }
            w.Line(Invariant($"float* o = a.Out + (long)row * {inner};"));
            if (vector)
            {
                w.Block($"if ({FixedEmit.Fast(t)})", () =>
                {
                    for (int k = 0; k < operands.Count; k++)
                    {
                        if (strides[k][r - 1] == 0)
                            w.Line($"var b{k} = {V}.Create(q{k}[0]);");
                    }
                    w.Block(Invariant($"for (; i + {vf} <= end; i += {vf})"), () =>
                    {
                        for (int k = 0; k < operands.Count; k++)
                            w.Line(strides[k][r - 1] == 0 ? $"var v{k} = b{k};" : $"var v{k} = {V}.Load(q{k} + i);");
                        w.Line($"var res = {Vector(op, operands.Select((_, k) => "v" + k).ToArray(), V)};");
                        w.Line($"{V}.Store({EpilogueCode.Vector(e, "res", V)}, o + i);");
                    });
                });
            }
            w.Block("for (; i < end; i++)", () =>
            {
                for (int k = 0; k < operands.Count; k++)
                    w.Line(strides[k][r - 1] == 0 ? $"float x{k} = q{k}[0];" : $"float x{k} = q{k}[i];");
                w.Line($"float res = {Scalar(op, operands.Select((_, k) => "x" + k).ToArray())};");
                w.Line($"o[i] = {EpilogueCode.Scalar(e, "res")};");
            });
        }, op.Has("condition") ? "fixed (float* cond = Cond)" : null);
    }

    private static void EmitBlocked(CodeWriter w, FixedOp op, CpuTarget t, List<Operand> operands)
    {
        string V = t.VectorClass;
        int vf = t.VectorFloats;
        var e = FixedEmit.ActivationOf(op);
        int[] y = op.Output;
        int b = op.Block, cb = EmitterShared.Blocks(y[1], b), rem = y[1] % b;
        bool vector = b % vf == 0 && Vector(op, operands.Select((_, k) => "v" + k).ToArray(), V) is not null;
        string[] lanesOf = new string[operands.Count];
        FixedEmit.ParallelFor(w, (long)y[0] * cb * y[2], (long)y[3] * b, () =>
        {
            w.Line(Invariant($"int h = item % {y[2]}, plane = item / {y[2]}, cb = plane % {cb}, n = plane / {cb};"));
            w.Line("_ = n; _ = h;");
            w.Line(Invariant($"float* o = a.Out + (long)item * {y[3] * b};"));
            for (int k = 0; k < operands.Count; k++)
            {
                int[] s = operands[k].Shape;
                if (!operands[k].Constant)
                {
                    string nk = s[0] == 1 ? "0" : "n", hk = s[2] == 1 ? "0" : "h";
                    w.Line(Invariant($"float* q{k} = {operands[k].Pointer} + (long)(({nk} * {cb} + cb) * {s[2]} + {hk}) * {s[3] * b};"));
                    lanesOf[k] = s[3] == 1 ? Invariant($"q{k} + l") : Invariant($"q{k} + x * {b} + l");
                }
                else
                {
                    int[] st = FixedEmit.BroadcastStrides(s, y)!;
                    w.Line(Invariant($"float* p{k} = {operands[k].Pointer};"));
                    w.Block(Invariant($"for (int l = 0; l < {b}; l++)"), () =>
                    {
                        w.Line(Invariant($"int ch = cb * {b} + l;"));
                        w.Line(Invariant($"lanes{k}[l] = ch < {y[1]} ? p{k}[n * {st[0]} + ch * {st[1]}] : 0f;"));
                    });
                    lanesOf[k] = Invariant($"lanes{k} + l");
                }
            }
            w.Block(Invariant($"for (int x = 0; x < {y[3]}; x++)"), () =>
            {
                w.Line("int l = 0;");
                if (vector)
                {
                    w.Block($"if ({FixedEmit.Fast(t)})", () =>
                    {
                        w.Block(Invariant($"for (; l < {b}; l += {vf})"), () =>
                        {
                            for (int k = 0; k < operands.Count; k++)
                                w.Line($"var v{k} = {V}.Load({lanesOf[k]});");
                            w.Line($"var res = {Vector(op, operands.Select((_, k) => "v" + k).ToArray(), V)};");
                            w.Line(Invariant($"{V}.Store({EpilogueCode.Vector(e, "res", V)}, o + x * {b} + l);"));
                        });
                    });
                }
                w.Block(Invariant($"for (; l < {b}; l++)"), () =>
                {
                    for (int k = 0; k < operands.Count; k++)
                        w.Line($"float x{k} = *({lanesOf[k]});");
                    w.Line($"float res = {Scalar(op, operands.Select((_, k) => "x" + k).ToArray())};");
                    w.Line(Invariant($"o[x * {b} + l] = {EpilogueCode.Scalar(e, "res")};"));
                });
                if (rem != 0)
                    w.Line(Invariant($"if (cb == {cb - 1}) for (int z = {rem}; z < {b}; z++) o[x * {b} + z] = 0f;"));
            });
        }, string.Join(" ", operands.Select((o, k) => o.Constant ? Invariant($"float* lanes{k} = stackalloc float[{b}];") : "").Where(s => s.Length > 0)) is { Length: > 0 } pro ? "PROLOGUE:" + pro : null);
    }
}
