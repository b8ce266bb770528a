using System;
using System.Collections.Generic;
using AutoKernel.Generator.Schedules;
using AutoKernel.Generator.Workloads;
using static System.FormattableString;

namespace AutoKernel.Generator.Kernels;

/// <summary>
/// Depthwise 2-D convolution (channel multiplier 1) in the NCHW[cb]c layout: input, output and
/// residual are (N, C/cb, H, W, cb) with zero-padded channels, weights are packed [C/cb][kh][kw][cb].
/// Each output row is computed as a left border, an interior of tile_ow-wide register blocks with
/// no bounds checks, and a right border.
/// </summary>
/// <remarks>
/// Knobs: cb (channel block: VF or 2VF), tile_ow (output pixels per register block), unroll_kw
/// (1: kw loop unrolled by the emitter, all kw weights held in registers and each input column
/// loaded once for every tap that reads it), parallel (0: items are (batch, channel block), 1: items
/// are (batch, channel block, output row)).
/// </remarks>
public sealed class DepthwiseConv2dTemplate : KernelTemplate
{
    public override string Name => "depthwise_conv2d_nchwc";

    public override bool Supports(Workload workload) =>
        workload is Conv2dWorkload c && c.Groups == c.InChannels && c.OutChannels == c.InChannels
        && c.Batch > 0 && c.OutHeight > 0 && c.OutWidth > 0;

    public override ConfigSpace CreateSpace(Workload workload, CpuTarget target)
    {
        var c = Validate<Conv2dWorkload>(workload);
        int vf = target.VectorFloats;
        int channelVectors = (c.InChannels + vf - 1) / vf;
        int regs = target.VectorRegisters;
        int ow = c.OutWidth;
        var knobs = new[]
        {
            Knob.Choice("cb", KnobKind.Split, vf, 2 * vf),
            Knob.Choice("tile_ow", KnobKind.Split, 1, 2, 3, 4, 5, 6, 7, 8),
            Knob.Choice("unroll_kw", KnobKind.Annotate, 0, 1),
            Knob.Choice("parallel", KnobKind.Annotate, 0, 1),
        };
        var constraints = new Func<Config, bool>[]
        {
            x => x.Value("cb") / vf <= channelVectors,
            x => x.Value("tile_ow") <= ow,
            x => RegistersNeeded(x.Value("tile_ow"), x.Value("unroll_kw") == 1, c.KernelWidth, x.Value("cb"), vf) <= regs,
        };
        return new ConfigSpace(Name, knobs, constraints);
    }

    /// <summary>Vector registers of the tile: accumulators, weights (all kw taps when unrolled) and one input vector.</summary>
    private static int RegistersNeeded(int tileOw, bool unrollKw, int kernelWidth, int cb, int vf) =>
        (tileOw + (unrollKw ? kernelWidth : 1)) * (cb / vf) + 1;

    /// <summary>The schedule and the derived constants the emitter bakes in.</summary>
    private sealed class Plan
    {
        public Plan(Conv2dWorkload c, Config config, CpuTarget target)
        {
            Vf = target.VectorFloats;
            Cb = config.Value("cb");
            Tow = config.Value("tile_ow");
            UnrollKw = config.Value("unroll_kw") == 1;
            Parallel = config.Value("parallel");
            if (Cb % Vf != 0)
                throw new ArgumentException($"config {config} does not fit {target.VectorClass}", nameof(config));
            Nvec = Cb / Vf;
            CBlocks = (c.InChannels + Cb - 1) / Cb;
            int OW = c.OutWidth, W = c.InWidth, KW = c.KernelWidth, SW = c.StrideWidth, DW = c.DilationWidth, PL = c.PadLeft;
            // Interior output columns: every kw tap inside the input.
            OwLo = Math.Min(OW, (PL + SW - 1) / SW);
            int num = W - 1 + PL - (KW - 1) * DW;
            OwHi = num < 0 ? 0 : Math.Min(OW, num / SW + 1);
            if (OwHi < OwLo)
                OwHi = OwLo;
            InteriorTiles = (OwHi - OwLo) / Tow;
            TileEnd = OwLo + InteriorTiles * Tow;
        }

        public int Vf, Cb, Tow, Parallel, Nvec, CBlocks, OwLo, OwHi, InteriorTiles, TileEnd;
        public bool UnrollKw;
    }

    private Plan Check(Workload workload, Config config, CpuTarget target)
    {
        return new Plan(Validate<Conv2dWorkload>(workload, config), config, target);
    }

