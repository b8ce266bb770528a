using System;
using System.Collections.Generic;
using System.Linq;
using AutoKernel.Generator.Schedules;
using AutoKernel.Generator.Workloads;
using static System.FormattableString;

namespace AutoKernel.Generator.Kernels;

/// <summary>
/// Dense (Y[M,N] = X[M,K]·W[N,K]ᵀ) with W packed into column panels [N/tile_n][K][tile_n] and a
/// register-blocked micro-kernel of tile_m rows × tile_n/VF vectors, K blocked for cache.
/// Input, output and residual are row-major; the layout methods copy.
/// </summary>
/// <remarks>
/// Knobs: tile_n (panel width, a multiple of VF), tile_m (rows per register block), tile_k (K block,
/// last block may be shorter), unroll_k (emitted unroll of the k loop), order (0: panels outer,
/// 1: row blocks outer), parallel (0: chunks of panels, 1: chunks of row blocks, 2: a grid of both).
/// Parallel work is split into at most pool.Threads chunks (per axis) at run time.
/// </remarks>
public sealed class DenseTemplate : KernelTemplate
{
    public override string Name => "dense_packed";

    public override bool Supports(Workload workload) => workload is DenseWorkload d && d.M > 0 && d.N > 0 && d.K > 0;

    /// <summary>Vector registers of the target (32 for AVX-512, 16 otherwise).</summary>
    internal static int Registers(CpuTarget target) => target.VectorBits >= 512 ? 32 : 16;

    public override ConfigSpace CreateSpace(Workload workload, CpuTarget target)
    {
        var d = Dense(workload);
        int vf = target.VectorFloats;
        int nVectors = (d.N + vf - 1) / vf;
        int regs = Registers(target);
        var tileK = new List<int>();
        foreach (int b in new[] { 32, 64, 128, 256, 512, 1024, 2048 })
        {
            if (b < d.K)
                tileK.Add(b);
        }
        tileK.Add(d.K);
        var knobs = new[]
        {
            Knob.Choice("tile_n", KnobKind.Split, vf, 2 * vf, 3 * vf, 4 * vf, 6 * vf, 8 * vf),
            Knob.Choice("tile_m", KnobKind.Split, 1, 2, 3, 4, 5, 6, 7, 8),
            Knob.Choice("tile_k", KnobKind.Split, tileK.ToArray()),
            Knob.Choice("unroll_k", KnobKind.Annotate, 1, 2, 4),
            Knob.Choice("order", KnobKind.Other, 0, 1),
            Knob.Choice("parallel", KnobKind.Annotate, 0, 1, 2),
        };
        var constraints = new Func<Config, bool>[]
        {
            c => c.Value("tile_n") / vf <= nVectors,
            c => c.Value("tile_m") <= d.M,
            c => RegistersNeeded(c.Value("tile_m"), c.Value("tile_n"), vf) <= regs,
        };
        return new ConfigSpace(Name, knobs, constraints);
    }

    private static DenseWorkload Dense(Workload workload) =>
        workload as DenseWorkload ?? throw new ArgumentException($"dense_packed does not support {workload.Kind}", nameof(workload));

    /// <summary>Vector registers of the micro-kernel: tile_m x tile_n/VF accumulators, tile_n/VF weight vectors and one broadcast.</summary>
    private static int RegistersNeeded(int tileM, int tileN, int vf) => tileM * (tileN / vf) + tileN / vf + 1;

    private (int Tn, int Tm, int Tk, int Unroll, int Order, int Parallel) Check(DenseWorkload d, Config config, CpuTarget target)
    {
        Validate<DenseWorkload>(d, config);
        int tn = config.Value("tile_n"), tm = config.Value("tile_m"), tk = config.Value("tile_k");
        if (tn % target.VectorFloats != 0 || tm < 1 || tk < 1 || tm > d.M)
            throw new ArgumentException($"config {config} does not fit {d.Key} on {target.VectorClass}", nameof(config));
        return (tn, tm, tk, config.Value("unroll_k"), config.Value("order"), config.Value("parallel"));
    }

