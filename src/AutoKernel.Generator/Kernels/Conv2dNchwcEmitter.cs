using System;
using System.Globalization;
using System.Linq;
using AutoKernel.Generator.Workloads;

namespace AutoKernel.Generator.Kernels;

/// <summary>Every constant the conv2d_NCHWc emitter bakes into the source, derived from the workload and the schedule.</summary>
internal sealed class Conv2dNchwcPlan
{
    public Conv2dNchwcPlan(Conv2dWorkload c, int icBn, int ocBn, int tileOw, int tileOh, bool unrollKw, int[] order, int parallel)
    {
        if (icBn < 1 || ocBn < 1 || tileOw < 1 || tileOh < 1)
            throw new ArgumentException("tile sizes must be positive");
        if (!IsPermutation(order))
            throw new ArgumentException("order must be a permutation of 0..2", nameof(order));
        if (parallel is < 0 or > 2)
            throw new ArgumentOutOfRangeException(nameof(parallel));
        N = c.Batch; IC = c.InChannels; IH = c.InHeight; IW = c.InWidth; OC = c.OutChannels;
        KH = c.KernelHeight; KW = c.KernelWidth; SH = c.StrideHeight; SW = c.StrideWidth;
        PT = c.PadTop; PL = c.PadLeft; DH = c.DilationHeight; DW = c.DilationWidth;
        OH = c.OutHeight; OW = c.OutWidth;
        IcBn = icBn; OcBn = ocBn; TileOw = tileOw; TileOh = tileOh; UnrollKw = unrollKw; Order = order; Parallel = parallel;
        ICB = (IC + icBn - 1) / icBn;
        OCB = (OC + ocBn - 1) / ocBn;
        OHB = (OH + tileOh - 1) / tileOh;

        // Interior columns: every kw tap lands inside the input row, so the tile path needs no checks.
        int first = -1, last = -1;
        for (int ow = 0; ow < OW; ow++)
        {
            int iw = ow * SW - PL;
            if (iw >= 0 && iw + DW * (KW - 1) <= IW - 1)
            {
                if (first < 0)
                    first = ow;
                last = ow;
            }
        }
        OwLo = first < 0 ? OW : first;
        OwHi = first < 0 ? OW : last + 1;
        int interior = OwHi - OwLo;
        FullTiles = interior / tileOw;
        Remainder = interior % tileOw;
    }

    private static bool IsPermutation(int[] order) =>
        order.Length == 3 && order[0] != order[1] && order[0] != order[2] && order[1] != order[2]
        && order[0] is >= 0 and <= 2 && order[1] is >= 0 and <= 2 && order[2] is >= 0 and <= 2;

    public int N, IC, IH, IW, OC, KH, KW, SH, SW, PT, PL, DH, DW, OH, OW;
    public int IcBn, OcBn, TileOw, TileOh, Parallel;
    public bool UnrollKw;
    public int[] Order;
    public int ICB, OCB, OHB;
    public int OwLo, OwHi, FullTiles, Remainder;

    // Strides in floats.
    public int InRow => IW * IcBn;
    public int InCb => IH * IW * IcBn;
    public int InN => ICB * InCb;
    public int WKw => IcBn * OcBn;
    public int WKh => KW * WKw;
    public int WCb => KH * WKh;
    public int WOcb => ICB * WCb;
    public int OutRow => OW * OcBn;
    public int OutOcb => OH * OW * OcBn;
    public int OutN => OCB * OutOcb;
    public int InputLength => checked(N * ICB * IcBn * IH * IW);
    public int OutputLength => checked(N * OCB * OcBn * OH * OW);
    public int WeightLength => checked(OCB * WOcb);

    public int TaskCount => Parallel == Conv2dNchwcTemplate.ParallelOcRows ? checked(N * OCB * OHB) : checked(N * OHB);