    /// <summary>
    /// The main path's loops as Run, Row and EmitTile write them: items (batch, channel block) with
    /// the row loop inside (parallel 0) or (batch, channel block, row) (parallel 1), the row's
    /// column tiles, then kh, kw (unrolled with unroll_kw), tile_ow columns x cb/VF vectors. Border
    /// columns and the interior remainder (done one pixel at a time) are folded into ceil(OW / tile_ow) tiles.
    /// </summary>
    public override LoopNest DescribeLoops(Workload workload, Config config, CpuTarget target)
    {
        var p = Check(workload, config, target);
        var c = (Conv2dWorkload)workload;
        var b = new LoopNestBuilder();
        var input = b.Buffer("input", BufferRole.Input, ("n", c.Batch), ("cb", p.CBlocks), ("h", c.InHeight), ("w", c.InWidth), ("c", p.Cb));
        var weight = b.Buffer("weight", BufferRole.Weight, ("cb", p.CBlocks), ("kh", c.KernelHeight), ("kw", c.KernelWidth), ("c", p.Cb));
        var output = b.Buffer("output", BufferRole.Output, ("n", c.Batch), ("cb", p.CBlocks), ("oh", c.OutHeight), ("ow", c.OutWidth), ("c", p.Cb));
        var n = LoopNestBuilder.Axis("n", c.Batch, input.At("n"), output.At("n"));
        var cb = LoopNestBuilder.Axis("cb", p.CBlocks, input.At("cb"), weight.At("cb"), output.At("cb"));
        var oh = LoopNestBuilder.Axis("oh", c.OutHeight, input.At("h", c.StrideHeight), output.At("oh"));
        if (p.Parallel == 0)
            b.Fused(LoopAnnotation.Parallel, n, cb).Loop("oh", oh.Extent, oh.Accesses);
        else
            b.Fused(LoopAnnotation.Parallel, n, cb, oh);
        b.Loop("ow.outer", (c.OutWidth + p.Tow - 1) / p.Tow, input.At("w", p.Tow * c.StrideWidth), output.At("ow", p.Tow));
        b.Loop("kh", c.KernelHeight, input.At("h", c.DilationHeight), weight.At("kh"));
        b.Loop("kw", c.KernelWidth, p.UnrollKw ? LoopAnnotation.Unrolled : LoopAnnotation.Serial, input.At("w", c.DilationWidth), weight.At("kw"));
        b.Loop("ow.inner", p.Tow, LoopAnnotation.Unrolled, input.At("w", c.StrideWidth), output.At("ow"));
        b.Loop("c.vec", p.Nvec, LoopAnnotation.Unrolled, input.At("c", p.Vf), weight.At("c", p.Vf), output.At("c", p.Vf));
        b.Loop("c.lane", p.Vf, LoopAnnotation.Vectorized, input.At("c"), weight.At("c"), output.At("c"));
        return b.Build(
            flopsPerIteration: 2,
            vectorRegisters: RegistersNeeded(p.Tow, p.UnrollKw, c.KernelWidth, p.Cb, p.Vf),
            fullTileFraction: (double)p.InteriorTiles * p.Tow / c.OutWidth);
    }

