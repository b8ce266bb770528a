using System;
using System.Collections.Generic;
using System.Linq;
using static System.FormattableString;

namespace AutoKernel.Generator.Kernels.Fixed;

/// <summary>The class skeleton and small helpers shared by the fixed-kernel families.</summary>
internal static class FixedEmit
{
    /// <summary>Floats of work a parallel item should have at least.</summary>
    public const int Grain = 16384;

    public static string Shape(int[] s) => "[" + string.Join(",", s) + "]";

    public static long Count(int[] s) => s.Aggregate(1L, (p, d) => p * d);

    public static bool IsConstant(FixedOp op, int input) => Array.IndexOf(op.GetInts("constant_inputs"), input) >= 0;

    /// <summary>The block of input <paramref name="index"/>'s buffer (0 = standard).</summary>
    public static int InputBlock(FixedOp op, int index) =>
        op.OpType == "LayoutTransform" ? op.GetInt("from", 0)
        : op.Block > 0 && !IsConstant(op, index) ? op.Block : 0;

    public static int OutputBlock(FixedOp op) => op.OpType == "LayoutTransform" ? op.GetInt("to", 0) : op.Block;

    /// <summary>Blocked buffers are 4-D; every shape is non-negative.</summary>
    public static bool ValidLayout(FixedOp op)
    {
        if (op.Output.Any(d => d < 0) || op.Inputs.Any(s => s.Any(d => d < 0)))
            return false;
        for (int i = 0; i < op.Inputs.Count; i++)
        {
            if (InputBlock(op, i) > 0 && op.Inputs[i].Length != 4)
                return false;
        }
        if (OutputBlock(op) > 0 && op.Output.Length != 4)
            return false;
        return op.GetInts("constant_inputs").All(i => i >= 0 && i < op.Inputs.Count);
    }

    public static long BufferLength(int[] shape, int block) =>
        block > 0 ? (long)shape[0] * EmitterShared.Blocks(shape[1], block) * block * shape[2] * shape[3] : Count(shape);

    /// <summary>The whole kernel class; <paramref name="run"/> writes the body of Run(float** inputs, float* output, WorkerPool pool).</summary>
    public static string Class(FixedOp op, string ns, string className, Action<CodeWriter> run)
    {
        var w = new CodeWriter();
        EmitterShared.Header(w, "fixed " + op.OpType, op.ToString().Replace('\r', ' ').Replace('\n', ' '));
        w.Block("namespace " + ns, () =>
        {
            EmitterShared.Usings(w);
            w.Line();
            w.Block($"internal sealed unsafe class {className} : IFixedKernel", () =>
            {
                w.Line(Invariant($"public int InputCount => {op.Inputs.Count};"));
                w.Line("public int InputLength(int index) => index switch");
                w.Line("{");
                for (int i = 0; i < op.Inputs.Count; i++)
                    w.Line(Invariant($"    {i} => {BufferLength(op.Inputs[i], InputBlock(op, i))},"));
                w.Line("    _ => throw new ArgumentOutOfRangeException(nameof(index)),");
                w.Line("};");
                w.Line(Invariant($"public int OutputLength => {BufferLength(op.Output, OutputBlock(op))};"));
                w.Line();
                w.Block("public void InputToNative(int index, ReadOnlySpan<float> standard, Span<float> native)", () =>
                {
                    w.Line("switch (index)");
                    w.Line("{");
                    for (int i = 0; i < op.Inputs.Count; i++)
                    {
                        int[] x = op.Inputs[i];
                        int b = InputBlock(op, i);
                        w.Line(b > 0
                            ? Invariant($"    case {i}: Layouts.NchwToBlocked(standard, native, {x[0]}, {x[1]}, {x[2]}, {x[3]}, {b}); break;")
                            : Invariant($"    case {i}: standard.Slice(0, {Count(x)}).CopyTo(native); break;"));
                    }
                    w.Line("    default: throw new ArgumentOutOfRangeException(nameof(index));");
                    w.Line("}");
                });
                int[] y = op.Output;
                int ob = OutputBlock(op);
                w.Line("public void OutputFromNative(ReadOnlySpan<float> native, Span<float> standard) =>");
                w.Line(ob > 0
                    ? Invariant($"    Layouts.BlockedToNchw(native, standard, {y[0]}, {y[1]}, {y[2]}, {y[3]}, {ob});")
                    : Invariant($"    native.Slice(0, {Count(y)}).CopyTo(standard);"));
                w.Line();
                w.Line("private struct Args { public float** In; public float* Out; }");
                w.Line();
                var body = new CodeWriter();
                run(body);
                string text = body.ToString();
                foreach (string line in Tables(text))
                    w.Line(line);
                w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
                w.Block("public void Run(float** inputs, float* output, WorkerPool pool)", () =>
                {
                    w.Line("var args = new Args { In = inputs, Out = output };");
                    foreach (string line in text.Split('\n'))
                    {
                        if (line.TrimStart().StartsWith(TableMarker, StringComparison.Ordinal))
                            continue;
                        if (line.Length > 0)
                            w.Line(line);
                    }
                });
            });
        });
        return w.ToString();
    }