    /// <summary>
    /// The main path's loops as Run, Chunk and EmitTile write them: the chunks of pool.For (at most
    /// target.Cores per split axis, as Run takes pool.Threads; one chunk runs without the pool, so
    /// the loop is then serial), k blocks, panels and row blocks in the order knob's order, the k
    /// loop split by unroll_k, then tile_m broadcasts x tile_n/VF FMAs. Remainder rows and the
    /// narrower last panel are folded into full tiles.
    /// </summary>
    public override LoopNest DescribeLoops(Workload workload, Config config, CpuTarget target)
    {
        var d = Dense(workload);
        var (tn, tm, tk, unroll, order, parallel) = Check(d, config, target);
        int vf = target.VectorFloats;
        int nPanels = (d.N + tn - 1) / tn;
        int mBlocks = (d.M + tm - 1) / tm;
        int kBlocks = (d.K + tk - 1) / tk;
        int cn = Math.Min(nPanels, target.Cores), cm = Math.Min(mBlocks, target.Cores);
        int chunks = parallel switch { 0 => cn, 1 => cm, _ => cn * cm };
        var b = new LoopNestBuilder();
        var x = b.Buffer("input", BufferRole.Input, ("m", d.M), ("k", d.K));
        var w = b.Buffer("weight", BufferRole.Weight, ("panel", nPanels), ("k", d.K), ("lane", tn));
        var y = b.Buffer("output", BufferRole.Output, ("m", d.M), ("n", d.N));
        // Run: chunks of panels (parallel 0), of row blocks (1), or a grid of both (2).
        int panelsPerChunk = parallel == 1 ? nPanels : (nPanels + cn - 1) / cn;
        int blocksPerChunk = parallel == 0 ? mBlocks : (mBlocks + cm - 1) / cm;
        var panelChunks = LoopNestBuilder.Axis("pc", cn, w.At("panel", panelsPerChunk), y.At("n", (long)panelsPerChunk * tn));
        var blockChunks = LoopNestBuilder.Axis("mc", cm, x.At("m", (long)blocksPerChunk * tm), y.At("m", (long)blocksPerChunk * tm));
        var annotation = chunks > 1 ? LoopAnnotation.Parallel : LoopAnnotation.Serial;
        if (parallel == 0)
            b.Fused(annotation, panelChunks);
        else if (parallel == 1)
            b.Fused(annotation, blockChunks);
        else
            b.Fused(annotation, panelChunks, blockChunks);
        // Chunk: k blocks, then panels and row blocks in the chosen order.
        b.Loop("k0", kBlocks, x.At("k", tk), w.At("k", tk));
        var panels = LoopNestBuilder.Axis("p", panelsPerChunk, w.At("panel"), y.At("n", tn));
        var blocks = LoopNestBuilder.Axis("mb", blocksPerChunk, x.At("m", tm), y.At("m", tm));
        foreach (var axis in order == 0 ? new[] { panels, blocks } : [blocks, panels])
            b.Loop(axis.Name, axis.Extent, axis.Accesses);
        // Tile: the k loop, unroll_k steps written out, each tile_m broadcasts x tile_n/VF FMAs.
        b.Loop("k.outer", (tk + unroll - 1) / unroll, x.At("k", unroll), w.At("k", unroll));
        b.Loop("k.inner", unroll, unroll > 1 ? LoopAnnotation.Unrolled : LoopAnnotation.Serial, x.At("k"), w.At("k"));
        b.Loop("m.inner", tm, LoopAnnotation.Unrolled, x.At("m"), y.At("m"));
        b.Loop("n.vec", tn / vf, LoopAnnotation.Unrolled, w.At("lane", vf), y.At("n", vf));
        b.Loop("n.lane", vf, LoopAnnotation.Vectorized, w.At("lane"), y.At("n"));
        int mRem = d.M % tm, nRem = d.N - (nPanels - 1) * tn;
        double fullRows = (double)(d.M - mRem) / d.M, fullColumns = nRem == tn ? 1.0 : (double)(nPanels - 1) * tn / d.N;
        return b.Build(flopsPerIteration: 2, vectorRegisters: RegistersNeeded(tm, tn, vf), fullTileFraction: fullRows * fullColumns);
    }

