using System;
using System.Linq;
using static System.FormattableString;

namespace AutoKernel.Generator.Kernels.Fixed;

/// <summary>
/// Softmax and LogSoftmax over attribute "axis" (normalized); "coerce" = 1 normalizes over all
/// axes from "axis" on (the 2-D coercion before opset 13). Max-subtracted, accumulated in double.
/// One work item per normalized row (contiguous) or per column of an inner axis.
/// </summary>
internal static class Softmax
{
    public static bool Supports(FixedOp op)
    {
        if (op.OpType is not ("Softmax" or "LogSoftmax") || op.Inputs.Count != 1 || op.Block != 0)
            return false;
        int[] x = op.Inputs[0];
        int axis = op.GetInt("axis", -1);
        bool coerce = op.GetInt("coerce", 0) != 0;
        return x.SequenceEqual(op.Output) && (x.Length == 0 || (axis >= 0 && (axis < x.Length || (coerce && axis == x.Length))));
    }

    public static void Emit(CodeWriter w, FixedOp op, CpuTarget t)
    {
        int[] x = op.Inputs[0];
        int axis = op.GetInt("axis", 0);
        bool coerce = op.GetInt("coerce", 0) != 0;
        bool log = op.OpType == "LogSoftmax";
        long outer, length, inner;
        if (x.Length == 0)
        {
            outer = length = inner = 1;
        }
        else if (coerce)
        {
            outer = x.Take(axis).Aggregate(1L, (p, d) => p * d);
            length = x.Skip(axis).Aggregate(1L, (p, d) => p * d);
            inner = 1;
        }
        else
        {
            outer = x.Take(axis).Aggregate(1L, (p, d) => p * d);
            length = x[axis];
            inner = x.Skip(axis + 1).Aggregate(1L, (p, d) => p * d);
        }
        FixedEmit.ParallelFor(w, outer * inner, length * 4, () =>
        {
            w.Line(inner == 1
                ? Invariant($"long start = (long)item * {length};")
                : Invariant($"long start = (long)(item / {inner}) * {length * inner} + item % {inner};"));
            w.Line("float* src = a.In[0] + start, dst = a.Out + start;");
            w.Line("double max = double.NegativeInfinity;");
            w.Line(Invariant($"for (long j = 0; j < {length}; j++) max = Math.Max(max, src[j * {inner}]);"));
            w.Line("double sum = 0;");
            w.Line(Invariant($"for (long j = 0; j < {length}; j++) sum += Math.Exp(src[j * {inner}] - max);"));
            if (log)
            {
                w.Line("double logSum = Math.Log(sum);");
                w.Line(Invariant($"for (long j = 0; j < {length}; j++) dst[j * {inner}] = (float)(src[j * {inner}] - max - logSum);"));
            }
            else
            {
                w.Line(Invariant($"for (long j = 0; j < {length}; j++) dst[j * {inner}] = (float)(Math.Exp(src[j * {inner}] - max) / sum);"));
            }
        });
    }
}