    private const string TableMarker = "//@table ";

    /// <summary>
    /// Declares a constant table, emitted as a static ReadOnlySpan property (data in the assembly,
    /// no allocation); usable from the static lambdas of Run.
    /// </summary>
    public static void IntTable(CodeWriter w, string name, IEnumerable<int> values) =>
        w.Line(TableMarker + $"private static ReadOnlySpan<int> {name} => new int[] {{ {string.Join(", ", values.Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture)))} }};");

    public static void FloatTable(CodeWriter w, string name, IEnumerable<float> values) =>
        w.Line(TableMarker + $"private static ReadOnlySpan<float> {name} => new float[] {{ {string.Join(", ", values.Select(EpilogueCode.Float))} }};");

    private static IEnumerable<string> Tables(string text) =>
        text.Split('\n').Select(l => l.TrimStart()).Where(l => l.StartsWith(TableMarker, StringComparison.Ordinal)).Select(l => l.Substring(TableMarker.Length));

    /// <summary>
    /// pool.For over <paramref name="items"/> items, grouped so that each work item has at least
    /// <see cref="Grain"/> floats of work; <paramref name="body"/> writes the code for one item
    /// (variable <c>item</c>, Args in <c>a</c>).
    /// </summary>
    public static void ParallelFor(CodeWriter w, long items, long workPerItem, Action body, string? wrap = null)
    {
        long per = Math.Max(1, Math.Min(items, Grain / Math.Max(1, workPerItem)));
        long chunks = (items + per - 1) / per;
        if (items == 0)
        {
            w.Line("_ = args; _ = pool;");
            return;
        }
        w.Block(Invariant($"pool.For({chunks}, args, static (a, chunk) =>"), () =>
        {
            w.Line(Invariant($"int itemEnd = (int)Math.Min({items}L, (chunk + 1) * {per}L);"));
            void Loop() => w.Block(Invariant($"for (int item = chunk * {per}; item < itemEnd; item++)"), body);
            if (wrap is null)
            {
                Loop();
            }
            else if (wrap.StartsWith("PROLOGUE:", StringComparison.Ordinal))
            {
                w.Line(wrap.Substring("PROLOGUE:".Length));
                Loop();
            }
            else
            {
                w.Block(wrap, Loop);
            }
        });
        w.Line(");");
    }

    /// <summary>
    /// Lines that split flat index <paramref name="index"/> into coordinates c0.. over
    /// <paramref name="dims"/> (the last varies fastest); one division per dimension.
    /// </summary>
    public static void Coordinates(CodeWriter w, string index, int[] dims, string prefix)
    {
        if (dims.Length == 0)
            return;
        w.Line($"int {prefix}rem = {index};");
        for (int d = dims.Length - 1; d >= 1; d--)
            w.Line(Invariant($"int {prefix}{d} = {prefix}rem % {dims[d]}; {prefix}rem /= {dims[d]};"));
        w.Line($"int {prefix}0 = {prefix}rem;");
    }

    /// <summary>Row-major strides of a shape.</summary>
    public static int[] Strides(int[] shape)
    {
        var s = new int[shape.Length];
        int acc = 1;
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            s[d] = acc;
            acc *= shape[d];
        }
        return s;
    }

    /// <summary>Strides of <paramref name="shape"/> broadcast (right-aligned) to rank <paramref name="rank"/> over <paramref name="output"/>: 0 on broadcast axes.</summary>
    public static int[]? BroadcastStrides(int[] shape, int[] output)
    {
        int rank = output.Length;
        if (shape.Length > rank)
            return null;
        var aligned = new int[rank];
        for (int d = 0; d < rank; d++)
            aligned[d] = d < rank - shape.Length ? 1 : shape[d - (rank - shape.Length)];
        var own = Strides(aligned);
        var r = new int[rank];
        for (int d = 0; d < rank; d++)
        {
            if (aligned[d] == output[d])
                r[d] = output[d] == 1 ? 0 : own[d];
            else if (aligned[d] == 1)
                r[d] = 0;
            else
                return null;
        }
        return r;
    }

    public static string Vec(CpuTarget t) => t.VectorClass;

    public static string Fast(CpuTarget t) => EmitterShared.Accelerated(t.VectorClass);

    public static Epilogue ActivationOf(FixedOp op) =>
        new(false, false, op.GetString("activation", ""), op.GetFloat("activation_alpha", 0f), op.GetFloat("activation_beta", 0f));

    /// <summary>Whether the op's fused activation is one the epilogue code emits (<see cref="EpilogueCode.Activations"/>).</summary>
    public static bool KnownActivation(FixedOp op) => EpilogueCode.IsActivation(op.GetString("activation", ""));
}
