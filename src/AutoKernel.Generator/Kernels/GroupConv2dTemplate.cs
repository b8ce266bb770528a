using System;
using System.Linq;
using AutoKernel.Generator.Schedules;
using AutoKernel.Generator.Workloads;
using static System.FormattableString;

namespace AutoKernel.Generator.Kernels;

/// <summary>
/// Grouped convolutions that the depthwise template does not take (groups &gt; 1 with several
/// channels per group, or a depthwise channel multiplier above 1), in plain NCHW. Groups are often
/// narrower than a vector, so this template vectorizes along the output width instead of across
/// channels: a register block of tile_k output channels x tile_ow vectors of columns, each input
/// vector shared by the tile_k channels. Interior columns of stride-1 rows use vector loads; border
/// columns, other strides and the portable path use scalar loops.
/// </summary>
public sealed class GroupConv2dTemplate : KernelTemplate
{
    public override string Name => "group_conv2d_nchw";

    public override bool Supports(Workload workload) =>
        workload is Conv2dWorkload { Groups: > 1 } c
        && c.InChannels % c.Groups == 0 && c.OutChannels % c.Groups == 0
        && !(c.Groups == c.InChannels && c.OutChannels == c.InChannels);

    public override ConfigSpace CreateSpace(Workload workload, CpuTarget target)
    {
        var c = (Conv2dWorkload)workload;
        int kPerGroup = c.OutChannels / c.Groups;
        int registers = target.VectorBits == 512 ? 32 : 16;
        int[] tileK = [.. Enumerable.Range(1, Math.Min(kPerGroup, 8)).Where(t => kPerGroup % t == 0)];
        return new ConfigSpace(
            Name,
            [
                Knob.Choice("tile_k", KnobKind.Other, tileK),
                Knob.Choice("tile_ow", KnobKind.Other, 1, 2, 3, 4),
                Knob.Choice("parallel", KnobKind.Annotate, 0, 1),
            ],
            [cfg => cfg.Value("tile_k") * cfg.Value("tile_ow") + cfg.Value("tile_ow") + 1 <= registers]);
    }