    /// <summary>
    /// The main path's loop nest, as <see cref="Conv2dNchwcEmitter"/> writes it: Work's tasks and
    /// row loops (EmitWork), the row's column tiles (EmitRow), the (ic block, kh, kw) loops in the
    /// order knob's order (Nest), and the micro-loop over ic with tile_ow x oc_bn/VF FMAs (MicroLoop).
    /// Border columns and the remainder tile are folded into ceil(OW / tile_ow) full tiles.
    /// </summary>
    public LoopNest Describe(CpuTarget target)
    {
        int vf = target.VectorFloats;
        var b = new LoopNestBuilder();
        var input = b.Buffer("input", BufferRole.Input, ("n", N), ("icb", ICB), ("ih", IH), ("iw", IW), ("ic", IcBn));
        var weight = b.Buffer("weight", BufferRole.Weight, ("ocb", OCB), ("icb", ICB), ("kh", KH), ("kw", KW), ("ic", IcBn), ("oc", OcBn));
        var output = b.Buffer("output", BufferRole.Output, ("n", N), ("ocb", OCB), ("oh", OH), ("ow", OW), ("oc", OcBn));
        var n = LoopNestBuilder.Axis("n", N, input.At("n"), output.At("n"));
        var ocb = LoopNestBuilder.Axis("ocb", OCB, weight.At("ocb"), output.At("ocb"));
        var ohb = LoopNestBuilder.Axis("ohb", OHB, input.At("ih", TileOh * SH), output.At("oh", TileOh));
        // Work: pool.For(TaskCount) over (n, ocb, ohb) or (n, ohb); the oc blocks outside or inside the rows.
        if (Parallel == Conv2dNchwcTemplate.ParallelOcRows)
            b.Fused(LoopAnnotation.Parallel, n, ocb, ohb);
        else
            b.Fused(LoopAnnotation.Parallel, n, ohb);
        if (Parallel == Conv2dNchwcTemplate.ParallelRowsOcOuter)
            b.Loop("ocb", OCB, ocb.Accesses);
        b.Loop("oh", TileOh, input.At("ih", SH), output.At("oh"));
        if (Parallel == Conv2dNchwcTemplate.ParallelRowsOcInner)
            b.Loop("ocb", OCB, ocb.Accesses);
        // Row: register tiles of tile_ow columns.
        b.Loop("ow.outer", (OW + TileOw - 1) / TileOw, input.At("iw", TileOw * SW), output.At("ow", TileOw));
        // Tile: Nest in the order knob's order.
        foreach (int axis in Order)
        {
            switch (axis)
            {
                case 0:
                    b.Loop("cb", ICB, input.At("icb"), weight.At("icb"));
                    break;
                case 1:
                    b.Loop("kh", KH, input.At("ih", DH), weight.At("kh"));
                    break;
                default:
                    b.Loop("kw", KW, UnrollKw ? LoopAnnotation.Unrolled : LoopAnnotation.Serial, input.At("iw", DW), weight.At("kw"));
                    break;
            }
        }
        // MicroLoop: the ic loop; per ic, oc_bn/VF weight vectors, then per column one broadcast and oc_bn/VF FMAs.
        b.Loop("ic", IcBn, input.At("ic"), weight.At("ic"));
        b.Loop("ow.inner", TileOw, LoopAnnotation.Unrolled, input.At("iw", SW), output.At("ow"));
        b.Loop("oc.vec", OcBn / vf, LoopAnnotation.Unrolled, weight.At("oc", vf), output.At("oc", vf));
        b.Loop("oc.lane", vf, LoopAnnotation.Vectorized, weight.At("oc"), output.At("oc"));
        return b.Build(
            flopsPerIteration: 2,
            vectorRegisters: Conv2dNchwcTemplate.RegistersNeeded(TileOw, OcBn, target),
            fullTileFraction: (double)FullTiles * TileOw / OW);
    }
}

