using System;
using System.Collections.Generic;
using System.Linq;
using AutoKernel.Generator.Schedules;
using AutoKernel.Generator.Workloads;

namespace AutoKernel.Generator.Kernels;

/// <summary>
/// 1x1, stride-1, unpadded convolution as a GEMM over the flattened H*W plane, in the same layouts
/// as <see cref="Conv2dNchwcTemplate"/> (input NCHW[ic_bn]c, output NCHW[oc_bn]c, weights
/// [oc/oc_bn][ic/ic_bn][ic_bn][oc_bn]). With no window there are no borders: the register tile
/// runs along the flattened plane across row ends, and tasks are chunks of that plane.
/// </summary>
/// <remarks>
/// Knobs: tile_ic, tile_oc (as in conv2d_nchwc), tile_p (register block along the plane, a
/// remainder tile covers the rest), tile_pt (register tiles per parallel task), parallel (0: tasks
/// are (batch, oc block, plane chunk); 1: tasks are (batch, plane chunk) and loop the oc blocks
/// inside each register tile, so the input tile stays in L1 across oc blocks; 2: tasks are
/// (batch, plane chunk) and loop the oc blocks outside the chunk).
/// </remarks>
public sealed class Conv2d1x1Template : KernelTemplate
{
    public override string Name => "conv2d_1x1_nchwc";

    public override bool Supports(Workload workload) =>
        workload is Conv2dWorkload c && c.Groups == 1 && c.KernelHeight == 1 && c.KernelWidth == 1
        && c.StrideHeight == 1 && c.StrideWidth == 1 && c.PadTop == 0 && c.PadLeft == 0 && c.PadBottom == 0 && c.PadRight == 0
        && c.Batch > 0 && c.InChannels > 0 && c.OutChannels > 0 && c.InHeight > 0 && c.InWidth > 0;

    public override ConfigSpace CreateSpace(Workload workload, CpuTarget target)
    {
        var c = Validate<Conv2dWorkload>(workload);
        int vf = target.VectorFloats;
        int plane = c.InHeight * c.InWidth;
        var (tileIc, tileOc) = EmitterShared.ChannelBlockKnobs(c, vf);
        var tileP = new Knob("tile_p", KnobKind.Split, Enumerable.Range(1, Math.Min(plane, 32)).Select(t => new[] { Blocks(plane, t), t }));
        var tilePt = Knob.Choice("tile_pt", KnobKind.Other, 1, 2, 4, 8, 16);
        var parallel = Knob.Choice("parallel", KnobKind.Other, 0, 1, 2);
        int registers = target.VectorRegisters;
        return new ConfigSpace(
            Name,
            [tileIc, tileOc, tileP, tilePt, parallel],
            [
                cfg => Conv2dNchwcTemplate.RegistersNeeded(cfg["tile_p"][1], cfg["tile_oc"][1], target) <= registers,
                // Chunks larger than the plane only repeat the one-chunk schedule.
                cfg => cfg.Value("tile_pt") == 1 || cfg["tile_p"][1] * cfg.Value("tile_pt") / 2 < plane,
            ]);
    }

    public override string Emit(Workload workload, Epilogue epilogue, Config config, CpuTarget target, string ns, string className) =>
        Emitter(workload, epilogue, config, target).Emit(ns, className);

    public override LoopNest DescribeLoops(Workload workload, Config config, CpuTarget target) =>
        Emitter(workload, Epilogue.None, config, target).Describe();

    private Conv2d1x1Emitter Emitter(Workload workload, Epilogue epilogue, Config config, CpuTarget target)
    {
        var c = Validate<Conv2dWorkload>(workload, config);
        int ocBn = config["tile_oc"][1];
        if (ocBn % target.VectorFloats != 0)
            throw new ArgumentException($"oc_bn {ocBn} is not a multiple of {target.VectorFloats}", nameof(config));
        return new Conv2d1x1Emitter(c, epilogue, target, config["tile_ic"][1], ocBn, config["tile_p"][1], config.Value("tile_pt"), config.Value("parallel"), config);
    }

    private static int Blocks(int extent, int block) => EmitterShared.Blocks(extent, block);
}

