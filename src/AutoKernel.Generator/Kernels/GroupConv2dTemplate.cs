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
        int registers = target.VectorRegisters;
        int[] tileK = [.. Enumerable.Range(1, Math.Min(kPerGroup, 8)).Where(t => kPerGroup % t == 0)];
        return new ConfigSpace(
            Name,
            [
                Knob.Choice("tile_k", KnobKind.Other, tileK),
                Knob.Choice("tile_ow", KnobKind.Other, 1, 2, 3, 4),
                Knob.Choice("parallel", KnobKind.Annotate, 0, 1),
            ],
            [cfg => RegistersNeeded(cfg.Value("tile_k"), cfg.Value("tile_ow")) <= registers]);
    }

    /// <summary>Vector registers of the vector tile: tile_k x tile_ow accumulators, tile_ow input vectors, one broadcast weight.</summary>
    private static int RegistersNeeded(int tileK, int tileOw) => tileK * tileOw + tileOw + 1;

    /// <summary>The schedule and the derived constants the emitter bakes in.</summary>
    private sealed class Plan
    {
        public Plan(Conv2dWorkload c, Config config, CpuTarget target)
        {
            Tk = config.Value("tile_k");
            Tow = config.Value("tile_ow");
            Parallel = config.Value("parallel");
            Vf = target.VectorFloats;
            Cg = c.InChannels / c.Groups;
            Kg = c.OutChannels / c.Groups;
            // Interior columns: every tap of the window lands inside the row.
            OwLo = Math.Min(c.OutWidth, EmitterShared.Blocks(c.PadLeft, c.StrideWidth));
            OwHi = Math.Max(OwLo, Math.Min(c.OutWidth, (c.InWidth + c.PadLeft - (c.KernelWidth - 1) * c.DilationWidth - 1) / c.StrideWidth + 1));
            VectorRows = c.StrideWidth == 1;
            KBlocks = Kg / Tk;
            Items = Parallel == 0 ? (long)c.Batch * c.Groups * KBlocks * c.OutHeight : (long)c.Batch * c.Groups * KBlocks;
        }

        public int Tk, Tow, Parallel, Vf, Cg, Kg, OwLo, OwHi, KBlocks;
        public bool VectorRows;
        public long Items;
    }

    private Plan Check(Workload workload, Config config, CpuTarget target)
    {
        return new Plan(Validate<Conv2dWorkload>(workload, config), config, target);
    }

    /// <summary>
    /// The loops as Work, Row and the tiles write them: items (batch, group, tile_k block, row)
    /// (parallel 0) or (batch, group, tile_k block) with the rows inside (parallel 1). Stride-1
    /// rows: tiles of tile_ow vectors along the width, then CG, kh, kw and tile_k broadcast weights
    /// x tile_ow vectors (border columns and the narrower or scalar tails folded into
    /// ceil(OW / (tile_ow VF)) tiles). Other strides run the scalar loop for every column: tile_k
    /// channels, OW columns, CG, kh, kw, one multiply-add each, nothing vectorized.
    /// </summary>
    public override LoopNest DescribeLoops(Workload workload, Config config, CpuTarget target)
    {
        var p = Check(workload, config, target);
        var c = (Conv2dWorkload)workload;
        var b = new LoopNestBuilder();
        var input = b.Buffer("input", BufferRole.Input, ("n", c.Batch), ("c", c.InChannels), ("h", c.InHeight), ("w", c.InWidth));
        var weight = b.Buffer("weight", BufferRole.Weight, ("k", c.OutChannels), ("c", p.Cg), ("kh", c.KernelHeight), ("kw", c.KernelWidth));
        var output = b.Buffer("output", BufferRole.Output, ("n", c.Batch), ("k", c.OutChannels), ("oh", c.OutHeight), ("ow", c.OutWidth));
        var n = LoopNestBuilder.Axis("n", c.Batch, input.At("n"), output.At("n"));
        var g = LoopNestBuilder.Axis("g", c.Groups, input.At("c", p.Cg), weight.At("k", p.Kg), output.At("k", p.Kg));
        var kb = LoopNestBuilder.Axis("kb", p.KBlocks, weight.At("k", p.Tk), output.At("k", p.Tk));
        var oh = LoopNestBuilder.Axis("oh", c.OutHeight, input.At("h", c.StrideHeight), output.At("oh"));
        // Run: pool.For(items); Work: the row loop with parallel 1.
        if (p.Parallel == 0)
            b.Fused(LoopAnnotation.Parallel, n, g, kb, oh);
        else
            b.Fused(LoopAnnotation.Parallel, n, g, kb).Loop("oh", oh.Extent, oh.Accesses);
        if (p.VectorRows)
        {
            int width = p.Tow * p.Vf;
            b.Loop("ow.outer", (c.OutWidth + width - 1) / width, input.At("w", width), output.At("ow", width));
            b.Loop("c", p.Cg, input.At("c"), weight.At("c"));
            b.Loop("kh", c.KernelHeight, input.At("h", c.DilationHeight), weight.At("kh"));
            b.Loop("kw", c.KernelWidth, input.At("w", c.DilationWidth), weight.At("kw"));
            b.Loop("k.inner", p.Tk, LoopAnnotation.Unrolled, weight.At("k"), output.At("k"));
            b.Loop("ow.vec", p.Tow, LoopAnnotation.Unrolled, input.At("w", p.Vf), output.At("ow", p.Vf));
            b.Loop("ow.lane", p.Vf, LoopAnnotation.Vectorized, input.At("w"), output.At("ow"));
            int full = (p.OwHi - p.OwLo) / width * width;
            return b.Build(flopsPerIteration: 2, vectorRegisters: RegistersNeeded(p.Tk, p.Tow), fullTileFraction: (double)full / c.OutWidth);
        }
        // Scalar: for k { for ow { acc; for c { for kh { for kw } } } }.
        b.Loop("k.inner", p.Tk, weight.At("k"), output.At("k"));
        b.Loop("ow", c.OutWidth, input.At("w", c.StrideWidth), output.At("ow"));
        b.Loop("c", p.Cg, input.At("c"), weight.At("c"));
        b.Loop("kh", c.KernelHeight, input.At("h", c.DilationHeight), weight.At("kh"));
        b.Loop("kw", c.KernelWidth, input.At("w", c.DilationWidth), weight.At("kw"));
        // One accumulator and two operands.
        return b.Build(flopsPerIteration: 2, vectorRegisters: 3, fullTileFraction: 1.0);
    }

    /// <remarks><see cref="DescribeLoops"/> mirrors the loops of Run, Work, Row, EmitVectorTile and EmitScalar: change them together.</remarks>
    public override string Emit(Workload workload, Epilogue epilogue, Config config, CpuTarget target, string ns, string className)
    {
        var c = (Conv2dWorkload)workload;
        var plan = Check(workload, config, target);
        int tk = plan.Tk, tow = plan.Tow;
        int vf = plan.Vf;
        string V = target.VectorClass;
        int cg = plan.Cg, kg = plan.Kg;
        int owLo = plan.OwLo;
        int owHi = plan.OwHi;
        bool vectorRows = plan.VectorRows;
        int kBlocks = plan.KBlocks;
        long items = plan.Items;

        var w = new CodeWriter();
        EmitterShared.Header(w, Name, workload.Key + " epilogue: " + epilogue + "\nconfig: " + config);
        w.Block("namespace " + ns, () =>
        {
            EmitterShared.Usings(w);
            w.Line();
            w.Block($"internal sealed unsafe class {className} : ITunedKernel", () =>
            {
                w.Line(Invariant($"private const int N = {c.Batch}, C = {c.InChannels}, K = {c.OutChannels}, G = {c.Groups}, CG = {cg}, KG = {kg};"));
                w.Line(Invariant($"private const int H = {c.InHeight}, W = {c.InWidth}, OH = {c.OutHeight}, OW = {c.OutWidth}, KH = {c.KernelHeight}, KW = {c.KernelWidth};"));
                w.Line(Invariant($"private const int SH = {c.StrideHeight}, SW = {c.StrideWidth}, DH = {c.DilationHeight}, DW = {c.DilationWidth}, PT = {c.PadTop}, PL = {c.PadLeft};"));
                w.Line(Invariant($"private const int TK = {tk}, TOW = {tow}, VF = {vf}, KBlocks = {kBlocks}, OwLo = {owLo}, OwHi = {owHi};"));
                EmitterShared.PackedStorage(w, className, checked((long)c.OutChannels * cg * c.KernelHeight * c.KernelWidth), c.OutChannels);
                w.Line();
                EmitterShared.ForcePortableSwitch(w, "Forces the portable scalar path (tests compare both paths).");
                w.Line();
                w.Line("public int InputLength => N * C * H * W;");
                w.Line("public int OutputLength => N * K * OH * OW;");
                w.Line();
                w.Block("public void Prepare(float[] weights, float[]? bias)", () =>
                {
                    w.Line("if (weights.Length != K * CG * KH * KW) throw new ArgumentException(\"expected \" + (K * CG * KH * KW) + \" OIHW weights\", nameof(weights));");
                    w.Line("AllocatePacked();");
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
                    EmitterShared.UsePacked(w, "wp", "bp", () =>
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
                if (e.Activation.Length > 0)
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