/// <summary>Writes the C# class for one <see cref="Conv2dNchwcPlan"/>.</summary>
internal sealed class Conv2dNchwcEmitter
{
    private readonly Conv2dNchwcPlan _p;
    private readonly Epilogue _e;
    private readonly CpuTarget _target;
    private readonly string _description;
    private readonly CodeWriter _w = new();

    public Conv2dNchwcEmitter(Conv2dNchwcPlan plan, Epilogue epilogue, CpuTarget target, string description)
    {
        _p = plan;
        _e = epilogue;
        _target = target;
        _description = description;
    }

    /// <summary>
    /// Padded output channels accumulate exactly 0 (zero weights, bias and residual there), so they
    /// stay 0 unless the activation maps 0 elsewhere (Sigmoid, Clip with a positive minimum...):
    /// then the store masks them, so consumers of the blocked layout can rely on zero padding.
    /// </summary>
    private bool NeedsMask => EpilogueCode.NeedsChannelMask(_p.OC, _p.OcBn, _e);

    private static string S(FormattableString f) => FormattableString.Invariant(f);

    private CodeWriter L(FormattableString f) => _w.Line(FormattableString.Invariant(f));

    public string Emit(string ns, string className)
    {
        var p = _p;
        string vc = _target.VectorClass;
        // Block-scoped namespace with the usings inside it, so several kernels can share one file.
        EmitterShared.Header(_w, "conv2d_nchwc",
            S($"data={p.N}x{p.IC}x{p.IH}x{p.IW} weight={p.OC}x{p.IC}x{p.KH}x{p.KW} stride={p.SH}x{p.SW} pad={p.PT},{p.PL} dilation={p.DH}x{p.DW} out={p.OH}x{p.OW}") + "\n" + _description + " target=" + vc);
        _w.Block("namespace " + ns, () =>
        {
            EmitterShared.Usings(_w);
            _w.Line();
            _w.Block("internal sealed unsafe class " + className + " : ITunedKernel", () =>
            {
                EmitMembers(vc, className);
                _w.Line();
                EmitWork(vc);
                // Main path: register-blocked tiles in the target's vector width.
                _w.Line();
                EmitRow("Main", vc, _target.VectorFloats, tiles: true);
                EmitColumn("Main", vc, _target.VectorFloats);
                if (p.FullTiles > 0)
                    EmitTile("Main", vc, _target.VectorFloats, p.TileOw);
                if (p.Remainder > 0)
                    EmitTile("Main", vc, _target.VectorFloats, p.Remainder);
                // Portable path: the same accumulation order per output pixel, one column at a time
                // in Vector128 sub-vectors (software fallback where Vector128 is not accelerated).
                EmitRow("Portable", "Vector128", 4, tiles: false);
                EmitColumn("Portable", "Vector128", 4);
            });
        });
        return _w.ToString();
    }

