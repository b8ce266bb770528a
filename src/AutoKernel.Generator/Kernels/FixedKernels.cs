using System;
using System.Collections.Generic;
using System.Linq;
using static System.FormattableString;

namespace AutoKernel.Generator.Kernels;

/// <summary>
/// An untuned operator with static shapes. Spatial operators (pools, concat) work on NCHW[Block]c
/// buffers; <see cref="Inputs"/> and <see cref="Output"/> are always the logical NCHW (or
/// row-major) shapes.
/// </summary>
/// <param name="OpType">MaxPool, AveragePool, GlobalAveragePool, Add, Mul, Activation, Softmax or Concat.</param>
/// <param name="Block">Channel block of the NCHW[b]c layout for the spatial operators.</param>
/// <param name="Kernel">Pool window [kh, kw].</param>
/// <param name="Strides">Pool strides [sh, sw].</param>
/// <param name="Pads">Pool padding [top, left] (the end padding follows from the output size).</param>
/// <param name="CountIncludePad">AveragePool divides by the whole window when true.</param>
/// <param name="Activation">Applied to the result (Add, Mul, Activation); <see cref="Epilogue.None"/> otherwise.</param>
public sealed record FixedOp(
    string OpType, IReadOnlyList<int[]> Inputs, int[] Output, int Block,
    int[]? Kernel = null, int[]? Strides = null, int[]? Pads = null, bool CountIncludePad = false, Epilogue? Activation = null);

/// <summary>Emits C# for <see cref="FixedOp"/>s: one class implementing AutoKernel.Runtime.Kernels.IFixedKernel.</summary>
public static class FixedKernels
{
    public static bool Supports(FixedOp op) => op.OpType switch
    {
        "MaxPool" or "AveragePool" => op.Inputs.Count == 1 && op.Inputs[0].Length == 4 && op.Kernel is { Length: 2 } && op.Strides is { Length: 2 } && op.Pads is { Length: 2 } && op.Block > 0,
        "GlobalAveragePool" => op.Inputs.Count == 1 && op.Inputs[0].Length == 4 && op.Block > 0,
        "Add" or "Mul" => op.Inputs.Count == 2 && op.Inputs[0].SequenceEqual(op.Inputs[1]),
        "Activation" => op.Inputs.Count == 1 && op.Activation is not null,
        "Softmax" => op.Inputs.Count == 1 && op.Inputs[0].Length >= 1,
        "Concat" => op.Inputs.Count >= 1 && op.Block > 0 && op.Inputs.All(s => s.Length == 4 && s[1] % op.Block == 0),
        _ => false,
    };

    public static string Emit(FixedOp op, CpuTarget target, string ns, string className)
    {
        if (!Supports(op))
            throw new ArgumentException($"no fixed kernel for {op.OpType} with these shapes", nameof(op));
        var w = new CodeWriter();
        EmitterShared.Header(w, "fixed " + op.OpType, "inputs " + string.Join(" ", op.Inputs.Select(Shape)) + " output " + Shape(op.Output) + Invariant($" block {op.Block}"));
        w.Block("namespace " + ns, () =>
        {
            EmitterShared.Usings(w);
            w.Line();
            w.Block($"public sealed unsafe class {className} : IFixedKernel", () =>
            {
                w.Line(Invariant($"public int InputCount => {op.Inputs.Count};"));
                w.Line("public int InputLength(int index) => index switch");
                w.Line("{");
                for (int i = 0; i < op.Inputs.Count; i++)
                    w.Line(Invariant($"    {i} => {Length(op.Inputs[i], op)},"));
                w.Line("    _ => throw new ArgumentOutOfRangeException(nameof(index)),");
                w.Line("};");
                w.Line(Invariant($"public int OutputLength => {Length(op.Output, op)};"));
                w.Line();
                if (op.OpType is "Add" or "Mul" or "Activation")
                    w.Line("private struct Args { public float* In, B, Out; }");
                else if (op.OpType != "Concat")
                    w.Line("private struct Args { public float* In, Out; }");
                w.Line();
                EmitLayouts(w, op);
                w.Line();
                w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
                w.Block("public void Run(float** inputs, float* output, WorkerPool pool)", () => EmitBody(w, op, target));
            });
        });
        return w.ToString();
    }

    private static string Shape(int[] s) => "[" + string.Join(",", s) + "]";

    private static bool Blocked(FixedOp op) => op.OpType is "MaxPool" or "AveragePool" or "GlobalAveragePool" or "Concat";

    /// <summary>Buffer floats: NCHW[b]c pads channels to the block; other layouts are dense.</summary>
    private static long Length(int[] shape, FixedOp op) =>
        Blocked(op) ? (long)shape[0] * EmitterShared.Blocks(shape[1], op.Block) * op.Block * shape[2] * shape[3]
        : shape.Aggregate(1L, (p, d) => p * d);

