using System;
using System.Linq;
using static System.FormattableString;

namespace AutoKernel.Generator.Kernels.Fixed;

/// <summary>
/// LayerNormalization (attribute "axis" normalized, "epsilon"; inputs X, Scale, optional B whose
/// element counts are the normalized size or 1), RMSNormalization (the same without B and without
/// subtracting the mean), InstanceNormalization ("epsilon"; X, scale[C],
/// B[C]) and LRN ("size", "alpha", "beta", "bias"). Statistics in double, as the reference.
/// Unfused BatchNormalization is elementwise (see Elementwise).
/// </summary>
internal static class Normalization
{
    public static bool Supports(FixedOp op)
    {
        if (op.Block != 0 || op.Inputs.Count == 0 || !op.Inputs[0].SequenceEqual(op.Output))
            return false;
        int[] x = op.Inputs[0];
        switch (op.OpType)
        {
            case "LayerNormalization":
            case "RMSNormalization":
            {
                int axis = op.GetInt("axis", -1);
                if (axis < 0 || axis >= x.Length || op.Inputs.Count is < 2 or > 3 || (op.OpType == "RMSNormalization" && op.Inputs.Count != 2))
                    return false;
                int[] normalized = x.Skip(axis).ToArray();
                return op.Inputs.Skip(1).All(s => Broadcasts(s, normalized));
            }
            case "InstanceNormalization":
                return x.Length >= 3 && op.Inputs.Count == 3 && FixedEmit.Count(op.Inputs[1]) == x[1] && FixedEmit.Count(op.Inputs[2]) == x[1];
            case "LRN":
                return x.Length >= 3 && op.Inputs.Count == 1 && op.GetInt("size", 0) >= 1;
            default:
                return false;
        }
    }

    public static void Emit(CodeWriter w, FixedOp op, CpuTarget t)
    {
        int[] x = op.Inputs[0];
        string eps = Invariant($"(double){EpilogueCode.Float(op.GetFloat("epsilon", 1e-5f))}");
        switch (op.OpType)
        {
            case "LayerNormalization":
            {
                int axis = op.GetInt("axis", -1);
                long size = x.Skip(axis).Aggregate(1L, (p, d) => p * d);
                long rows = FixedEmit.Count(x) / Math.Max(1, size);
                int[] normalized = x.Skip(axis).ToArray();
                string s = Operand(w, op, 1, normalized, "Scale");
                string b = op.Inputs.Count < 3 ? "0.0" : Operand(w, op, 2, normalized, "Bias");
                FixedEmit.ParallelFor(w, rows, size * 3, () =>
                {
                    w.Line(Invariant($"float* src = a.In[0] + (long)item * {size}, dst = a.Out + (long)item * {size};"));
                    Normalize(w, size, eps, s, b);
                });
                return;
            }
            case "RMSNormalization":
            {
                int axis = op.GetInt("axis", -1);
                long size = x.Skip(axis).Aggregate(1L, (p, d) => p * d);
                long rows = FixedEmit.Count(x) / Math.Max(1, size);
                string s = Operand(w, op, 1, x.Skip(axis).ToArray(), "Scale");
                FixedEmit.ParallelFor(w, rows, size * 2, () =>
                {
                    w.Line(Invariant($"float* src = a.In[0] + (long)item * {size}, dst = a.Out + (long)item * {size};"));
                    w.Line("double squares = 0;");
                    w.Line(Invariant($"for (long i = 0; i < {size}; i++) squares += (double)src[i] * src[i];"));
                    w.Line(Invariant($"double inv = 1 / Math.Sqrt(squares / {size} + {eps});"));
                    w.Line(Invariant($"for (long i = 0; i < {size}; i++) dst[i] = (float)(src[i] * inv * {s});"));
                });
                return;
            }
            case "InstanceNormalization":
            {
                long size = x.Skip(2).Aggregate(1L, (p, d) => p * d);
                FixedEmit.ParallelFor(w, (long)x[0] * x[1], size * 3, () =>
                {
                    w.Line(Invariant($"float* src = a.In[0] + (long)item * {size}, dst = a.Out + (long)item * {size};"));
                    w.Line(Invariant($"int ch = item % {x[1]};"));
                    Normalize(w, size, eps, "a.In[1][ch]", "a.In[2][ch]");
                });
                return;
            }
            default:
            {
                int size = op.GetInt("size", 1), before = (size - 1) / 2, after = size - 1 - before;
                int c = x[1];
                long plane = x.Skip(2).Aggregate(1L, (p, d) => p * d);
                string alpha = EpilogueCode.Float(op.GetFloat("alpha", 1e-4f)), beta = EpilogueCode.Float(op.GetFloat("beta", 0.75f)), bias = EpilogueCode.Float(op.GetFloat("bias", 1f));
                FixedEmit.ParallelFor(w, (long)x[0] * c, plane * size, () =>
                {
                    w.Line(Invariant($"int ch = item % {c}, n = item / {c};"));
                    w.Line(Invariant($"int j0 = Math.Max(0, ch - {before}), j1 = Math.Min({c - 1}, ch + {after});"));
                    w.Line(Invariant($"float* basep = a.In[0] + (long)n * {c * plane};"));
                    w.Line(Invariant($"float* src = basep + (long)ch * {plane}, dst = a.Out + (long)item * {plane};"));
                    w.Block(Invariant($"for (long i = 0; i < {plane}; i++)"), () =>
                    {
                        w.Line("double sq = 0;");
                        w.Line(Invariant($"for (int j = j0; j <= j1; j++) {{ double v = basep[j * {plane} + i]; sq += v * v; }}"));
                        w.Line(Invariant($"dst[i] = (float)(src[i] / Math.Pow((double){bias} + (double){alpha} / {size} * sq, (double){beta}));"));
                    });
                });
                return;
            }
        }
    }