    private void EmitMembers(string vc, string className)
    {
        var p = _p;
        L($"public const int IcBn = {p.IcBn}, OcBn = {p.OcBn};");
        // Bias (padded to whole oc blocks), then, when needed, an all-ones/zero bit mask that keeps padded channels at 0.
        EmitterShared.PackedStorage(_w, className, p.WeightLength, (NeedsMask ? 2 : 1) * p.OCB * p.OcBn);
        _w.Line();
        EmitterShared.ForcePortableSwitch(_w, "Runs the portable path even where " + vc + " is accelerated (tests, and machines where it is slow).");
        _w.Line();
        L($"public int InputLength => {p.InputLength};");
        L($"public int OutputLength => {p.OutputLength};");
        _w.Line();
        _w.Block("public void Prepare(float[] weights, float[]? bias)", () =>
        {
            L($"if (weights is null || weights.Length < {p.OC * p.IC * p.KH * p.KW}) throw new ArgumentException(\"expected {p.OC}x{p.IC}x{p.KH}x{p.KW} OIHW weights\", nameof(weights));");
            _w.Line("AllocatePacked();");
            _w.Line("var w = _w;");
            L($"for (int o = 0; o < {p.OC}; o++)");
            L($"for (int c = 0; c < {p.IC}; c++)");
            L($"for (int kh = 0; kh < {p.KH}; kh++)");
            L($"for (int kw = 0; kw < {p.KW}; kw++)");
            L($"    w[(o / {p.OcBn}) * {p.WOcb} + (c / {p.IcBn}) * {p.WCb} + kh * {p.WKh} + kw * {p.WKw} + (c % {p.IcBn}) * {p.OcBn} + o % {p.OcBn}] = weights[((o * {p.IC} + c) * {p.KH} + kh) * {p.KW} + kw];");
            if (_e.Bias)
            {
                L($"if (bias is null || bias.Length < {p.OC}) throw new ArgumentException(\"expected {p.OC} bias values\", nameof(bias));");
                L($"Array.Copy(bias, _b, {p.OC});");
            }
            if (NeedsMask)
                L($"for (int c = 0; c < {p.OC}; c++) _b[{p.OCB * p.OcBn} + c] = BitConverter.Int32BitsToSingle(-1);");
        });
        _w.Line();
        EmitterShared.BlockedConvPlumbing(_w, p.N, p.IC, p.IH, p.IW, p.IcBn, p.OC, p.OH, p.OW, p.OcBn, _e.Residual, vc, p.TaskCount);
    }

    /// <remarks><see cref="Conv2dNchwcPlan.Describe"/> mirrors the loops of EmitWork, EmitRow, Nest and MicroLoop: change them together.</remarks>
    private void EmitWork(string vc)
    {
        var p = _p;
        _w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
        _w.Block("private static void Work(State s, int task)", () =>
        {
            if (p.Parallel == Conv2dNchwcTemplate.ParallelOcRows)
            {
                L($"int n = task / {p.OCB * p.OHB}, rest = task % {p.OCB * p.OHB};");
                L($"int ocb = rest / {p.OHB}, ohb = rest % {p.OHB};");
            }
            else
            {
                L($"int n = task / {p.OHB}, ohb = task % {p.OHB};");
            }
            L($"float* inN = s.In + n * {p.InN};");
            L($"float* outN = s.Out + n * {p.OutN};");
            L($"float* resN = s.Res + n * {p.OutN};");
            L($"int ohEnd = Math.Min(ohb * {p.TileOh} + {p.TileOh}, {p.OH});");
            Action rows = () =>
            {
                _w.Block(S($"for (int oh = ohb * {p.TileOh}; oh < ohEnd; oh++)"), () =>
                {
                    L($"int offset = ocb * {p.OutOcb} + oh * {p.OutRow};");
                    L($"float* wOc = s.W + ocb * {p.WOcb};");
                    L($"float* bOc = s.B + ocb * {p.OcBn};");
                    _w.Line("if (s.Fast) RowMain(inN, wOc, bOc, outN + offset, resN + offset, oh);");
                    _w.Line("else RowPortable(inN, wOc, bOc, outN + offset, resN + offset, oh);");
                });
            };
            switch (p.Parallel)
            {
                case Conv2dNchwcTemplate.ParallelOcRows:
                    rows();
                    break;
                case Conv2dNchwcTemplate.ParallelRowsOcOuter:
                    _w.Block(S($"for (int ocb = 0; ocb < {p.OCB}; ocb++)"), rows);
                    break;
                default:
                    _w.Block(S($"for (int oh = ohb * {p.TileOh}; oh < ohEnd; oh++)"), () =>
                    {
                        _w.Block(S($"for (int ocb = 0; ocb < {p.OCB}; ocb++)"), () =>
                        {
                            L($"int offset = ocb * {p.OutOcb} + oh * {p.OutRow};");
                            L($"float* wOc = s.W + ocb * {p.WOcb};");
                            L($"float* bOc = s.B + ocb * {p.OcBn};");
                            _w.Line("if (s.Fast) RowMain(inN, wOc, bOc, outN + offset, resN + offset, oh);");
                            _w.Line("else RowPortable(inN, wOc, bOc, outN + offset, resN + offset, oh);");
                        });
                    });
                    break;
            }
        });
    }

