using System;
using System.Globalization;
using AutoKernel.Generator.Schedules;
using AutoKernel.Generator.Workloads;

namespace AutoKernel.Generator.Kernels;

/// <summary>
/// Winograd F(2x2, 3x3) for 3x3, stride-1, undilated convolutions (Lavin and Gray, 2015): each
/// 2x2 output tile costs 16 multiplies per channel pair instead of 36. Three stages, all
/// vectorized across channels of the NCHW[VF]c layout:
/// <list type="number">
/// <item>input transform V = Bᵀ d B of every 4x4 input patch, into V[16][tiles][C];</item>
/// <item>16 independent GEMMs M[ξ] = V[ξ] · U[ξ] with U = G g Gᵀ packed in Prepare
/// (register block: tile_t tiles x tile_k output channels);</item>
/// <item>output transform Y = Aᵀ M A with the epilogue, into NCHW[VF]c.</item>
/// </list>
/// Knobs: tile_t, tile_k and which GEMM loop is parallel. The scratch buffers are allocated in
/// Prepare, so one instance must not run concurrently with itself.
/// </summary>
public sealed class Conv2dWinogradTemplate : KernelTemplate
{
    public override string Name => "conv2d_winograd_nchwc";

    public override bool Supports(Workload workload) =>
        workload is Conv2dWorkload { Groups: 1, KernelHeight: 3, KernelWidth: 3, StrideHeight: 1, StrideWidth: 1, DilationHeight: 1, DilationWidth: 1 } c
        && c.OutHeight >= 1 && c.OutWidth >= 1;

    public override ConfigSpace CreateSpace(Workload workload, CpuTarget target)
    {
        int vf = target.VectorFloats;
        int registers = target.VectorRegisters;
        return new ConfigSpace(
            Name,
            [
                Knob.Choice("tile_t", KnobKind.Other, 1, 2, 3, 4, 5, 6, 8, 12),
                Knob.Choice("tile_k", KnobKind.Other, vf, 2 * vf, 3 * vf, 4 * vf),
                Knob.Choice("parallel", KnobKind.Annotate, 0, 1),
            ],
            [c => RegistersNeeded(c.Value("tile_t"), c.Value("tile_k"), vf) <= registers]);
    }

    /// <summary>Vector registers of the GEMM micro-kernel: tile_t x tile_k/VF accumulators, tile_k/VF filter vectors and one broadcast.</summary>
    private static int RegistersNeeded(int tileT, int tileK, int vf) => tileT * (tileK / vf) + tileK / vf + 1;

    /// <summary>The constants the emitter bakes in.</summary>
    private sealed class Plan
    {
        public Plan(Conv2dWorkload c, Config config, CpuTarget target)
        {
            Vf = target.VectorFloats;
            Tt = config.Value("tile_t");
            Tk = config.Value("tile_k");
            Parallel = config.Value("parallel");
            Th = (c.OutHeight + 1) / 2;
            Tw = (c.OutWidth + 1) / 2;
            Tiles = c.Batch * Th * Tw;
            Cp = RoundUp(c.InChannels, Vf);
            Kpv = RoundUp(c.OutChannels, Vf);
            Kpt = RoundUp(c.OutChannels, Tk);
        }

        public int Vf, Tt, Tk, Parallel, Th, Tw, Tiles, Cp, Kpv, Kpt;

        /// <summary>TBLOCKS and KBLOCKS of the emitted class.</summary>
        public int TBlocks => (Tiles + Tt - 1) / Tt;

        public int KBlocks => Kpt / Tk;
    }

    private Plan Check(Workload workload, Config config, CpuTarget target)
    {
        return new Plan(Validate<Conv2dWorkload>(workload, config), config, target);
    }