    /// <remarks><see cref="DescribeLoops"/> mirrors the loops of Run, Row and EmitTile: change them together.</remarks>
    public override string Emit(Workload workload, Epilogue epilogue, Config config, CpuTarget target, string ns, string className)
    {
        var c = Validate<Conv2dWorkload>(workload);
        var plan = Check(workload, config, target);
        int vf = plan.Vf;
        int cb = plan.Cb, tow = plan.Tow;
        bool unrollKw = plan.UnrollKw;
        int parallel = plan.Parallel;
        string V = target.VectorClass;
        int nvec = plan.Nvec;
        int C = c.InChannels, H = c.InHeight, W = c.InWidth, OH = c.OutHeight, OW = c.OutWidth;
        int KH = c.KernelHeight, KW = c.KernelWidth, SH = c.StrideHeight, SW = c.StrideWidth;
        int DH = c.DilationHeight, DW = c.DilationWidth, PT = c.PadTop, PL = c.PadLeft;
        int cBlocks = plan.CBlocks;
        bool mask = EpilogueCode.NeedsChannelMask(C, cb, epilogue);
        int owLo = plan.OwLo, owHi = plan.OwHi, interiorTiles = plan.InteriorTiles, tileEnd = plan.TileEnd;

        var w = new CodeWriter();
        EmitterShared.Header(w, Name, Invariant($"{c.Key} epilogue: bias={epilogue.Bias} residual={epilogue.Residual} activation={epilogue.Activation}") + "\nconfig: " + config);
        EmitterShared.Usings(w);
        w.Line();
        w.Block($"namespace {ns}", () =>
        {
            w.Block($"internal sealed unsafe class {className} : AutoKernel.Runtime.Kernels.ITunedKernel", () =>
            {
                w.Line(Invariant($"private const int B = {c.Batch}, C = {C}, H = {H}, W = {W}, OH = {OH}, OW = {OW};"));
                w.Line(Invariant($"private const int KH = {KH}, KW = {KW}, SH = {SH}, SW = {SW}, DH = {DH}, DW = {DW}, PT = {PT}, PL = {PL};"));
                w.Line(Invariant($"private const int CB = {cb}, CBlocks = {cBlocks}, VF = {vf}, TOW = {tow};"));
                w.Line(Invariant($"private const int OwLo = {owLo}, OwHi = {owHi}, TileEnd = {tileEnd};"));
                // Bias (padded to whole channel blocks), then, when needed, an all-ones/zero bit mask that keeps padded channels at 0.
                EmitterShared.PackedStorage(w, className, checked((long)cBlocks * KH * KW * cb), checked((mask ? 2L : 1L) * cBlocks * cb));
                w.Line();
                EmitterShared.ForcePortableSwitch(w, "Forces the portable scalar path (for tests on accelerated machines).");
                w.Line();
                w.Line("public int InputLength => B * CBlocks * CB * H * W;");
                w.Line("public int OutputLength => B * CBlocks * CB * OH * OW;");
                w.Line();
                w.Block("public void Prepare(float[] weights, float[]? bias)", () =>
                {
                    w.Line("if (weights.Length < C * KH * KW) throw new ArgumentException(\"weights too short\", nameof(weights));");
                    w.Line("AllocatePacked();");
                    w.Line("for (int ch = 0; ch < C; ch++)");
                    w.Line("    for (int t = 0; t < KH * KW; t++)");
                    w.Line("        _w[((ch / CB) * KH * KW + t) * CB + ch % CB] = weights[ch * KH * KW + t];");
                    w.Line("if (bias != null) Array.Copy(bias, _b, C);");
                    if (mask)
                        w.Line("for (int ch = 0; ch < C; ch++) _b[CBlocks * CB + ch] = BitConverter.Int32BitsToSingle(-1);");
                });
                w.Line();
                w.Line("public void InputToNative(ReadOnlySpan<float> standard, Span<float> native) => Layouts.NchwToBlocked(standard, native, B, C, H, W, CB);");
                w.Line("public void OutputToNative(ReadOnlySpan<float> standard, Span<float> native) => Layouts.NchwToBlocked(standard, native, B, C, OH, OW, CB);");
                w.Line("public void OutputFromNative(ReadOnlySpan<float> native, Span<float> standard) => Layouts.BlockedToNchw(native, standard, B, C, OH, OW, CB);");
                w.Line();
                w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
                w.Block("public void Run(float* input, float* output, float* residual, WorkerPool pool)", () =>
                {
                    EmitterShared.UsePacked(w, "wp", "bp", () =>
                    {
                        w.Block($"if (!{EmitterShared.Accelerated(V)} || ForcePortable)", () =>
                        {
                            w.Line("RunPortable(input, output, residual, wp, bp);");
                            w.Line("return;");
                        });
                        w.Line("var state = ((nint)input, (nint)output, (nint)residual, (nint)wp, (nint)bp);");
                        if (parallel == 0)
                        {
                            w.Block("pool.For(B * CBlocks, state, static (s, i) =>", () =>
                            {
                                w.Line("for (int oh = 0; oh < OH; oh++)");
                                w.Line("    Row((float*)s.Item1, (float*)s.Item2, (float*)s.Item3, (float*)s.Item4, (float*)s.Item5, i, oh);");
                            });
                        }
                        else
                        {
                            w.Block("pool.For(B * CBlocks * OH, state, static (s, i) =>", () =>
                                w.Line("Row((float*)s.Item1, (float*)s.Item2, (float*)s.Item3, (float*)s.Item4, (float*)s.Item5, i / OH, i % OH);"));
                        }
                        w.Line(");");
                    });
                });
                w.Line();

                // One output row of one (batch, channel block) plane.
                w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
                w.Block("private static void Row(float* x, float* y, float* r, float* wp, float* bp, int plane, int oh)", () =>
                {
                    w.Line("float* xin = x + (long)plane * H * W * CB;");
                    w.Line("float* yo = y + ((long)plane * OH + oh) * OW * CB;");
                    w.Line("float* ro = r == null ? null : r + ((long)plane * OH + oh) * OW * CB;");
                    w.Line("int cbk = plane % CBlocks;");
                    w.Line("float* wk = wp + cbk * KH * KW * CB;");
                    w.Line("float* bk = bp + cbk * CB;");
                    w.Line("int ih0 = oh * SH - PT;");
                    w.Line("int khLo = ih0 >= 0 ? 0 : (-ih0 + DH - 1) / DH;");
                    w.Line("int khHi = H - 1 - ih0 < 0 ? 0 : Math.Min(KH, (H - 1 - ih0) / DH + 1);");
                    w.Line("for (int ow = 0; ow < OwLo; ow++) Pixel(xin, yo, ro, wk, bk, ih0, khLo, khHi, ow);");
                    if (interiorTiles > 0)
                        w.Line("for (int ow = OwLo; ow < TileEnd; ow += TOW) Tile(xin, yo, ro, wk, bk, ih0, khLo, khHi, ow);");
                    w.Line("for (int ow = TileEnd; ow < OW; ow++) Pixel(xin, yo, ro, wk, bk, ih0, khLo, khHi, ow);");
                });
                w.Line();
                EmitPixel(w, epilogue, V, vf, nvec, mask);
                if (interiorTiles > 0)
                    EmitTile(w, epilogue, V, vf, nvec, tow, KW, SW, DW, unrollKw, mask);
                EmitPortable(w, epilogue, mask);
            });
        });
        return w.ToString();
    }