    /// <summary>One output row of one oc block: border columns one at a time, interior columns in register tiles.</summary>
    private void EmitRow(string tag, string vc, int vf, bool tiles)
    {
        var p = _p;
        _w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
        _w.Block("private static void Row" + tag + "(float* inN, float* wOc, float* bOc, float* o, float* r, int oh)", () =>
        {
            L($"int ihBase = oh * {p.SH} - {p.PT};");
            // kh taps whose input row exists: computed once per row, so the hot loops never test rows.
            L($"int khLo = 0; while (khLo < {p.KH} && ihBase + khLo * {p.DH} < 0) khLo++;");
            L($"int khHi = {p.KH}; while (khHi > khLo && ihBase + (khHi - 1) * {p.DH} >= {p.IH}) khHi--;");
            if (!tiles)
            {
                L($"for (int ow = 0; ow < {p.OW}; ow++) Col{tag}(inN, wOc, bOc, o + ow * {p.OcBn}, r + ow * {p.OcBn}, ihBase, khLo, khHi, ow * {p.SW} - {p.PL});");
                return;
            }
            if (p.OwLo > 0)
                L($"for (int ow = 0; ow < {p.OwLo}; ow++) Col{tag}(inN, wOc, bOc, o + ow * {p.OcBn}, r + ow * {p.OcBn}, ihBase, khLo, khHi, ow * {p.SW} - {p.PL});");
            if (p.FullTiles > 0)
                L($"for (int ow = {p.OwLo}; ow < {p.OwLo + p.FullTiles * p.TileOw}; ow += {p.TileOw}) Tile{p.TileOw}{tag}(inN, wOc, bOc, o + ow * {p.OcBn}, r + ow * {p.OcBn}, ihBase, khLo, khHi, ow * {p.SW} - {p.PL});");
            if (p.Remainder > 0)
            {
                int ow = p.OwLo + p.FullTiles * p.TileOw;
                L($"Tile{p.Remainder}{tag}(inN, wOc, bOc, o + {ow * p.OcBn}, r + {ow * p.OcBn}, ihBase, khLo, khHi, {ow * p.SW - p.PL});");
            }
            if (p.OwHi < p.OW)
                L($"for (int ow = {p.OwHi}; ow < {p.OW}; ow++) Col{tag}(inN, wOc, bOc, o + ow * {p.OcBn}, r + ow * {p.OcBn}, ihBase, khLo, khHi, ow * {p.SW} - {p.PL});");
        });
    }

    /// <summary>One output pixel (all oc_bn channels) with the kw taps clamped to the input row: border columns and the portable path.</summary>
    private void EmitColumn(string tag, string vc, int vf)
    {
        var p = _p;
        int v = p.OcBn / vf;
        _w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
        _w.Block("private static void Col" + tag + "(float* inN, float* wOc, float* bOc, float* o, float* r, int ihBase, int khLo, int khHi, int iwBase)", () =>
        {
            L($"int kwLo = 0; while (kwLo < {p.KW} && iwBase + kwLo * {p.DW} < 0) kwLo++;");
            L($"int kwHi = {p.KW}; while (kwHi > kwLo && iwBase + (kwHi - 1) * {p.DW} >= {p.IW}) kwHi--;");
            DeclareAccumulators(vc, 1, v);
            _w.Block(S($"for (int cb = 0; cb < {p.ICB}; cb++)"), () =>
                _w.Block("for (int kh = khLo; kh < khHi; kh++)", () =>
                    _w.Block("for (int kw = kwLo; kw < kwHi; kw++)", () =>
                        MicroLoop(vc, vf, 1, v, "kw"))));
            StoreEpilogue(vc, vf, 1, v);
        });
    }