/// <summary>Writes the C# class for one conv2d_1x1_nchwc schedule.</summary>
internal sealed class Conv2d1x1Emitter
{
    private readonly Epilogue _e;
    private readonly CpuTarget _target;
    private readonly Config _config;
    private readonly CodeWriter _w = new();
    private readonly int _n, _ic, _h, _wd, _oc, _plane, _icBn, _ocBn, _icb, _ocb, _tile, _tilePt, _chunk, _chunks, _parallel, _rem;

    public Conv2d1x1Emitter(Conv2dWorkload c, Epilogue epilogue, CpuTarget target, int icBn, int ocBn, int tileP, int tilePt, int parallel, Config config)
    {
        if (icBn < 1 || ocBn < 1 || tileP < 1 || tilePt < 1 || parallel is < 0 or > 2)
            throw new ArgumentException("invalid schedule");
        _e = epilogue;
        _target = target;
        _config = config;
        _n = c.Batch; _ic = c.InChannels; _h = c.InHeight; _wd = c.InWidth; _oc = c.OutChannels;
        _plane = checked(_h * _wd);
        _icBn = icBn; _ocBn = ocBn; _tile = tileP; _tilePt = tilePt; _parallel = parallel;
        _icb = (_ic + icBn - 1) / icBn;
        _ocb = (_oc + ocBn - 1) / ocBn;
        _chunk = checked(tileP * tilePt);
        _chunks = (_plane + _chunk - 1) / _chunk;
        // Every chunk but the last holds whole tiles; the last ends with plane % tile_p columns.
        _rem = _plane % tileP;
    }

    private bool NeedsMask => EpilogueCode.NeedsChannelMask(_oc, _ocBn, _e);

    private static string S(FormattableString f) => FormattableString.Invariant(f);

    private void L(FormattableString f) => _w.Line(FormattableString.Invariant(f));

    public string Emit(string ns, string className)
    {
        string vc = _target.VectorClass;
        int inLen = checked(_n * _icb * _icBn * _plane), outLen = checked(_n * _ocb * _ocBn * _plane), wLen = checked(_ocb * _icb * _icBn * _ocBn);
        int tasks = _parallel == 0 ? checked(_n * _ocb * _chunks) : checked(_n * _chunks);
        EmitterShared.Header(_w, "conv2d_1x1_nchwc", S($"data={_n}x{_ic}x{_h}x{_wd} weight={_oc}x{_ic}x1x1") + " " + _config + " target=" + vc);
        _w.Block("namespace " + ns, () =>
        {
            EmitterShared.Usings(_w);
            _w.Line();
            _w.Block("internal sealed unsafe class " + className + " : ITunedKernel", () =>
            {
                L($"public const int IcBn = {_icBn}, OcBn = {_ocBn};");
                EmitterShared.PackedStorage(_w, className, wLen, (NeedsMask ? 2 : 1) * _ocb * _ocBn);
                _w.Line();
                EmitterShared.ForcePortableSwitch(_w, "Runs the portable (Vector128, one pixel at a time) path even where " + vc + " is accelerated.");
                L($"public int InputLength => {inLen};");
                L($"public int OutputLength => {outLen};");
                _w.Line();
                _w.Block("public void Prepare(float[] weights, float[]? bias)", () =>
                {
                    L($"if (weights is null || weights.Length < {_oc * _ic}) throw new ArgumentException(\"expected {_oc}x{_ic}x1x1 OIHW weights\", nameof(weights));");
                    _w.Line("AllocatePacked();");
                    L($"for (int o = 0; o < {_oc}; o++)");
                    L($"for (int c = 0; c < {_ic}; c++)");
                    L($"    _w[(o / {_ocBn}) * {_icb * _icBn * _ocBn} + (c / {_icBn}) * {_icBn * _ocBn} + (c % {_icBn}) * {_ocBn} + o % {_ocBn}] = weights[o * {_ic} + c];");
                    if (_e.Bias)
                    {
                        L($"if (bias is null || bias.Length < {_oc}) throw new ArgumentException(\"expected {_oc} bias values\", nameof(bias));");
                        L($"Array.Copy(bias, _b, {_oc});");
                    }
                    if (NeedsMask)
                        L($"for (int c = 0; c < {_oc}; c++) _b[{_ocb * _ocBn} + c] = BitConverter.Int32BitsToSingle(-1);");
                });
                _w.Line();
                EmitterShared.BlockedConvPlumbing(_w, _n, _ic, _h, _wd, _icBn, _oc, _h, _wd, _ocBn, _e.Residual, vc, tasks);
                _w.Line();
                EmitWork();
                EmitChunk("Main", true);
                EmitChunk("Portable", false);
                EmitTile("Main", vc, _target.VectorFloats, _tile);
                if (_rem > 0)
                    EmitTile("Main", vc, _target.VectorFloats, _rem);
                EmitTile("Portable", "Vector128", 4, 1);
            });
        });
        return _w.ToString();
    }