    /// <summary>Layout converters: NCHW[b]c for the spatial operators, plain copies otherwise.</summary>
    private static void EmitLayouts(CodeWriter w, FixedOp op)
    {
        w.Block("public void InputToNative(int index, ReadOnlySpan<float> standard, Span<float> native)", () =>
        {
            if (!Blocked(op))
            {
                w.Line("standard.Slice(0, InputLength(index)).CopyTo(native);");
                return;
            }
            w.Line("switch (index)");
            w.Line("{");
            for (int i = 0; i < op.Inputs.Count; i++)
            {
                int[] x = op.Inputs[i];
                w.Line(Invariant($"    case {i}: Layouts.NchwToBlocked(standard, native, {x[0]}, {x[1]}, {x[2]}, {x[3]}, {op.Block}); break;"));
            }
            w.Line("    default: throw new ArgumentOutOfRangeException(nameof(index));");
            w.Line("}");
        });
        int[] y = op.Output;
        w.Line("public void OutputFromNative(ReadOnlySpan<float> native, Span<float> standard) =>");
        w.Line(Blocked(op)
            ? Invariant($"    Layouts.BlockedToNchw(native, standard, {y[0]}, {y[1]}, {y[2]}, {y[3]}, {op.Block});")
            : "    native.Slice(0, OutputLength).CopyTo(standard);");
    }

    private static void EmitBody(CodeWriter w, FixedOp op, CpuTarget target)
    {
        switch (op.OpType)
        {
            case "MaxPool":
            case "AveragePool":
                EmitPool(w, op);
                break;
            case "GlobalAveragePool":
                EmitGlobalAverage(w, op);
                break;
            case "Add":
            case "Mul":
            case "Activation":
                EmitElementwise(w, op, target);
                break;
            case "Softmax":
                EmitSoftmax(w, op);
                break;
            case "Concat":
                EmitConcat(w, op);
                break;
        }
    }

    /// <summary>One work item per (n, channel block, output row); all lanes of a block at once.</summary>
    private static void EmitPool(CodeWriter w, FixedOp op)
    {
        int[] x = op.Inputs[0], y = op.Output;
        int b = op.Block, blocks = EmitterShared.Blocks(x[1], b);
        bool max = op.OpType == "MaxPool";
        w.Line(Invariant($"const int B = {b}, H = {x[2]}, W = {x[3]}, OH = {y[2]}, OW = {y[3]};"));
        w.Line(Invariant($"const int KH = {op.Kernel![0]}, KW = {op.Kernel[1]}, SH = {op.Strides![0]}, SW = {op.Strides[1]}, PT = {op.Pads![0]}, PL = {op.Pads[1]};"));
        w.Line("var args = new Args { In = inputs[0], Out = output };");
        w.Block(Invariant($"pool.For({x[0] * blocks * y[2]}, args, static (a, item) =>"), () =>
        {
            w.Line("int plane = item / OH, oh = item % OH;");
            w.Line("float* src = a.In + plane * H * W * B;");
            w.Line("float* dst = a.Out + (plane * OH + oh) * OW * B;");
            w.Line("Span<float> acc = stackalloc float[B];");
            w.Line("int h0 = oh * SH - PT, h1 = Math.Min(h0 + KH, H), hs = Math.Max(h0, 0);");
            w.Block("for (int ow = 0; ow < OW; ow++)", () =>
            {
                w.Line("int w0 = ow * SW - PL, w1 = Math.Min(w0 + KW, W), ws = Math.Max(w0, 0);");
                w.Line(max ? "acc.Fill(float.NegativeInfinity);" : "acc.Clear();");
                w.Block("for (int ih = hs; ih < h1; ih++)", () =>
                {
                    w.Block("for (int iw = ws; iw < w1; iw++)", () =>
                    {
                        w.Line("float* p = src + (ih * W + iw) * B;");
                        w.Line(max ? "for (int l = 0; l < B; l++) acc[l] = MathF.Max(acc[l], p[l]);" : "for (int l = 0; l < B; l++) acc[l] += p[l];");
                    });
                });
                if (max)
                {
                    w.Line("for (int l = 0; l < B; l++) dst[ow * B + l] = acc[l];");
                }
                else
                {
                    // count_include_pad counts the window clipped to the padded input (ONNX), else the real cells.
                    w.Line(op.CountIncludePad
                        ? Invariant($"float count = (Math.Min(h0 + KH, H + {PadEnd(x[2], y[2], op, 0)}) - h0) * (Math.Min(w0 + KW, W + {PadEnd(x[3], y[3], op, 1)}) - w0);")
                        : "float count = (h1 - hs) * (w1 - ws);");
                    w.Line("for (int l = 0; l < B; l++) dst[ow * B + l] = acc[l] / count;");
                }
            });
        });
        w.Line(");");
    }