    private static void EmitEpilogueAndStore(CodeWriter w, Epilogue e, string V, int vf, string acc, string bias, string offset, string? maskAt)
    {
        if (e.Bias)
            w.Line($"{acc} += {bias};");
        if (e.Residual)
            w.Line($"{acc} += {V}.Load(ro + {offset});");
        if (e.Activation.Length > 0)
            w.Line($"{acc} = {EpilogueCode.Vector(e, acc, V)};");
        if (maskAt is not null)
            w.Line($"{acc} = {V}.BitwiseAnd({acc}, {V}.Load({maskAt}));");
        w.Line($"{acc}.Store(yo + {offset});");
    }

    /// <summary>One output pixel with bounds checks on the width (borders and the interior remainder).</summary>
    private static void EmitPixel(CodeWriter w, Epilogue e, string V, int vf, int nvec, bool mask)
    {
        w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
        w.Block("private static void Pixel(float* xin, float* yo, float* ro, float* wk, float* bk, int ih0, int khLo, int khHi, int ow)", () =>
        {
            for (int v = 0; v < nvec; v++)
                w.Line($"var a{v} = {V}<float>.Zero;");
            w.Line("int iw0 = ow * SW - PL;");
            w.Block("for (int kh = khLo; kh < khHi; kh++)", () =>
            {
                w.Line("float* xrow = xin + (long)(ih0 + kh * DH) * W * CB;");
                w.Line("float* wrow = wk + kh * KW * CB;");
                w.Block("for (int kw = 0; kw < KW; kw++)", () =>
                {
                    w.Line("int iw = iw0 + kw * DW;");
                    w.Line("if ((uint)iw >= (uint)W) continue;");
                    for (int v = 0; v < nvec; v++)
                        w.Line(Invariant($"a{v} = {V}.FusedMultiplyAdd({V}.Load(xrow + iw * CB + {v * vf}), {V}.Load(wrow + kw * CB + {v * vf}), a{v});"));
                });
            });
            for (int v = 0; v < nvec; v++)
                EmitEpilogueAndStore(w, e, V, vf, Invariant($"a{v}"), Invariant($"{V}.Load(bk + {v * vf})"), Invariant($"ow * CB + {v * vf}"), mask ? Invariant($"bk + CBlocks * CB + {v * vf}") : null);
        });
        w.Line();
    }