    /// <summary>
    /// The main path's loop nest as EmitWork, EmitChunk and EmitTile write it: tasks, the chunk's
    /// tile_pt register tiles with the oc blocks inside them (parallel 1) or outside the chunk
    /// (parallel 2), then per tile the ic blocks and the ic loop with tile_p x oc_bn/VF FMAs.
    /// The remainder tile of the last chunk is folded into a full one.
    /// </summary>
    public LoopNest Describe()
    {
        int vf = _target.VectorFloats;
        var b = new LoopNestBuilder();
        var input = b.Buffer("input", BufferRole.Input, ("n", _n), ("icb", _icb), ("p", _plane), ("ic", _icBn));
        var weight = b.Buffer("weight", BufferRole.Weight, ("ocb", _ocb), ("icb", _icb), ("ic", _icBn), ("oc", _ocBn));
        var output = b.Buffer("output", BufferRole.Output, ("n", _n), ("ocb", _ocb), ("p", _plane), ("oc", _ocBn));
        var n = LoopNestBuilder.Axis("n", _n, input.At("n"), output.At("n"));
        var ocb = LoopNestBuilder.Axis("ocb", _ocb, weight.At("ocb"), output.At("ocb"));
        var chunk = LoopNestBuilder.Axis("chunk", _chunks, input.At("p", _chunk), output.At("p", _chunk));
        // Work: pool.For(tasks).
        if (_parallel == 0)
            b.Fused(LoopAnnotation.Parallel, n, ocb, chunk);
        else
            b.Fused(LoopAnnotation.Parallel, n, chunk);
        if (_parallel == 2)
            b.Loop("ocb", _ocb, ocb.Accesses);
        // Chunk: register tiles, oc blocks inside each (parallel 1).
        b.Loop("p.outer", _tilePt, input.At("p", _tile), output.At("p", _tile));
        if (_parallel == 1)
            b.Loop("ocb", _ocb, ocb.Accesses);
        // Tile: ic blocks, the ic loop, tile_p broadcasts x oc_bn/VF FMAs.
        b.Loop("cb", _icb, input.At("icb"), weight.At("icb"));
        b.Loop("ic", _icBn, input.At("ic"), weight.At("ic"));
        b.Loop("p.inner", _tile, LoopAnnotation.Unrolled, input.At("p"), output.At("p"));
        b.Loop("oc.vec", _ocBn / vf, LoopAnnotation.Unrolled, weight.At("oc", vf), output.At("oc", vf));
        b.Loop("oc.lane", vf, LoopAnnotation.Vectorized, weight.At("oc"), output.At("oc"));
        return b.Build(
            flopsPerIteration: 2,
            vectorRegisters: Conv2dNchwcTemplate.RegistersNeeded(_tile, _ocBn, _target),
            fullTileFraction: (double)(_plane - _rem) / _plane);
    }

    /// <remarks><see cref="Describe"/> mirrors the loops of EmitWork, EmitChunk and EmitTile: change them together.</remarks>
    private void EmitWork()
    {
        int outOcb = _plane * _ocBn;
        _w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
        _w.Block("private static void Work(State s, int task)", () =>
        {
            if (_parallel == 0)
            {
                L($"int n = task / {_ocb * _chunks}, rest = task % {_ocb * _chunks};");
                L($"int ocb = rest / {_chunks}, chunk = rest % {_chunks};");
            }
            else
            {
                L($"int n = task / {_chunks}, chunk = task % {_chunks};");
            }
            L($"float* inN = s.In + n * {_icb * _icBn * _plane};");
            L($"float* outN = s.Out + n * {_ocb * outOcb};");
            L($"float* resN = s.Res + n * {_ocb * outOcb};");
            L($"int p0 = chunk * {_chunk}, pEnd = Math.Min(p0 + {_chunk}, {_plane});");
            switch (_parallel)
            {
                case 0:
                    _w.Line("if (s.Fast) ChunkMain(inN, s.W, s.B, outN, resN, ocb, ocb + 1, p0, pEnd);");
                    _w.Line("else ChunkPortable(inN, s.W, s.B, outN, resN, ocb, ocb + 1, p0, pEnd);");
                    break;
                case 1:
                    L($"if (s.Fast) ChunkMain(inN, s.W, s.B, outN, resN, 0, {_ocb}, p0, pEnd);");
                    L($"else ChunkPortable(inN, s.W, s.B, outN, resN, 0, {_ocb}, p0, pEnd);");
                    break;
                default:
                    _w.Block(S($"for (int ocb = 0; ocb < {_ocb}; ocb++)"), () =>
                    {
                        _w.Line("if (s.Fast) ChunkMain(inN, s.W, s.B, outN, resN, ocb, ocb + 1, p0, pEnd);");
                        _w.Line("else ChunkPortable(inN, s.W, s.B, outN, resN, ocb, ocb + 1, p0, pEnd);");
                    });
                    break;
            }
        });
    }