    /// <summary>The register-blocked micro-kernel for <paramref name="t"/> interior columns.</summary>
    private void EmitTile(string tag, string vc, int vf, int t)
    {
        var p = _p;
        int v = p.OcBn / vf;
        _w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
        _w.Block(S($"private static void Tile{t}{tag}(float* inN, float* wOc, float* bOc, float* o, float* r, int ihBase, int khLo, int khHi, int iwBase)"), () =>
        {
            DeclareAccumulators(vc, t, v);
            Nest(vc, vf, t, v, 0);
            StoreEpilogue(vc, vf, t, v);
        });
    }

    private void Nest(string vc, int vf, int t, int v, int level)
    {
        var p = _p;
        if (level == 3)
        {
            MicroLoop(vc, vf, t, v, "kw");
            return;
        }
        switch (p.Order[level])
        {
            case 0:
                _w.Block(S($"for (int cb = 0; cb < {p.ICB}; cb++)"), () => Nest(vc, vf, t, v, level + 1));
                break;
            case 1:
                _w.Block("for (int kh = khLo; kh < khHi; kh++)", () => Nest(vc, vf, t, v, level + 1));
                break;
            default:
                if (p.UnrollKw)
                {
                    for (int kw = 0; kw < p.KW; kw++)
                    {
                        int k = kw;
                        _w.Block(S($"// kw = {k}"), () => { L($"const int kw = {k};"); Nest(vc, vf, t, v, level + 1); });
                    }
                }
                else
                {
                    _w.Block(S($"for (int kw = 0; kw < {p.KW}; kw++)"), () => Nest(vc, vf, t, v, level + 1));
                }
                break;
        }
    }

    private void DeclareAccumulators(string vc, int t, int v)
    {
        for (int i = 0; i < t; i++)
            _w.Line(vc + "<float> " + string.Join(", ", Enumerable.Range(0, v).Select(j => S($"a{i}_{j} = {vc}<float>.Zero"))) + ";");
    }

    /// <summary>The ic loop of one (ic block, kh, kw) tap: oc_bn/VF weight vectors, then one broadcast and v FMAs per column.</summary>
    private void MicroLoop(string vc, int vf, int t, int v, string kw)
    {
        var p = _p;
        L($"float* ip = inN + cb * {p.InCb} + (ihBase + kh * {p.DH}) * {p.InRow} + (iwBase + {kw} * {p.DW}) * {p.IcBn};");
        L($"float* wp = wOc + cb * {p.WCb} + kh * {p.WKh} + {kw} * {p.WKw};");
        _w.Block(S($"for (int ic = 0; ic < {p.IcBn}; ic++, ip++, wp += {p.OcBn})"), () =>
        {
            for (int j = 0; j < v; j++)
                L($"{vc}<float> w{j} = {vc}.Load(wp + {j * vf});");
            for (int i = 0; i < t; i++)
            {
                L($"{vc}<float> x{i} = {vc}.Create(ip[{i * p.SW * p.IcBn}]);");
                for (int j = 0; j < v; j++)
                    L($"a{i}_{j} = {vc}.FusedMultiplyAdd(x{i}, w{j}, a{i}_{j});");
            }
        });
    }

    private void StoreEpilogue(string vc, int vf, int t, int v)
    {
        var p = _p;
        for (int j = 0; j < v; j++)
        {
            if (_e.Bias)
                L($"{vc}<float> bias{j} = {vc}.Load(bOc + {j * vf});");
        }
        for (int i = 0; i < t; i++)
        {
            for (int j = 0; j < v; j++)
            {
                int off = i * p.OcBn + j * vf;
                _w.Block(S($"// column {i}, vector {j}"), () => EpilogueCode.StoreVector(
                    _w, _e, vc, S($"a{i}_{j}"), S($"bias{j}"), S($"r + {off}"), NeedsMask ? S($"bOc + {p.OCB * p.OcBn + j * vf}") : null, S($"o + {off}")));
            }
        }
    }
}