    /// <summary>tile_ow interior pixels × cb/VF vectors of accumulators, no bounds checks.</summary>
    private static void EmitTile(CodeWriter w, Epilogue e, string V, int vf, int nvec, int tow, int kw, int sw, int dw, bool unrollKw, bool mask)
    {
        w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
        w.Block("private static void Tile(float* xin, float* yo, float* ro, float* wk, float* bk, int ih0, int khLo, int khHi, int ow0)", () =>
        {
            for (int t = 0; t < tow; t++)
                for (int v = 0; v < nvec; v++)
                    w.Line(Invariant($"var a{t}_{v} = {V}<float>.Zero;"));
            w.Line("int iw0 = ow0 * SW - PL;");
            w.Block("for (int kh = khLo; kh < khHi; kh++)", () =>
            {
                w.Line("float* xrow = xin + ((long)(ih0 + kh * DH) * W + iw0) * CB;");
                w.Line("float* wrow = wk + kh * KW * CB;");
                void Tap(string k)
                {
                    for (int v = 0; v < nvec; v++)
                        w.Line(Invariant($"var w{v} = {V}.Load(wrow + {k} * CB + {v * vf});"));
                    for (int t = 0; t < tow; t++)
                    {
                        for (int v = 0; v < nvec; v++)
                            w.Line(Invariant($"a{t}_{v} = {V}.FusedMultiplyAdd({V}.Load(xrow + ({t} * SW + {k} * DW) * CB + {v * vf}), w{v}, a{t}_{v});"));
                    }
                }
                if (unrollKw)
                {
                    // All kw weights in registers; each distinct input column (t * SW + k * DW) is
                    // loaded once and feeds every (t, k) tap that reads it (stride 1: tile_ow + KW - 1
                    // loads per vector instead of tile_ow * KW).
                    for (int k = 0; k < kw; k++)
                        for (int v = 0; v < nvec; v++)
                            w.Line(Invariant($"var w{k}_{v} = {V}.Load(wrow + {k * vf * nvec + v * vf});"));
                    var taps = new SortedDictionary<int, List<(int T, int K)>>();
                    for (int t = 0; t < tow; t++)
                    {
                        for (int k = 0; k < kw; k++)
                        {
                            int col = t * sw + k * dw;
                            if (!taps.TryGetValue(col, out var list))
                                taps[col] = list = new List<(int, int)>();
                            list.Add((t, k));
                        }
                    }
                    foreach (var pair in taps)
                    {
                        for (int v = 0; v < nvec; v++)
                        {
                            w.Line(Invariant($"var x{pair.Key}_{v} = {V}.Load(xrow + {pair.Key * vf * nvec + v * vf});"));
                            foreach (var (t, k) in pair.Value)
                                w.Line(Invariant($"a{t}_{v} = {V}.FusedMultiplyAdd(x{pair.Key}_{v}, w{k}_{v}, a{t}_{v});"));
                        }
                    }
                }
                else
                {
                    w.Block("for (int kw = 0; kw < KW; kw++)", () => Tap("kw"));
                }
            });
            for (int v = 0; v < nvec; v++)
                w.Line(Invariant($"var bias{v} = {V}.Load(bk + {v * vf});"));
            for (int t = 0; t < tow; t++)
                for (int v = 0; v < nvec; v++)
                    EmitEpilogueAndStore(w, e, V, vf, Invariant($"a{t}_{v}"), Invariant($"bias{v}"), Invariant($"(ow0 + {t}) * CB + {v * vf}"), mask ? Invariant($"bk + CBlocks * CB + {v * vf}") : null);
        });
        w.Line();
    }

    private static void EmitPortable(CodeWriter w, Epilogue e, bool mask)
    {
        w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
        w.Block("private static void RunPortable(float* x, float* y, float* r, float* wp, float* bp)", () =>
        {
            w.Block("for (int plane = 0; plane < B * CBlocks; plane++)", () =>
            {
                w.Line("int cbk = plane % CBlocks;");
                w.Block("for (int oh = 0; oh < OH; oh++)", () =>
                {
                    w.Block("for (int ow = 0; ow < OW; ow++)", () =>
                    {
                        w.Block("for (int ci = 0; ci < CB; ci++)", () =>
                        {
                            w.Line("float s = 0f;");
                            w.Block("for (int kh = 0; kh < KH; kh++)", () =>
                            {
                                w.Line("int ih = oh * SH - PT + kh * DH;");
                                w.Line("if ((uint)ih >= (uint)H) continue;");
                                w.Block("for (int kw = 0; kw < KW; kw++)", () =>
                                {
                                    w.Line("int iw = ow * SW - PL + kw * DW;");
                                    w.Line("if ((uint)iw >= (uint)W) continue;");
                                    w.Line("s += x[(((long)plane * H + ih) * W + iw) * CB + ci] * wp[((cbk * KH + kh) * KW + kw) * CB + ci];");
                                });
                            });
                            w.Line("long o = (((long)plane * OH + oh) * OW + ow) * CB + ci;");
                            if (e.Bias)
                                w.Line("s += bp[cbk * CB + ci];");
                            if (e.Residual)
                                w.Line("s += r[o];");
                            w.Line(mask ? $"y[o] = cbk * CB + ci < C ? {EpilogueCode.Scalar(e, "s")} : 0f;" : $"y[o] = {EpilogueCode.Scalar(e, "s")};");
                        });
                    });
                });
            });
        });
    }
}