    /// <summary>Pixels [p0, pEnd) of oc blocks [ocLo, ocHi): register tiles outside, oc blocks inside (the input tile is reused from L1).</summary>
    private void EmitChunk(string tag, bool tiles)
    {
        int outOcb = _plane * _ocBn, wOcb = _icb * _icBn * _ocBn;
        _w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
        _w.Block("private static void Chunk" + tag + "(float* inN, float* w, float* b, float* outN, float* resN, int ocLo, int ocHi, int p0, int pEnd)", () =>
        {
            string call(int t, string p) => S($"Tile{t}{tag}(inN + {p} * {_icBn}, w + ocb * {wOcb}, b + ocb * {_ocBn}, outN + ocb * {outOcb} + {p} * {_ocBn}, resN + ocb * {outOcb} + {p} * {_ocBn});");
            int t = tiles ? _tile : 1;
            _w.Line("int p = p0;");
            _w.Block(S($"for (; p + {t} <= pEnd; p += {t})"), () =>
                _w.Block("for (int ocb = ocLo; ocb < ocHi; ocb++)", () => _w.Line(call(t, "p"))));
            if (tiles && _rem > 0)
            {
                _w.Block("if (p < pEnd)", () =>
                    _w.Block("for (int ocb = ocLo; ocb < ocHi; ocb++)", () => _w.Line(call(_rem, "p"))));
            }
        });
    }

    private void EmitTile(string tag, string vc, int vf, int t)
    {
        int v = _ocBn / vf;
        _w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
        _w.Block(S($"private static void Tile{t}{tag}(float* inP, float* wOc, float* bOc, float* o, float* r)"), () =>
        {
            for (int i = 0; i < t; i++)
                _w.Line(vc + "<float> " + string.Join(", ", Enumerable.Range(0, v).Select(j => S($"a{i}_{j} = {vc}<float>.Zero"))) + ";");
            _w.Block(S($"for (int cb = 0; cb < {_icb}; cb++)"), () =>
            {
                L($"float* ip = inP + cb * {_plane * _icBn};");
                L($"float* wp = wOc + cb * {_icBn * _ocBn};");
                _w.Block(S($"for (int ic = 0; ic < {_icBn}; ic++, ip++, wp += {_ocBn})"), () =>
                {
                    for (int j = 0; j < v; j++)
                        L($"{vc}<float> w{j} = {vc}.Load(wp + {j * vf});");
                    for (int i = 0; i < t; i++)
                    {
                        L($"{vc}<float> x{i} = {vc}.Create(ip[{i * _icBn}]);");
                        for (int j = 0; j < v; j++)
                            L($"a{i}_{j} = {vc}.FusedMultiplyAdd(x{i}, w{j}, a{i}_{j});");
                    }
                });
            });
            for (int j = 0; j < v; j++)
            {
                if (_e.Bias)
                    L($"{vc}<float> bias{j} = {vc}.Load(bOc + {j * vf});");
            }
            for (int i = 0; i < t; i++)
            {
                for (int j = 0; j < v; j++)
                {
                    int off = i * _ocBn + j * vf;
                    _w.Block(S($"// pixel {i}, vector {j}"), () => EpilogueCode.StoreVector(
                        _w, _e, vc, S($"a{i}_{j}"), S($"bias{j}"), S($"r + {off}"), NeedsMask ? S($"bOc + {_ocb * _ocBn + j * vf}") : null, S($"o + {off}")));
                }
            }
        });
    }
}