    /// <remarks><see cref="DescribeLoops"/> mirrors the loops of Run, Chunk and EmitTile: change them together.</remarks>
    public override string Emit(Workload workload, Epilogue epilogue, Config config, CpuTarget target, string ns, string className)
    {
        var d = Dense(workload);
        var (tn, tm, tk, unroll, order, parallel) = Check(d, config, target);
        int vf = target.VectorFloats;
        string V = target.VectorClass;
        int M = d.M, N = d.N, K = d.K;
        int nPanels = (N + tn - 1) / tn;
        int mBlocks = (M + tm - 1) / tm;
        int mRem = M % tm;
        int nRem = N - (nPanels - 1) * tn; // valid columns of the last panel (1..tn)
        int kBlocks = (K + tk - 1) / tk;
        int nv = tn / vf;
        int nvLast = (nRem + vf - 1) / vf;
        int lastLanes = nRem - (nvLast - 1) * vf; // valid lanes of the last vector of the last panel
        bool lastPanelFull = nRem == tn;

        var w = new CodeWriter();
        EmitterShared.Header(w, Name, Invariant($"{d.Key} epilogue: bias={epilogue.Bias} residual={epilogue.Residual} activation={epilogue.Activation}") + "\nconfig: " + config);
        EmitterShared.Usings(w);
        w.Line();
        w.Block($"namespace {ns}", () =>
        {
            w.Block($"internal sealed unsafe class {className} : AutoKernel.Runtime.Kernels.ITunedKernel", () =>
            {
                w.Line(Invariant($"private const int M = {M}, N = {N}, K = {K};"));
                w.Line(Invariant($"private const int TN = {tn}, TM = {tm}, TK = {tk}, VF = {vf};"));
                w.Line(Invariant($"private const int NPanels = {nPanels}, MBlocks = {mBlocks}, KBlocks = {kBlocks};"));
                EmitterShared.PackedStorage(w, className, checked((long)nPanels * K * tn), checked((long)nPanels * tn));
                w.Line();
                w.Line("/// <summary>Forces the portable scalar path (for tests on accelerated machines).</summary>");
                w.Line("public static bool ForcePortable { get; set; }");
                w.Line();
                w.Line("public int InputLength => M * K;");
                w.Line("public int OutputLength => M * N;");
                w.Line();
                w.Block("public void Prepare(float[] weights, float[]? bias)", () =>
                {
                    w.Line("if (weights.Length < N * K) throw new ArgumentException(\"weights too short\", nameof(weights));");
                    w.Line("AllocatePacked();");
                    w.Block("for (int n = 0; n < N; n++)", () =>
                    {
                        w.Line("int panel = n / TN, lane = n % TN;");
                        w.Line("for (int k = 0; k < K; k++) _w[(panel * K + k) * TN + lane] = weights[n * K + k];");
                    });
                    w.Line("if (bias != null) Array.Copy(bias, _b, N);");
                });
                w.Line();
                w.Line("public void InputToNative(ReadOnlySpan<float> standard, Span<float> native) => standard.Slice(0, M * K).CopyTo(native);");
                w.Line("public void OutputToNative(ReadOnlySpan<float> standard, Span<float> native) => standard.Slice(0, M * N).CopyTo(native);");
                w.Line("public void OutputFromNative(ReadOnlySpan<float> native, Span<float> standard) => native.Slice(0, M * N).CopyTo(standard);");
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
                        string items = parallel switch
                        {
                            0 => "Math.Min(NPanels, pool.Threads)",
                            1 => "Math.Min(MBlocks, pool.Threads)",
                            _ => "Math.Min(NPanels, pool.Threads) * Math.Min(MBlocks, pool.Threads)",
                        };
                        w.Line($"int chunks = {items};");
                        w.Line("var state = ((nint)input, (nint)output, (nint)residual, (nint)wp, (nint)bp, pool.Threads);");
                        w.Line("if (chunks <= 1) { Chunk(input, output, residual, wp, bp, 0, NPanels, 0, MBlocks); return; }");
                        w.Block("pool.For(chunks, state, static (s, i) =>", () =>
                        {
                            switch (parallel)
                            {
                                case 0:
                                    w.Line("int c = Math.Min(NPanels, s.Item6);");
                                    w.Line("Chunk((float*)s.Item1, (float*)s.Item2, (float*)s.Item3, (float*)s.Item4, (float*)s.Item5, i * NPanels / c, (i + 1) * NPanels / c, 0, MBlocks);");
                                    break;
                                case 1:
                                    w.Line("int c = Math.Min(MBlocks, s.Item6);");
                                    w.Line("Chunk((float*)s.Item1, (float*)s.Item2, (float*)s.Item3, (float*)s.Item4, (float*)s.Item5, 0, NPanels, i * MBlocks / c, (i + 1) * MBlocks / c);");
                                    break;
                                default:
                                    w.Line("int cn = Math.Min(NPanels, s.Item6), cm = Math.Min(MBlocks, s.Item6);");
                                    w.Line("int a = i / cm, b = i % cm;");
                                    w.Line("Chunk((float*)s.Item1, (float*)s.Item2, (float*)s.Item3, (float*)s.Item4, (float*)s.Item5, a * NPanels / cn, (a + 1) * NPanels / cn, b * MBlocks / cm, (b + 1) * MBlocks / cm);");
                                    break;
                            }
                        });
                        w.Line(");");
                    });
                });
                w.Line();

                // The chunk loop nest: k blocks outermost, then panels/row blocks in the chosen order.
                w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
                w.Block("private static void Chunk(float* x, float* y, float* r, float* wp, float* bp, int p0, int p1, int b0, int b1)", () =>
                {
                    w.Block("for (int k0 = 0; k0 < K; k0 += TK)", () =>
                    {
                        w.Line("int k1 = Math.Min(K, k0 + TK);");
                        string outer = order == 0 ? "for (int p = p0; p < p1; p++)" : "for (int mb = b0; mb < b1; mb++)";
                        string inner = order == 0 ? "for (int mb = b0; mb < b1; mb++)" : "for (int p = p0; p < p1; p++)";
                        w.Block(outer, () => w.Block(inner, () =>
                        {
                            w.Line("int m0 = mb * TM, n0 = p * TN;");
                            w.Line("float* xt = x + m0 * K, wt = wp + p * K * TN, yt = y + m0 * N + n0, rt = r == null ? null : r + m0 * N + n0, bt = bp + n0;");
                            void Call(int rows, bool lastPanel) =>
                                w.Line(Invariant($"Tile_{rows}_{(lastPanel ? "L" : "F")}(xt, wt, yt, rt, bt, k0, k1);"));
                            void ByRows(bool lastPanel)
                            {
                                if (mRem == 0)
                                    Call(tm, lastPanel);
                                else
                                {
                                    w.Block("if (mb == MBlocks - 1)", () => Call(mRem, lastPanel)); // remainder rows
                                    w.Block("else", () => Call(tm, lastPanel));
                                }
                            }
                            if (lastPanelFull)
                                ByRows(false);
                            else if (nPanels == 1)
                                ByRows(true);
                            else
                            {
                                w.Block("if (p == NPanels - 1)", () => ByRows(true));
                                w.Block("else", () => ByRows(false));
                            }
                        }));
                    });
                });
                w.Line();

                var rowVariants = mRem == 0 ? new[] { tm } : new[] { tm, mRem };
                for (int v = 0; v < rowVariants.Length; v++)
                {
                    if (lastPanelFull || nPanels > 1)
                        EmitTile(w, epilogue, V, vf, rowVariants[v], nv, nv * vf, unroll, kBlocks, "F");
                    if (!lastPanelFull)
                        EmitTile(w, epilogue, V, vf, rowVariants[v], nvLast, lastLanes, unroll, kBlocks, "L", emitHelpers: v == 0);
                }

                EmitPortable(w, epilogue);
            });
        });
        return w.ToString();
    }

    /// <summary>
    /// A micro-kernel: <paramref name="rows"/> rows × <paramref name="vectors"/> vectors of
    /// accumulators over k in [k0, k1); <paramref name="lastLanes"/> valid lanes in the last vector
    /// (VF when all are valid), the rest are never stored.
    /// </summary>
    private static void EmitTile(CodeWriter w, Epilogue e, string V, int vf, int rows, int vectors, int lastLanes, int unroll, int kBlocks, string suffix, bool emitHelpers = false)
    {
        bool partial = lastLanes % vf != 0;
        w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
        w.Block(Invariant($"private static void Tile_{rows}_{suffix}(float* x, float* w, float* y, float* r, float* b, int k0, int k1)"), () =>
        {
            if (partial)
                w.Line(Invariant($"float* tmp = stackalloc float[{vf}];"));
            string Acc(int i, int j) => Invariant($"a{i}_{j}");
            string Ptr(string basePtr, int i, int j) => Invariant($"{basePtr} + {i} * N + {j * vf}");
            bool IsPartial(int j) => partial && j == vectors - 1;
            string LoadAt(string basePtr, int i, int j) =>
                IsPartial(j) ? Invariant($"LoadPartial({Ptr(basePtr, i, j)}, {lastLanes}, tmp)") : $"{V}.Load({Ptr(basePtr, i, j)})";

            for (int i = 0; i < rows; i++)
                for (int j = 0; j < vectors; j++)
                    w.Line(kBlocks == 1 ? $"var {Acc(i, j)} = {V}<float>.Zero;" : $"var {Acc(i, j)} = k0 == 0 ? {V}<float>.Zero : {LoadAt("y", i, j)};");
            w.Line("int k = k0;");
            w.Line(Invariant($"float* wk = w + k0 * TN;"));
            void Step(int u)
            {
                for (int j = 0; j < vectors; j++)
                    w.Line(Invariant($"var w{j} = {V}.Load(wk + {u} * TN + {j * vf});"));
                for (int i = 0; i < rows; i++)
                {
                    w.Line(Invariant($"var x{i} = {V}.Create(x[{i} * K + k + {u}]);"));
                    for (int j = 0; j < vectors; j++)
                        w.Line(Invariant($"{Acc(i, j)} = {V}.FusedMultiplyAdd(x{i}, w{j}, {Acc(i, j)});"));
                }
            }
            if (unroll > 1)
            {
                w.Block(Invariant($"for (; k + {unroll} <= k1; k += {unroll}, wk += {unroll} * TN)"), () =>
                {
                    for (int u = 0; u < unroll; u++)
                        w.Block(Invariant($"// k + {u}"), () => Step(u));
                });
            }
            w.Block("for (; k < k1; k++, wk += TN)", () => Step(0));

            void Finish()
            {
                for (int j = 0; j < vectors; j++)
                {
                    if (e.Bias)
                        w.Line(Invariant($"var bias{j} = {V}.Load(b + {j * vf});"));
                }
                for (int i = 0; i < rows; i++)
                {
                    for (int j = 0; j < vectors; j++)
                    {
                        string a = Acc(i, j);
                        if (e.Bias)
                            w.Line(Invariant($"{a} += bias{j};"));
                        if (e.Residual)
                            w.Line($"{a} += {LoadAt("r", i, j)};");
                        if (e.Activation.Length > 0)
                            w.Line($"{a} = {EpilogueCode.Vector(e, a, V)};");
                    }
                }
            }
            void Store()
            {
                for (int i = 0; i < rows; i++)
                {
                    for (int j = 0; j < vectors; j++)
                    {
                        w.Line(IsPartial(j)
                            ? Invariant($"StorePartial({Acc(i, j)}, {Ptr("y", i, j)}, {lastLanes}, tmp);")
                            : $"{Acc(i, j)}.Store({Ptr("y", i, j)});");
                    }
                }
            }
            if (kBlocks == 1)
            {
                Finish();
                Store();
            }
            else
            {
                w.Block("if (k1 == K)", Finish);
                Store();
            }
        });
        w.Line();
        if (partial && emitHelpers)
        {
            // Helpers for the partial last vector; emitted once per class (only the L tiles use them).
            w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
            w.Block($"private static {V}<float> LoadPartial(float* p, int lanes, float* tmp)", () =>
            {
                w.Line("for (int l = 0; l < VF; l++) tmp[l] = l < lanes ? p[l] : 0f;");
                w.Line($"return {V}.Load(tmp);");
            });
            w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
            w.Block($"private static void StorePartial({V}<float> v, float* p, int lanes, float* tmp)", () =>
            {
                w.Line("v.Store(tmp);");
                w.Line("for (int l = 0; l < lanes; l++) p[l] = tmp[l];");
            });
            w.Line();
        }
    }

    private static void EmitPortable(CodeWriter w, Epilogue e)
    {
        w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
        w.Block("private static void RunPortable(float* x, float* y, float* r, float* wp, float* bp)", () =>
        {
            w.Block("for (int m = 0; m < M; m++)", () =>
            {
                w.Block("for (int n = 0; n < N; n++)", () =>
                {
                    w.Line("float* wc = wp + (n / TN) * K * TN + n % TN;");
                    w.Line("float* xr = x + m * K;");
                    w.Line("float s = 0f;");
                    w.Line("for (int k = 0; k < K; k++) s += xr[k] * wc[k * TN];");
                    if (e.Bias)
                        w.Line("s += bp[n];");
                    if (e.Residual)
                        w.Line("s += r[m * N + n];");
                    w.Line($"y[m * N + n] = {EpilogueCode.Scalar(e, "s")};");
                });
            });
        });
    }
}