    /// <summary>
    /// The GEMM stage (stage 2), which does the multiply-adds: per ξ and tile block (parallel 0) or
    /// ξ and output-channel block (parallel 1), the register-blocked micro-kernel of EmitStage2 over
    /// CP input channels. Tiles are padded to whole tile_t blocks (the 1-row remainder kernel is
    /// folded in). The transforms (stages 1 and 3) stream the input into V and M into the output
    /// once; they are summarized in AuxiliaryFlops (32 adds per tile and input channel, 28 per tile
    /// and output channel, bias included) and AuxiliaryBytes (input, V, the part of M read back, output).
    /// </summary>
    public override LoopNest DescribeLoops(Workload workload, Config config, CpuTarget target)
    {
        var p = Check(workload, config, target);
        var c = (Conv2dWorkload)workload;
        var b = new LoopNestBuilder();
        var v = b.Buffer("V", BufferRole.Input, ("xi", 16), ("t", p.Tiles), ("c", p.Cp));
        var u = b.Buffer("U", BufferRole.Weight, ("xi", 16), ("kb", p.KBlocks), ("c", p.Cp), ("k", p.Tk));
        var m = b.Buffer("M", BufferRole.Output, ("xi", 16), ("t", p.Tiles), ("k", p.Kpt));
        var xi = LoopNestBuilder.Axis("xi", 16, v.At("xi"), u.At("xi"), m.At("xi"));
        var tileBlocks = LoopNestBuilder.Axis("tb", p.TBlocks, v.At("t", p.Tt), m.At("t", p.Tt));
        var kBlocks = LoopNestBuilder.Axis("kb", p.KBlocks, u.At("kb"), m.At("k", p.Tk));
        // Run: pool.For(16 * TBLOCKS) or pool.For(16 * KBLOCKS); Gemm: the other block loop.
        if (p.Parallel == 0)
            b.Fused(LoopAnnotation.Parallel, xi, tileBlocks).Loop("kb", p.KBlocks, kBlocks.Accesses);
        else
            b.Fused(LoopAnnotation.Parallel, xi, kBlocks).Loop("tb", p.TBlocks, tileBlocks.Accesses);
        // EmitMicroKernel: the c loop, tile_t broadcasts x tile_k/VF FMAs.
        b.Loop("c", p.Cp, v.At("c"), u.At("c"));
        b.Loop("t.inner", p.Tt, LoopAnnotation.Unrolled, v.At("t"), m.At("t"));
        b.Loop("k.vec", p.Tk / p.Vf, LoopAnnotation.Unrolled, u.At("k", p.Vf), m.At("k", p.Vf));
        b.Loop("k.lane", p.Vf, LoopAnnotation.Vectorized, u.At("k"), m.At("k"));
        long transformFlops = 32L * p.Tiles * p.Cp + 28L * p.Tiles * p.Kpv;
        long transformBytes = 4L * ((long)c.Batch * p.Cp * c.InHeight * c.InWidth + 16L * p.Tiles * p.Cp + 16L * p.Tiles * p.Kpv + (long)c.Batch * p.Kpv * c.OutHeight * c.OutWidth);
        return b.Build(
            flopsPerIteration: 2,
            vectorRegisters: RegistersNeeded(p.Tt, p.Tk, p.Vf),
            fullTileFraction: (double)(p.Tiles / p.Tt * p.Tt) / p.Tiles,
            auxiliaryFlops: transformFlops,
            auxiliaryBytes: transformBytes);
    }

