using System;
using System.Collections.Generic;
using System.Linq;
using static System.FormattableString;

namespace AutoKernel.Generator.Kernels.Fixed;

/// <summary>
/// MatMul with numpy batch broadcasting (1-D operands promoted as ONNX says) and Gemm with
/// transA, transB, alpha, beta and a C broadcast to [M, N]; the fused forms add "bias" = 1 (Gemm:
/// C; MatMul: a bias over the last axis), "residual" = 1 (an input of the output's shape) and the
/// activation attributes. One work item per output row segment; the inner loop is a vectorized
/// axpy over N (or a vectorized dot over K when B is transposed).
/// </summary>
internal static class MatMul
{
    private sealed class Plan
    {
        public int M, N, K;
        public int[] Batch = new int[0];
        public int[] ABatchStrides = new int[0], BBatchStrides = new int[0];
        public long AMat, BMat;
        public bool TransA, TransB;
        public int CIndex = -1, RIndex = -1;
        public int[] CStrides = new int[0];
    }

    private static Plan? Build(FixedOp op)
    {
        bool gemm = op.OpType == "Gemm";
        if (!gemm && op.OpType != "MatMul")
            return null;
        if (op.Block != 0 || !FixedEmit.KnownActivation(op))
            return null;
        bool bias = op.GetInt("bias", 0) != 0, residual = op.GetInt("residual", 0) != 0;
        int expected = 2 + (bias ? 1 : 0) + (residual ? 1 : 0);
        if (op.Inputs.Count != expected)
            return null;
        int[] a = op.Inputs[0], b = op.Inputs[1];
        var p = new Plan();
        if (gemm)
        {
            if (a.Length != 2 || b.Length != 2)
                return null;
            p.TransA = op.GetInt("transA", 0) != 0;
            p.TransB = op.GetInt("transB", 0) != 0;
            p.M = p.TransA ? a[1] : a[0];
            p.K = p.TransA ? a[0] : a[1];
            p.N = p.TransB ? b[0] : b[1];
            if ((p.TransB ? b[1] : b[0]) != p.K || !op.Output.SequenceEqual(new[] { p.M, p.N }))
                return null;
            p.AMat = 0;
            p.BMat = 0;
        }
        else
        {
            if (a.Length == 0 || b.Length == 0)
                return null;
            int[] a2 = a.Length == 1 ? new[] { 1, a[0] } : a;
            int[] b2 = b.Length == 1 ? new[] { b[0], 1 } : b;
            p.M = a2[a2.Length - 2];
            p.K = a2[a2.Length - 1];
            p.N = b2[b2.Length - 1];
            if (b2[b2.Length - 2] != p.K)
                return null;
            int[] ab = a2.Take(a2.Length - 2).ToArray(), bb = b2.Take(b2.Length - 2).ToArray();
            int rank = Math.Max(ab.Length, bb.Length);
            var batch = new int[rank];
            for (int d = 0; d < rank; d++)
            {
                int da = d < rank - ab.Length ? 1 : ab[d - (rank - ab.Length)];
                int db = d < rank - bb.Length ? 1 : bb[d - (rank - bb.Length)];
                if (da != db && da != 1 && db != 1)
                    return null;
                batch[d] = Math.Max(da, db);
            }
            p.Batch = batch;
            p.AMat = (long)p.M * p.K;
            p.BMat = (long)p.K * p.N;
            p.ABatchStrides = FixedEmit.BroadcastStrides(ab, batch)!;
            p.BBatchStrides = FixedEmit.BroadcastStrides(bb, batch)!;
            long outCount = batch.Aggregate(1L, (x, d) => x * d) * p.M * p.N;
            if (FixedEmit.Count(op.Output) != outCount)
                return null;
        }
        int next = 2;
        if (bias)
        {
            p.CIndex = next++;
            if (gemm)
            {
                var cs = FixedEmit.BroadcastStrides(op.Inputs[p.CIndex], new[] { p.M, p.N });
                if (cs is null)
                    return null;
                p.CStrides = cs;
            }
            else
            {
                if (FixedEmit.Count(op.Inputs[p.CIndex]) != p.N)
                    return null;
                p.CStrides = new[] { 0, p.N == 1 ? 0 : 1 };
            }
        }
        if (residual)
        {
            p.RIndex = next;
            if (FixedEmit.Count(op.Inputs[p.RIndex]) != FixedEmit.Count(op.Output))
                return null;
        }
        return p;
    }

    public static bool Supports(FixedOp op) => Build(op) is not null;