    /// <summary>True when <paramref name="shape"/> broadcasts (numpy rules, aligned right) to <paramref name="normalized"/>.</summary>
    private static bool Broadcasts(int[] shape, int[] normalized)
    {
        if (shape.Length > normalized.Length)
            return shape.Take(shape.Length - normalized.Length).All(d => d == 1) && Broadcasts(shape.Skip(shape.Length - normalized.Length).ToArray(), normalized);
        int lead = normalized.Length - shape.Length;
        return shape.Select((d, k) => d == 1 || d == normalized[lead + k]).All(ok => ok);
    }

    /// <summary>
    /// The expression for element i (of the normalized row) of input <paramref name="index"/>: the
    /// element itself when it has the row's size, element 0 when it is one value, else through a
    /// table of broadcast offsets.
    /// </summary>
    private static string Operand(CodeWriter w, FixedOp op, int index, int[] normalized, string table)
    {
        int[] shape = op.Inputs[index];
        long count = FixedEmit.Count(shape), size = FixedEmit.Count(normalized);
        if (count == 1)
            return Invariant($"a.In[{index}][0]");
        if (count == size)
            return Invariant($"a.In[{index}][i]");
        int[] aligned = shape.Length >= normalized.Length
            ? shape.Skip(shape.Length - normalized.Length).ToArray()
            : Enumerable.Repeat(1, normalized.Length - shape.Length).Concat(shape).ToArray();
        int[] strides = FixedEmit.Strides(aligned);
        var offsets = new int[size];
        for (int i = 0; i < size; i++)
        {
            long rest = i, offset = 0;
            for (int d = normalized.Length - 1; d >= 0; d--)
            {
                long coordinate = rest % normalized[d];
                rest /= normalized[d];
                if (aligned[d] != 1)
                    offset += coordinate * strides[d];
            }
            offsets[i] = (int)offset;
        }
        FixedEmit.IntTable(w, table, offsets);
        return Invariant($"a.In[{index}][{table}[(int)i]]");
    }

    private static void Normalize(CodeWriter w, long size, string eps, string scale, string bias)
    {
        w.Line("double mean = 0;");
        w.Line(Invariant($"for (long i = 0; i < {size}; i++) mean += src[i];"));
        w.Line(Invariant($"mean /= {size};"));
        w.Line("double variance = 0;");
        w.Line(Invariant($"for (long i = 0; i < {size}; i++) {{ double dv = src[i] - mean; variance += dv * dv; }}"));
        w.Line(Invariant($"variance /= {size};"));
        w.Line($"double inv = 1 / Math.Sqrt(variance + {eps});");
        w.Line(Invariant($"for (long i = 0; i < {size}; i++) dst[i] = (float)((src[i] - mean) * inv * {scale} + {bias});"));
    }
}