    public override string Emit(Workload workload, Epilogue epilogue, Config config, CpuTarget target, string ns, string className)
    {
        var c = (Conv2dWorkload)workload;
        int tk = config.Value("tile_k"), tow = config.Value("tile_ow");
        int vf = target.VectorFloats;
        string V = target.VectorClass;
        int cg = c.InChannels / c.Groups, kg = c.OutChannels / c.Groups;
        // Interior columns: every tap of the window lands inside the row.
        int owLo = Math.Min(c.OutWidth, EmitterShared.Blocks(c.PadLeft, c.StrideWidth));
        int owHi = Math.Max(owLo, Math.Min(c.OutWidth, (c.InWidth + c.PadLeft - (c.KernelWidth - 1) * c.DilationWidth - 1) / c.StrideWidth + 1));
        bool vectorRows = c.StrideWidth == 1;
        int kBlocks = kg / tk;
        long items = config.Value("parallel") == 0 ? (long)c.Batch * c.Groups * kBlocks * c.OutHeight : (long)c.Batch * c.Groups * kBlocks;

        var w = new CodeWriter();
        EmitterShared.Header(w, Name, workload.Key + " epilogue: " + epilogue + "\nconfig: " + config);
        w.Block("namespace " + ns, () =>
        {
            EmitterShared.Usings(w);
            w.Line();
            w.Block($"public sealed unsafe class {className} : ITunedKernel", () =>
            {
                w.Line(Invariant($"private const int N = {c.Batch}, C = {c.InChannels}, K = {c.OutChannels}, G = {c.Groups}, CG = {cg}, KG = {kg};"));
                w.Line(Invariant($"private const int H = {c.InHeight}, W = {c.InWidth}, OH = {c.OutHeight}, OW = {c.OutWidth}, KH = {c.KernelHeight}, KW = {c.KernelWidth};"));
                w.Line(Invariant($"private const int SH = {c.StrideHeight}, SW = {c.StrideWidth}, DH = {c.DilationHeight}, DW = {c.DilationWidth}, PT = {c.PadTop}, PL = {c.PadLeft};"));
                w.Line(Invariant($"private const int TK = {tk}, TOW = {tow}, VF = {vf}, KBlocks = {kBlocks}, OwLo = {owLo}, OwHi = {owHi};"));
                w.Line("private readonly float[] _w = new float[K * CG * KH * KW];");
                w.Line("private readonly float[] _b = new float[K];");
                w.Line();
                w.Line("/// <summary>Forces the portable scalar path (tests compare both paths).</summary>");
                w.Line("public static bool ForcePortable { get; set; }");
                w.Line();
                w.Line("public int InputLength => N * C * H * W;");
                w.Line("public int OutputLength => N * K * OH * OW;");
                w.Line();
                w.Block("public void Prepare(float[] weights, float[]? bias)", () =>
                {
                    w.Line("if (weights.Length != _w.Length) throw new ArgumentException(\"expected \" + _w.Length + \" OIHW weights\", nameof(weights));");
                    w.Line("Array.Copy(weights, _w, _w.Length);");
                    if (epilogue.Bias)
                    {
                        w.Line("if (bias is null || bias.Length < K) throw new ArgumentException(\"expected \" + K + \" bias values\", nameof(bias));");
                        w.Line("Array.Copy(bias, _b, K);");
                    }
                });
                w.Line();
                w.Line("public void InputToNative(ReadOnlySpan<float> standard, Span<float> native) => standard.Slice(0, InputLength).CopyTo(native);");
                w.Line("public void OutputToNative(ReadOnlySpan<float> standard, Span<float> native) => standard.Slice(0, OutputLength).CopyTo(native);");
                w.Line("public void OutputFromNative(ReadOnlySpan<float> native, Span<float> standard) => native.Slice(0, OutputLength).CopyTo(standard);");
                w.Line();
                w.Line("private struct State { public float* In, Out, Res, W, B; public bool Fast; }");
                w.Line();
                w.Block("public void Run(float* input, float* output, float* residual, WorkerPool pool)", () =>
                {
                    if (epilogue.Residual)
                        w.Line("if (residual == null) throw new ArgumentNullException(nameof(residual));");
                    w.Block("fixed (float* wp = _w, bp = _b)", () =>
                    {
                        w.Line("var s = new State { In = input, Out = output, Res = residual, W = wp, B = bp };");
                        w.Line($"s.Fast = {EmitterShared.Accelerated(V)} && !ForcePortable;");
                        w.Line(Invariant($"pool.For({items}, s, static (st, i) => Work(st, i));"));
                    });
                });
                w.Line();
                w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
                w.Block("private static void Work(State s, int item)", () =>
                {
                    if (config.Value("parallel") == 0)
                    {
                        w.Line("int oh = item % OH, rest = item / OH;");
                        w.Line("Row(s, rest, oh);");
                    }
                    else
                    {
                        w.Line("for (int oh = 0; oh < OH; oh++) Row(s, item, oh);");
                    }
                });
                w.Line();
                w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
                w.Block("private static void Row(State s, int job, int oh)", () =>
                {
                    w.Line("int kb = job % KBlocks, g = job / KBlocks % G, n = job / KBlocks / G;");
                    w.Line("int k0 = g * KG + kb * TK;");
                    w.Line("float* x = s.In + (n * C + g * CG) * H * W;");
                    w.Line("int ow = 0;");
                    if (vectorRows)
                    {
                        w.Block("if (s.Fast)", () =>
                        {
                            w.Line("Scalar(s, n, k0, x, oh, 0, OwLo);");
                            w.Line("ow = OwLo;");
                            w.Block("for (; ow + TOW * VF <= OwHi; ow += TOW * VF)", () => EmitVectorTile(w, epilogue, V, vf, tk, tow));
                            // Narrower vectors for the rest of the interior before the scalar tail.
                            foreach (int lanes in new[] { 8, 4 }.Where(l => l < vf))
                                w.Block(Invariant($"for (; ow + {lanes} <= OwHi; ow += {lanes})"), () => EmitVectorTile(w, epilogue, "Vector" + (lanes * 32), lanes, tk, 1));
                        });
                    }
                    w.Line("Scalar(s, n, k0, x, oh, ow, OW);");
                });
                w.Line();
                EmitScalar(w, epilogue, tk);
            });
        });
        return w.ToString();
    }