    public static void Emit(CodeWriter w, FixedOp op, CpuTarget t)
    {
        var p = Build(op)!;
        string V = t.VectorClass;
        int vf = t.VectorFloats;
        bool gemm = op.OpType == "Gemm";
        var e = FixedEmit.ActivationOf(op);
        float alpha = gemm ? op.GetFloat("alpha", 1f) : 1f, beta = gemm ? op.GetFloat("beta", 1f) : 1f;
        long batches = p.Batch.Aggregate(1L, (x, d) => x * d);
        long rows = batches * p.M;
        // Column segments so that small-M products still spread over the pool.
        int seg = rows >= 16 ? p.N : Math.Max(vf, (p.N / 16 + vf - 1) / vf * vf);
        seg = Math.Min(seg, Math.Max(1, p.N));
        int segs = (p.N + seg - 1) / seg;
        FixedEmit.ParallelFor(w, rows * segs, (long)seg * p.K, () =>
        {
            w.Line(Invariant($"int row = item / {segs}, n0 = (item - row * {segs}) * {seg}, n1 = Math.Min({p.N}, n0 + {seg});"));
            w.Line(Invariant($"int m = row % {p.M}, bi = row / {p.M};"));
            w.Line("_ = bi;");
            var aTerms = new List<string> { "0L" };
            var bTerms = new List<string> { "0L" };
            if (p.Batch.Length > 0)
            {
                FixedEmit.Coordinates(w, "bi", p.Batch, "c");
                for (int d = 0; d < p.Batch.Length; d++)
                {
                    if (p.ABatchStrides[d] != 0)
                        aTerms.Add(Invariant($"(long)c{d} * {p.ABatchStrides[d] * p.AMat}"));
                    if (p.BBatchStrides[d] != 0)
                        bTerms.Add(Invariant($"(long)c{d} * {p.BBatchStrides[d] * p.BMat}"));
                }
            }
            w.Line($"float* A = a.In[0] + {string.Join(" + ", aTerms)};");
            w.Line($"float* B = a.In[1] + {string.Join(" + ", bTerms)};");
            w.Line(Invariant($"float* o = a.Out + (long)row * {p.N};"));
            string aAt(string k) => p.TransA ? Invariant($"A[(long){k} * {p.M} + m]") : Invariant($"A[(long)m * {p.K} + {k}]");
            if (p.TransB)
            {
                w.Line(Invariant($"float* arow = A + (long)m * {p.K};"));
                w.Block("for (int n = n0; n < n1; n++)", () =>
                {
                    w.Line(Invariant($"float* brow = B + (long)n * {p.K};"));
                    w.Line("float sum = 0f;");
                    w.Line("int k = 0;");
                    if (!p.TransA)
                    {
                        w.Block(Invariant($"if ({FixedEmit.Fast(t)} && {p.K} >= {vf})"), () =>
                        {
                            w.Line($"var vs = {V}<float>.Zero;");
                            w.Line(Invariant($"for (; k + {vf} <= {p.K}; k += {vf}) vs += {V}.Load(arow + k) * {V}.Load(brow + k);"));
                            w.Line($"sum = {V}.Sum(vs);");
                        });
                    }
                    w.Line(Invariant($"for (; k < {p.K}; k++) sum += {aAt("k")} * brow[k];"));
                    w.Line("o[n] = sum;");
                });
            }
            else
            {
                w.Line("for (int n = n0; n < n1; n++) o[n] = 0f;");
                w.Block(Invariant($"for (int k = 0; k < {p.K}; k++)"), () =>
                {
                    w.Line($"float av = {aAt("k")};");
                    w.Line(Invariant($"float* brow = B + (long)k * {p.N};"));
                    w.Line("int n = n0;");
                    w.Block($"if ({FixedEmit.Fast(t)})", () =>
                    {
                        w.Line($"var va = {V}.Create(av);");
                        w.Line(Invariant($"for (; n + {vf} <= n1; n += {vf}) {V}.Store({V}.Load(o + n) + va * {V}.Load(brow + n), o + n);"));
                    });
                    w.Line("for (; n < n1; n++) o[n] += av * brow[n];");
                });
            }
            // Epilogue: alpha, + beta * C (or the bias), + residual, activation.
            w.Block("for (int n = n0; n < n1; n++)", () =>
            {
                w.Line(alpha == 1f ? "float v = o[n];" : $"float v = o[n] * {EpilogueCode.Float(alpha)};");
                if (p.CIndex >= 0)
                {
                    string at = Invariant($"a.In[{p.CIndex}][(long)m * {p.CStrides[0]} + (long)n * {p.CStrides[1]}]");
                    w.Line(beta == 1f ? $"v += {at};" : $"v += {EpilogueCode.Float(beta)} * {at};");
                }
                if (p.RIndex >= 0)
                    w.Line(Invariant($"v += a.In[{p.RIndex}][(long)row * {p.N} + n];"));
                w.Line($"o[n] = {EpilogueCode.Scalar(e, "v")};");
            });
        });
    }
}