    public override string Emit(Workload workload, Epilogue epilogue, Config config, CpuTarget target, string ns, string className)
    {
        var c = (Conv2dWorkload)workload;
        var plan = Check(workload, config, target);
        int vf = plan.Vf, tt = plan.Tt, tk = plan.Tk, th = plan.Th, tw = plan.Tw, tiles = plan.Tiles, cp = plan.Cp, kpv = plan.Kpv, kpt = plan.Kpt;
        bool mask = EpilogueCode.NeedsChannelMask(c.OutChannels, vf, epilogue);
        string V = target.VectorClass;
        string I(int v) => v.ToString(CultureInfo.InvariantCulture);

        var w = new CodeWriter();
        EmitterShared.Header(w, Name, workload.Key + " epilogue: " + epilogue + "\nconfig: " + config);
        EmitterShared.Usings(w);
        w.Line();
        w.Line("namespace " + ns + ";");
        w.Line();
        w.Block($"internal sealed unsafe class {className} : ITunedKernel", () =>
        {
            w.Line($"private const int N = {I(c.Batch)}, C = {I(c.InChannels)}, CP = {I(cp)}, K = {I(c.OutChannels)}, KPV = {I(kpv)}, KPT = {I(kpt)};");
            w.Line($"private const int H = {I(c.InHeight)}, W = {I(c.InWidth)}, OH = {I(c.OutHeight)}, OW = {I(c.OutWidth)}, PT = {I(c.PadTop)}, PL = {I(c.PadLeft)};");
            w.Line($"private const int TH = {I(th)}, TW = {I(tw)}, T = {I(tiles)}, VF = {I(vf)}, TT = {I(tt)}, TK = {I(tk)};");
            w.Line("private const int TBLOCKS = (T + TT - 1) / TT, KBLOCKS = KPT / TK;");
            // Bias (padded to KPV), then, when needed, an all-ones/zero bit mask that keeps padded output channels at 0.
            EmitterShared.PackedStorage(w, className, checked(16L * kpt * cp), (mask ? 2 : 1) * kpv, "AllocateWorkspace();");
            w.Line();
            w.Line("// Per-instance scratch of the transformed inputs (V) and GEMM results (M), allocated once with the packed storage.");
            w.Line("private float[] _v = Array.Empty<float>(), _m = Array.Empty<float>();");
            w.Line("private float* _pv, _pm;");
            w.Line();
            w.Line("/// <summary>Floats of per-instance scratch (allocated by Prepare or Bind, once).</summary>");
            w.Line("public const int WorkspaceLength = 16 * T * CP + 16 * T * KPT;");
            w.Line();
            w.Block("private void AllocateWorkspace()", () =>
            {
                w.Line("if (_v.Length != 0) return;");
                w.Line("_v = GC.AllocateArray<float>(16 * T * CP, pinned: true);");
                w.Line("_m = GC.AllocateArray<float>(16 * T * KPT, pinned: true);");
                w.Line("_pv = (float*)Unsafe.AsPointer(ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(_v));");
                w.Line("_pm = (float*)Unsafe.AsPointer(ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(_m));");
            });
            w.Line();
            EmitterShared.ForcePortableSwitch(w, "Forces the portable path even where the tuned vector width is accelerated (tests compare both paths).");
            w.Line();
            w.Line("public int InputLength => N * CP * H * W;");
            w.Line("public int OutputLength => N * KPV * OH * OW;");
            w.Line();
            EmitPrepare(w, mask);
            EmitRun(w, epilogue, V, plan.Parallel);
            EmitStage1(w, V, vector: true);
            EmitStage1(w, V, vector: false);
            EmitStage2(w, V, tt, tk / vf, vector: true);
            EmitStage2(w, V, tt, tk / vf, vector: false);
            EmitStage3(w, V, epilogue, mask, vector: true);
            EmitStage3(w, V, epilogue, mask, vector: false);
            w.Line("public void InputToNative(ReadOnlySpan<float> standard, Span<float> native) => Layouts.NchwToBlocked(standard, native, N, C, H, W, VF);");
            w.Line("public void OutputToNative(ReadOnlySpan<float> standard, Span<float> native) => Layouts.NchwToBlocked(standard, native, N, K, OH, OW, VF);");
            w.Line("public void OutputFromNative(ReadOnlySpan<float> native, Span<float> standard) => Layouts.BlockedToNchw(native, standard, N, K, OH, OW, VF);");
        });
        return w.ToString();
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;

    private static void EmitPrepare(CodeWriter w, bool mask)
    {
        w.Block("public void Prepare(float[] weights, float[]? bias)", () =>
        {
            w.Line("if (weights.Length != K * C * 9) throw new ArgumentException(\"expected OIHW weights of \" + (K * C * 9) + \" floats\");");
            w.Line("AllocatePacked();");
            w.Line("if (bias is not null) Array.Copy(bias, _b, K);");
            if (mask)
                w.Line("for (int k = 0; k < K; k++) _b[KPV + k] = BitConverter.Int32BitsToSingle(-1);");
            w.Line("// U = G g G^T with G = [[1,0,0],[1/2,1/2,1/2],[1/2,-1/2,1/2],[0,0,1]], packed [16][K/TK][CP][TK].");
            w.Line("Span<float> gg = stackalloc float[12];");
            w.Block("for (int k = 0; k < K; k++)", () =>
            {
                w.Block("for (int c = 0; c < C; c++)", () =>
                {
                    w.Line("ReadOnlySpan<float> g = weights.AsSpan((k * C + c) * 9, 9);");
                    w.Block("for (int j = 0; j < 3; j++)", () =>
                    {
                        w.Line("gg[0 * 3 + j] = g[0 * 3 + j];");
                        w.Line("gg[1 * 3 + j] = 0.5f * (g[0 * 3 + j] + g[1 * 3 + j] + g[2 * 3 + j]);");
                        w.Line("gg[2 * 3 + j] = 0.5f * (g[0 * 3 + j] - g[1 * 3 + j] + g[2 * 3 + j]);");
                        w.Line("gg[3 * 3 + j] = g[2 * 3 + j];");
                    });
                    w.Block("for (int i = 0; i < 4; i++)", () =>
                    {
                        w.Line("float a = gg[i * 3], b = gg[i * 3 + 1], d = gg[i * 3 + 2];");
                        w.Line("int baseIndex = ((k / TK) * CP + c) * TK + k % TK;");
                        w.Line("_w[((i * 4 + 0) * KBLOCKS) * CP * TK + baseIndex] = a;");
                        w.Line("_w[((i * 4 + 1) * KBLOCKS) * CP * TK + baseIndex] = 0.5f * (a + b + d);");
                        w.Line("_w[((i * 4 + 2) * KBLOCKS) * CP * TK + baseIndex] = 0.5f * (a - b + d);");
                        w.Line("_w[((i * 4 + 3) * KBLOCKS) * CP * TK + baseIndex] = d;");
                    });
                });
            });
        });
        w.Line();
    }

    /// <remarks><see cref="DescribeLoops"/> mirrors the GEMM's pool.For and the loops of EmitStage2: change them together.</remarks>
    private static void EmitRun(CodeWriter w, Epilogue e, string V, int parallel)
    {
        w.Line("private struct Args { public float* In, Out, Res, U, Bias, V, M; }");
        w.Line();
        w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
        w.Block("public void Run(float* input, float* output, float* residual, WorkerPool pool)", () =>
        {
            EmitterShared.UsePacked(w, "u", "b", () =>
            {
                w.Line("float* v = _pv, m = _pm;");
                w.Line("var a = new Args { In = input, Out = output, Res = residual, U = u, Bias = b, V = v, M = m };");
                // parallel 0: the GEMM stage splits over (ξ, tile blocks); 1: over (ξ, output-channel blocks).
                string gemmCount = parallel == 0 ? "16 * TBLOCKS" : "16 * KBLOCKS";
                w.Block($"if ({EmitterShared.Accelerated(V)} && !ForcePortable)", () =>
                {
                    w.Line("pool.For(N * TH, a, static (s, i) => InputTransformVector(s, i));");
                    w.Line($"pool.For({gemmCount}, a, static (s, i) => GemmVector(s, i));");
                    w.Line("pool.For(N * TH, a, static (s, i) => OutputTransformVector(s, i));");
                });
                w.Block("else", () =>
                {
                    w.Line("// Portable path: the same algorithm one lane at a time, for machines without the tuned vector width.");
                    w.Line("pool.For(N * TH, a, static (s, i) => InputTransformScalar(s, i));");
                    w.Line($"pool.For({gemmCount}, a, static (s, i) => GemmScalar(s, i));");
                    w.Line("pool.For(N * TH, a, static (s, i) => OutputTransformScalar(s, i));");
                });
            });
        });
        w.Line($"private const int GemmSplit = {(parallel == 0 ? "0" : "1")};");
        w.Line();
    }

    /// <summary>Bᵀ d B for every 4x4 patch of one tile row (n, th); d is zero outside the input (padding).</summary>
    private static void EmitStage1(CodeWriter w, string V, bool vector)
    {
        string T = vector ? $"{V}<float>" : "float";
        w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
        w.Block($"private static void InputTransform{(vector ? "Vector" : "Scalar")}(Args a, int row)", () =>
        {
            w.Line("int n = row / TH, th = row % TH;");
            w.Block("for (int tw = 0; tw < TW; tw++)", () =>
            {
                w.Line("int t = row * TW + tw, y0 = th * 2 - PT, x0 = tw * 2 - PL;");
                w.Block("for (int cb = 0; cb < CP / VF; cb++)", () =>
                {
                    w.Line("float* src = a.In + (n * (CP / VF) + cb) * H * W * VF;");
                    w.Line("float* dst = a.V + t * CP + cb * VF;");
                    if (!vector)
                        w.Line("for (int l = 0; l < VF; l++) {");
                    string zero = vector ? $"{V}<float>.Zero" : "0f";
                    for (int r = 0; r < 4; r++)
                    {
                        for (int s = 0; s < 4; s++)
                        {
                            string at = $"src + ((y0 + {r}) * W + x0 + {s}) * VF";
                            string load = vector ? $"{V}.Load({at})" : $"({at})[l]";
                            w.Line($"{T} d{r}{s} = (uint)(y0 + {r}) < (uint)H && (uint)(x0 + {s}) < (uint)W ? {load} : {zero};");
                        }
                    }
                    // t = Bᵀ d (rows), v = t B (columns); Bᵀ = [[1,0,-1,0],[0,1,1,0],[0,-1,1,0],[0,1,0,-1]].
                    for (int s = 0; s < 4; s++)
                    {
                        w.Line($"{T} t0{s} = d0{s} - d2{s}, t1{s} = d1{s} + d2{s}, t2{s} = d2{s} - d1{s}, t3{s} = d1{s} - d3{s};");
                    }
                    for (int r = 0; r < 4; r++)
                    {
                        string[] v =
                        [
                            $"t{r}0 - t{r}2", $"t{r}1 + t{r}2", $"t{r}2 - t{r}1", $"t{r}1 - t{r}3",
                        ];
                        for (int s = 0; s < 4; s++)
                        {
                            string target = $"dst + {(r * 4 + s)} * T * CP";
                            w.Line(vector ? $"{V}.Store({v[s]}, {target});" : $"({target})[l] = {v[s]};");
                        }
                    }
                    if (!vector)
                        w.Line("}");
                });
            });
        });
        w.Line();
    }

    /// <summary>M[ξ][t][k] = Σ_c V[ξ][t][c] U[ξ][c][k], register-blocked tile_t x tile_k.</summary>
    private static void EmitStage2(CodeWriter w, string V, int tt, int kv, bool vector)
    {
        string suffix = vector ? "Vector" : "Scalar";
        w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
        w.Block($"private static void Gemm{suffix}(Args a, int job)", () =>
        {
            w.Line("int xi = job / (GemmSplit == 0 ? TBLOCKS : KBLOCKS), part = job % (GemmSplit == 0 ? TBLOCKS : KBLOCKS);");
            w.Line("int t0 = GemmSplit == 0 ? part * TT : 0, t1 = GemmSplit == 0 ? Math.Min(T, t0 + TT) : T;");
            w.Line("int k0 = GemmSplit == 0 ? 0 : part, k1 = GemmSplit == 0 ? KBLOCKS : part + 1;");
            w.Line("float* vx = a.V + xi * T * CP;");
            w.Line("float* mx = a.M + xi * T * KPT;");
            w.Block("for (int kb = k0; kb < k1; kb++)", () =>
            {
                w.Line("float* u = a.U + (xi * KBLOCKS + kb) * CP * TK;");
                w.Line("int t = t0;");
                w.Block("for (; t + TT <= t1; t += TT)", () => EmitMicroKernel(w, V, tt, kv, vector));
                w.Block("for (; t < t1; t++)", () => EmitMicroKernel(w, V, 1, kv, vector));
            });
        });
        w.Line();
    }

    private static void EmitMicroKernel(CodeWriter w, string V, int rows, int kv, bool vector)
    {
        if (vector)
        {
            for (int r = 0; r < rows; r++)
            {
                for (int j = 0; j < kv; j++)
                    w.Line($"var acc{r}_{j} = {V}<float>.Zero;");
            }
            w.Block("for (int c = 0; c < CP; c++)", () =>
            {
                for (int j = 0; j < kv; j++)
                    w.Line($"var u{j} = {V}.Load(u + c * TK + {j} * VF);");
                for (int r = 0; r < rows; r++)
                {
                    w.Line($"var x{r} = {V}.Create(vx[(t + {r}) * CP + c]);");
                    for (int j = 0; j < kv; j++)
                        w.Line($"acc{r}_{j} = {V}.FusedMultiplyAdd(x{r}, u{j}, acc{r}_{j});");
                }
            });
            for (int r = 0; r < rows; r++)
            {
                for (int j = 0; j < kv; j++)
                    w.Line($"{V}.Store(acc{r}_{j}, mx + (t + {r}) * KPT + kb * TK + {j} * VF);");
            }
        }
        else
        {
            w.Block($"for (int r = 0; r < {rows}; r++)", () =>
            {
                w.Block("for (int kk = 0; kk < TK; kk++)", () =>
                {
                    w.Line("float sum = 0f;");
                    w.Line("for (int c = 0; c < CP; c++) sum = MathF.FusedMultiplyAdd(vx[(t + r) * CP + c], u[c * TK + kk], sum);");
                    w.Line("mx[(t + r) * KPT + kb * TK + kk] = sum;");
                });
            });
        }
    }

    /// <summary>Aᵀ m A for every tile of one tile row, then bias, residual, activation; Aᵀ = [[1,1,1,0],[0,1,-1,-1]].</summary>
    private static void EmitStage3(CodeWriter w, string V, Epilogue e, bool mask, bool vector)
    {
        string T = vector ? $"{V}<float>" : "float";
        w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
        w.Block($"private static void OutputTransform{(vector ? "Vector" : "Scalar")}(Args a, int row)", () =>
        {
            w.Line("int n = row / TH, th = row % TH;");
            w.Block("for (int tw = 0; tw < TW; tw++)", () =>
            {
                w.Line("int t = row * TW + tw;");
                w.Block("for (int kb = 0; kb < KPV / VF; kb++)", () =>
                {
                    w.Line("float* src = a.M + t * KPT + kb * VF;");
                    w.Line("int plane = (n * (KPV / VF) + kb) * OH * OW;");
                    if (!vector)
                        w.Line("for (int l = 0; l < VF; l++) {");
                    for (int xi = 0; xi < 16; xi++)
                    {
                        string at = $"src + {xi} * T * KPT";
                        w.Line($"{T} m{xi / 4}{xi % 4} = {(vector ? $"{V}.Load({at})" : $"({at})[l]")};");
                    }
                    for (int s = 0; s < 4; s++)
                        w.Line($"{T} s0{s} = m0{s} + m1{s} + m2{s}, s1{s} = m1{s} - m2{s} - m3{s};");
                    w.Line($"{T} bias = {(e.Bias ? (vector ? $"{V}.Load(a.Bias + kb * VF)" : "a.Bias[kb * VF + l]") : (vector ? $"{V}<float>.Zero" : "0f"))};");
                    string[] y = ["s00 + s01 + s02", "s01 - s02 - s03", "s10 + s11 + s12", "s11 - s12 - s13"];
                    for (int q = 0; q < 4; q++)
                    {
                        int dy = q / 2, dx = q % 2;
                        w.Block($"if (th * 2 + {dy} < OH && tw * 2 + {dx} < OW)", () =>
                        {
                            w.Line($"int at = (plane + (th * 2 + {dy}) * OW + tw * 2 + {dx}) * VF;");
                            w.Line($"{T} acc = {y[q]} + bias;");
                            if (e.Residual)
                                w.Line(vector ? $"acc += {V}.Load(a.Res + at);" : "acc += a.Res[at + l];");
                            string result = vector ? EpilogueCode.Vector(e, "acc", V) : EpilogueCode.Scalar(e, "acc");
                            if (mask)
                                result = vector ? $"{V}.BitwiseAnd({result}, {V}.Load(a.Bias + KPV + kb * VF))" : $"(kb * VF + l < K ? {result} : 0f)";
                            w.Line(vector ? $"{V}.Store({result}, a.Out + at);" : $"a.Out[at + l] = {result};");
                        });
                    }
                    if (!vector)
                        w.Line("}");
                });
            });
        });
        w.Line();
    }
}