    /// <summary>The end padding implied by the output size (ONNX pads or ceil_mode's extra window).</summary>
    private static int PadEnd(int input, int output, FixedOp op, int axis) =>
        Math.Max(0, (output - 1) * op.Strides![axis] + op.Kernel![axis] - input - op.Pads![axis]);

    private static void EmitGlobalAverage(CodeWriter w, FixedOp op)
    {
        int[] x = op.Inputs[0];
        int b = op.Block, blocks = EmitterShared.Blocks(x[1], b);
        w.Line(Invariant($"const int B = {b}, HW = {x[2] * x[3]};"));
        w.Line("var args = new Args { In = inputs[0], Out = output };");
        w.Block(Invariant($"pool.For({x[0] * blocks}, args, static (a, plane) =>"), () =>
        {
            w.Line("float* src = a.In + plane * HW * B;");
            w.Block("for (int l = 0; l < B; l++)", () =>
            {
                w.Line("float sum = 0f;");
                w.Line("for (int p = 0; p < HW; p++) sum += src[p * B + l];");
                w.Line("a.Out[plane * B + l] = sum / HW;");
            });
        });
        w.Line(");");
    }

    /// <summary>Flat loops over same-shaped buffers, vectorized, in chunks over the pool.</summary>
    private static void EmitElementwise(CodeWriter w, FixedOp op, CpuTarget target)
    {
        string V = target.VectorClass;
        var e = op.Activation ?? Epilogue.None;
        long n = op.Output.Aggregate(1L, (p, d) => p * d);
        string combine = op.OpType switch { "Add" => " + ", "Mul" => " * ", _ => "" };
        w.Line(Invariant($"const int Count = {n}, VF = {target.VectorFloats}, Chunk = 16384;"));
        w.Line(op.Inputs.Count > 1 ? "var args = new Args { In = inputs[0], B = inputs[1], Out = output };" : "var args = new Args { In = inputs[0], B = null, Out = output };");
        w.Block("pool.For((Count + Chunk - 1) / Chunk, args, static (a, chunk) =>", () =>
        {
            w.Line("int i = chunk * Chunk, end = Math.Min(Count, i + Chunk);");
            w.Block($"if ({EmitterShared.Accelerated(V)})", () =>
            {
                w.Block("for (; i + VF <= end; i += VF)", () =>
                {
                    w.Line($"var acc = {V}.Load(a.In + i){(combine.Length > 0 ? combine + $"{V}.Load(a.B + i)" : "")};");
                    w.Line($"{V}.Store({EpilogueCode.Vector(e, "acc", V)}, a.Out + i);");
                });
            });
            w.Block("for (; i < end; i++)", () =>
            {
                w.Line($"float acc = a.In[i]{(combine.Length > 0 ? combine + "a.B[i]" : "")};");
                w.Line($"a.Out[i] = {EpilogueCode.Scalar(e, "acc")};");
            });
        });
        w.Line(");");
    }

        /// <summary>Softmax over the last axis, one row per work item, max-subtracted for stability.</summary>
    private static void EmitSoftmax(CodeWriter w, FixedOp op)
    {
        int[] x = op.Inputs[0];
        int cols = x[x.Length - 1];
        long rows = x.Aggregate(1L, (p, d) => p * d) / cols;
        w.Line(Invariant($"const int Cols = {cols};"));
        w.Line("var args = new Args { In = inputs[0], Out = output };");
        w.Block(Invariant($"pool.For({rows}, args, static (a, row) =>"), () =>
        {
            w.Line("float* src = a.In + (long)row * Cols, dst = a.Out + (long)row * Cols;");
            w.Line("float max = float.NegativeInfinity;");
            w.Line("for (int c = 0; c < Cols; c++) max = MathF.Max(max, src[c]);");
            w.Line("float sum = 0f;");
            w.Line("for (int c = 0; c < Cols; c++) { float v = MathF.Exp(src[c] - max); dst[c] = v; sum += v; }");
            w.Line("float inv = 1f / sum;");
            w.Line("for (int c = 0; c < Cols; c++) dst[c] *= inv;");
        });
        w.Line(");");
    }

    /// <summary>Channel concat in NCHW[b]c: every input's channels are whole blocks, so planes copy as they are.</summary>
    private static void EmitConcat(CodeWriter w, FixedOp op)
    {
        int b = op.Block;
        int plane = op.Output[2] * op.Output[3] * b;
        int outBlocks = op.Output[1] / b;
        w.Line("_ = pool;");
        w.Block(Invariant($"for (int n = 0; n < {op.Output[0]}; n++)"), () =>
        {
            int offset = 0;
            for (int i = 0; i < op.Inputs.Count; i++)
            {
                int blocks = op.Inputs[i][1] / b;
                w.Line(Invariant($"new ReadOnlySpan<float>(inputs[{i}] + n * {blocks * plane}, {blocks * plane}).CopyTo(new Span<float>(output + (n * {outBlocks} + {offset}) * {plane}, {blocks * plane}));"));
                offset += blocks;
            }
        });
    }
}