    /// <summary>tile_k x tile_ow vectors of one output row; every tap is inside the input row.</summary>
    private static void EmitVectorTile(CodeWriter w, Epilogue e, string V, int lanes, int tk, int tow)
    {
        for (int k = 0; k < tk; k++)
        {
            for (int j = 0; j < tow; j++)
                w.Line($"var acc{k}_{j} = {V}<float>.Zero;");
        }
        w.Block("for (int c = 0; c < CG; c++)", () =>
        {
            w.Block("for (int kh = 0; kh < KH; kh++)", () =>
            {
                w.Line("int ih = oh * SH - PT + kh * DH;");
                w.Line("if ((uint)ih >= (uint)H) continue;");
                w.Line("float* xr = x + (c * H + ih) * W + ow - PL;");
                w.Line("float* wr = s.W + ((k0 * CG + c) * KH + kh) * KW;");
                w.Block("for (int kw = 0; kw < KW; kw++)", () =>
                {
                    for (int j = 0; j < tow; j++)
                        w.Line(Invariant($"var x{j} = {V}.Load(xr + kw * DW + {j * lanes});"));
                    for (int k = 0; k < tk; k++)
                    {
                        w.Line(Invariant($"var w{k} = {V}.Create(wr[{k} * CG * KH * KW + kw]);"));
                        for (int j = 0; j < tow; j++)
                            w.Line($"acc{k}_{j} = {V}.FusedMultiplyAdd(x{j}, w{k}, acc{k}_{j});");
                    }
                });
            });
        });
        for (int k = 0; k < tk; k++)
        {
            for (int j = 0; j < tow; j++)
            {
                w.Line(Invariant($"float* y{k}_{j} = s.Out + ((n * K + k0 + {k}) * OH + oh) * OW + ow + {j * lanes};"));
                w.Line(Invariant($"acc{k}_{j} += {V}.Create(s.B[k0 + {k}]);"));
                if (e.Residual)
                    w.Line(Invariant($"acc{k}_{j} += {V}.Load(s.Res + (y{k}_{j} - s.Out));"));
                w.Line($"acc{k}_{j} = {EpilogueCode.Vector(e, $"acc{k}_{j}", V)};");
                w.Line($"{V}.Store(acc{k}_{j}, y{k}_{j});");
            }
        }
    }

    /// <summary>Columns [from, to) of one output row for tile_k channels, one tap at a time with bounds checks.</summary>
    private static void EmitScalar(CodeWriter w, Epilogue e, int tk)
    {
        w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
        w.Block("private static void Scalar(State s, int n, int k0, float* x, int oh, int from, int to)", () =>
        {
            w.Block("for (int k = k0; k < k0 + TK; k++)", () =>
            {
                w.Line("float* wk = s.W + k * CG * KH * KW;");
                w.Block("for (int ow = from; ow < to; ow++)", () =>
                {
                    w.Line("float acc = s.B[k];");
                    w.Block("for (int c = 0; c < CG; c++)", () =>
                    {
                        w.Block("for (int kh = 0; kh < KH; kh++)", () =>
                        {
                            w.Line("int ih = oh * SH - PT + kh * DH;");
                            w.Line("if ((uint)ih >= (uint)H) continue;");
                            w.Block("for (int kw = 0; kw < KW; kw++)", () =>
                            {
                                w.Line("int iw = ow * SW - PL + kw * DW;");
                                w.Line("if ((uint)iw < (uint)W) acc = MathF.FusedMultiplyAdd(x[(c * H + ih) * W + iw], wk[(c * KH + kh) * KW + kw], acc);");
                            });
                        });
                    });
                    w.Line("int at = ((n * K + k) * OH + oh) * OW + ow;");
                    if (e.Residual)
                        w.Line("acc += s.Res[at];");
                    w.Line($"s.Out[at] = {EpilogueCode.Scalar(e, "acc")};");
                });
            });
        });
    }
}
