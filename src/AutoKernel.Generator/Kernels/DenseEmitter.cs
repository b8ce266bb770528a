using System;
using System.Collections.Generic;
using AutoKernel.Generator.Workloads;
using static System.FormattableString;

namespace AutoKernel.Generator.Kernels;

/// <summary>
/// Every constant the dense_packed emitter bakes into the source, derived once from the workload,
/// the schedule and the target; <see cref="DenseEmitter"/> writes the code and <see cref="Describe"/>
/// the loop nest from these same values.
/// </summary>
internal sealed class DensePlan
{
    public DensePlan(DenseWorkload d, int tileN, int tileM, int tileK, int unrollK, int order, int parallel, CpuTarget target)
    {
        if (tileN < 1 || tileN % target.VectorFloats != 0 || tileM < 1 || tileK < 1 || tileM > d.M || unrollK < 1)
            throw new ArgumentException("tile sizes must be positive, tile_n a multiple of the vector width and tile_m at most M");
        if (order is < 0 or > 1)
            throw new ArgumentOutOfRangeException(nameof(order));
        if (parallel is < 0 or > 2)
            throw new ArgumentOutOfRangeException(nameof(parallel));
        M = d.M; N = d.N; K = d.K;
        Tn = tileN; Tm = tileM; Tk = tileK; UnrollK = unrollK; Order = order; Parallel = parallel;
        Target = target;
        Vf = target.VectorFloats;
        NPanels = (N + Tn - 1) / Tn;
        MBlocks = (M + Tm - 1) / Tm;
        KBlocks = (K + Tk - 1) / Tk;
        MRem = M % Tm;
        NRem = N - (NPanels - 1) * Tn;
        Vectors = Tn / Vf;
        VectorsLast = (NRem + Vf - 1) / Vf;
        LastLanes = NRem - (VectorsLast - 1) * Vf;
    }

    public readonly int M, N, K;

    /// <summary>The knobs: tile_n (panel width), tile_m (rows per register block), tile_k, unroll_k, order, parallel.</summary>
    public readonly int Tn, Tm, Tk, UnrollK, Order, Parallel;

    public readonly CpuTarget Target;

    /// <summary>Floats per vector of the target.</summary>
    public readonly int Vf;

    /// <summary>Column panels of tile_n, row blocks of tile_m, K blocks of tile_k (the last of each may be short).</summary>
    public readonly int NPanels, MBlocks, KBlocks;

    /// <summary>Rows of the last row block when M is not a multiple of tile_m, else 0.</summary>
    public readonly int MRem;

    /// <summary>Valid columns of the last panel (1..tile_n).</summary>
    public readonly int NRem;

    /// <summary>Vectors across a full panel (tile_n / VF) and across the last panel's valid columns.</summary>
    public readonly int Vectors, VectorsLast;

    /// <summary>Valid lanes of the last vector of the last panel (1..VF).</summary>
    public readonly int LastLanes;

    public string VectorClass => Target.VectorClass;

    /// <summary>Whether the last panel is as wide as the others (N a multiple of tile_n).</summary>
    public bool LastPanelFull => NRem == Tn;

    /// <summary>Vector registers the micro-kernel holds at once (see <see cref="DenseTemplate.RegistersNeeded"/>).</summary>
    public int RegistersNeeded => DenseTemplate.RegistersNeeded(Tm, Tn, Vf);

    /// <summary>Floats of the packed weights: [NPanels][K][tile_n], the columns past N zero.</summary>
    public long PackedWeightsLength => checked((long)NPanels * K * Tn);

    /// <summary>Floats of the packed bias: one per column of every panel.</summary>
    public long PackedBiasLength => checked((long)NPanels * Tn);

    /// <summary>
    /// The micro-kernels Emit writes, in emission order: for the full row count and then the
    /// remainder rows (when M % tile_m != 0), a full-panel tile ("F", unless the only panel is
    /// the narrower last one) and a last-panel tile ("L", unless N is a multiple of tile_n).
    /// </summary>
    public IReadOnlyList<DenseTile> Tiles
    {
        get
        {
            var tiles = new List<DenseTile>();
            foreach (int rows in MRem == 0 ? new[] { Tm } : [Tm, MRem])
            {
                if (LastPanelFull || NPanels > 1)
                    tiles.Add(new DenseTile(rows, Vectors, Vectors * Vf, "F"));
                if (!LastPanelFull)
                    tiles.Add(new DenseTile(rows, VectorsLast, LastLanes, "L"));
            }
            return tiles;
        }
    }

    /// <summary>
    /// The main path's loops as <see cref="DenseEmitter"/> writes them: the chunks of pool.For in
    /// EmitRun (at most target.Cores per split axis, as Run takes pool.Threads; one chunk runs
    /// without the pool, so the loop is then serial), then EmitChunk's k blocks, panels and row
    /// blocks in the order knob's order, then EmitTile's k loop split by unroll_k and tile_m
    /// broadcasts x tile_n/VF FMAs. Remainder rows and the narrower last panel are folded into full tiles.
    /// </summary>
    public LoopNest Describe()
    {
        int cn = Math.Min(NPanels, Target.Cores), cm = Math.Min(MBlocks, Target.Cores);
        int chunks = Parallel switch { 0 => cn, 1 => cm, _ => cn * cm };
        var b = new LoopNestBuilder();
        var x = b.Buffer("input", BufferRole.Input, ("m", M), ("k", K));
        var w = b.Buffer("weight", BufferRole.Weight, ("panel", NPanels), ("k", K), ("lane", Tn));
        var y = b.Buffer("output", BufferRole.Output, ("m", M), ("n", N));
        // Run: chunks of panels (parallel 0), of row blocks (1), or a grid of both (2).
        int panelsPerChunk = Parallel == 1 ? NPanels : (NPanels + cn - 1) / cn;
        int blocksPerChunk = Parallel == 0 ? MBlocks : (MBlocks + cm - 1) / cm;
        var panelChunks = LoopNestBuilder.Axis("pc", cn, w.At("panel", panelsPerChunk), y.At("n", (long)panelsPerChunk * Tn));
        var blockChunks = LoopNestBuilder.Axis("mc", cm, x.At("m", (long)blocksPerChunk * Tm), y.At("m", (long)blocksPerChunk * Tm));
        var annotation = chunks > 1 ? LoopAnnotation.Parallel : LoopAnnotation.Serial;
        if (Parallel == 0)
            b.Fused(annotation, panelChunks);
        else if (Parallel == 1)
            b.Fused(annotation, blockChunks);
        else
            b.Fused(annotation, panelChunks, blockChunks);
        // Chunk: k blocks, then panels and row blocks in the chosen order.
        b.Loop("k0", KBlocks, x.At("k", Tk), w.At("k", Tk));
        var panels = LoopNestBuilder.Axis("p", panelsPerChunk, w.At("panel"), y.At("n", Tn));
        var blocks = LoopNestBuilder.Axis("mb", blocksPerChunk, x.At("m", Tm), y.At("m", Tm));
        foreach (var axis in Order == 0 ? new[] { panels, blocks } : [blocks, panels])
            b.Loop(axis.Name, axis.Extent, axis.Accesses);
        // Tile: the k loop, unroll_k steps written out, each tile_m broadcasts x tile_n/VF FMAs.
        b.Loop("k.outer", (Tk + UnrollK - 1) / UnrollK, x.At("k", UnrollK), w.At("k", UnrollK));
        b.Loop("k.inner", UnrollK, UnrollK > 1 ? LoopAnnotation.Unrolled : LoopAnnotation.Serial, x.At("k"), w.At("k"));
        b.Loop("m.inner", Tm, LoopAnnotation.Unrolled, x.At("m"), y.At("m"));
        b.Loop("n.vec", Vectors, LoopAnnotation.Unrolled, w.At("lane", Vf), y.At("n", Vf));
        b.Loop("n.lane", Vf, LoopAnnotation.Vectorized, w.At("lane"), y.At("n"));
        double fullRows = (double)(M - MRem) / M, fullColumns = LastPanelFull ? 1.0 : (double)(NPanels - 1) * Tn / N;
        return b.Build(flopsPerIteration: 2, vectorRegisters: RegistersNeeded, fullTileFraction: fullRows * fullColumns);
    }
}

/// <summary>
/// One micro-kernel Tile_{Rows}_{Suffix}: <paramref name="Rows"/> rows x <paramref name="Vectors"/>
/// vectors of accumulators; <paramref name="LastLanes"/> valid lanes in the last vector (Vectors x VF
/// for a full panel; the lanes past it are never stored).
/// </summary>
internal sealed record DenseTile(int Rows, int Vectors, int LastLanes, string Suffix);

/// <summary>Writes the C# class for one <see cref="DensePlan"/>.</summary>
/// <remarks><see cref="DensePlan.Describe"/> mirrors the loops of EmitRun, EmitChunk and EmitTile: change them together.</remarks>
internal sealed class DenseEmitter
{
    private readonly DensePlan _p;
    private readonly Epilogue _e;
    private readonly string _header;
    private readonly CodeWriter _w = new();

    /// <param name="header">The comment lines after the first one of the file (workload, epilogue, config).</param>
    public DenseEmitter(DensePlan plan, Epilogue epilogue, string header)
    {
        _p = plan;
        _e = epilogue;
        _header = header;
    }

    private string V => _p.VectorClass;

    private void L(FormattableString f) => _w.Line(Invariant(f));

    public string Emit(string ns, string className)
    {
        EmitterShared.Header(_w, "dense_packed", _header);
        EmitterShared.Usings(_w);
        _w.Line();
        _w.Block($"namespace {ns}", () =>
        {
            _w.Block($"internal sealed unsafe class {className} : AutoKernel.Runtime.Kernels.ITunedKernel", () =>
            {
                EmitMembers(className);
                _w.Line();
                EmitPrepare();
                _w.Line();
                EmitLayouts();
                _w.Line();
                EmitRun();
                _w.Line();
                EmitChunk();
                _w.Line();
                bool helpersWritten = false;
                foreach (var tile in _p.Tiles)
                {
                    EmitTile(tile);
                    if (IsPartial(tile) && !helpersWritten)
                    {
                        EmitPartialHelpers();
                        helpersWritten = true;
                    }
                }
                EmitPortable();
            });
        });
        return _w.ToString();
    }

    /// <summary>The shape constants, the packed storage, the ForcePortable switch and the buffer lengths.</summary>
    private void EmitMembers(string className)
    {
        var p = _p;
        L($"private const int M = {p.M}, N = {p.N}, K = {p.K};");
        L($"private const int TN = {p.Tn}, TM = {p.Tm}, TK = {p.Tk}, VF = {p.Vf};");
        L($"private const int NPanels = {p.NPanels}, MBlocks = {p.MBlocks}, KBlocks = {p.KBlocks};");
        EmitterShared.PackedStorage(_w, className, p.PackedWeightsLength, p.PackedBiasLength);
        _w.Line();
        EmitterShared.ForcePortableSwitch(_w, "Forces the portable scalar path (for tests on accelerated machines).");
        _w.Line();
        _w.Line("public int InputLength => M * K;");
        _w.Line("public int OutputLength => M * N;");
    }

    /// <summary>Prepare: packs W[N,K] into column panels [NPanels][K][TN] (the columns past N stay 0) and copies the bias.</summary>
    private void EmitPrepare()
    {
        _w.Block("public void Prepare(float[] weights, float[]? bias)", () =>
        {
            _w.Line("if (weights.Length < N * K) throw new ArgumentException(\"weights too short\", nameof(weights));");
            _w.Line("AllocatePacked();");
            _w.Block("for (int n = 0; n < N; n++)", () =>
            {
                _w.Line("int panel = n / TN, lane = n % TN;");
                _w.Line("for (int k = 0; k < K; k++) _w[(panel * K + k) * TN + lane] = weights[n * K + k];");
            });
            _w.Line("if (bias != null) Array.Copy(bias, _b, N);");
        });
    }

    /// <summary>Input, output and residual are row-major in both layouts: the converters copy.</summary>
    private void EmitLayouts()
    {
        _w.Line("public void InputToNative(ReadOnlySpan<float> standard, Span<float> native) => standard.Slice(0, M * K).CopyTo(native);");
        _w.Line("public void OutputToNative(ReadOnlySpan<float> standard, Span<float> native) => standard.Slice(0, M * N).CopyTo(native);");
        _w.Line("public void OutputFromNative(ReadOnlySpan<float> native, Span<float> standard) => native.Slice(0, M * N).CopyTo(standard);");
    }

    /// <summary>
    /// Run: the portable path where the vector width is not accelerated (or ForcePortable), else
    /// at most pool.Threads chunks per split axis handed to pool.For, or one Chunk call without the pool.
    /// </summary>
    private void EmitRun()
    {
        _w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
        _w.Block("public void Run(float* input, float* output, float* residual, WorkerPool pool)", () =>
        {
            EmitterShared.UsePacked(_w, "wp", "bp", () =>
            {
                _w.Block($"if (!{EmitterShared.Accelerated(V)} || ForcePortable)", () =>
                {
                    _w.Line("RunPortable(input, output, residual, wp, bp);");
                    _w.Line("return;");
                });
                string items = _p.Parallel switch
                {
                    0 => "Math.Min(NPanels, pool.Threads)",
                    1 => "Math.Min(MBlocks, pool.Threads)",
                    _ => "Math.Min(NPanels, pool.Threads) * Math.Min(MBlocks, pool.Threads)",
                };
                _w.Line($"int chunks = {items};");
                _w.Line("var state = ((nint)input, (nint)output, (nint)residual, (nint)wp, (nint)bp, pool.Threads);");
                _w.Line("if (chunks <= 1) { Chunk(input, output, residual, wp, bp, 0, NPanels, 0, MBlocks); return; }");
                _w.Block("pool.For(chunks, state, static (s, i) =>", EmitChunkOfItem);
                _w.Line(");");
            });
        });
    }

    /// <summary>The body of pool.For's callback: work item i's ranges of panels [p0, p1) and row blocks [b0, b1).</summary>
    private void EmitChunkOfItem()
    {
        switch (_p.Parallel)
        {
            case 0:
                _w.Line("int c = Math.Min(NPanels, s.Item6);");
                _w.Line("Chunk((float*)s.Item1, (float*)s.Item2, (float*)s.Item3, (float*)s.Item4, (float*)s.Item5, i * NPanels / c, (i + 1) * NPanels / c, 0, MBlocks);");
                break;
            case 1:
                _w.Line("int c = Math.Min(MBlocks, s.Item6);");
                _w.Line("Chunk((float*)s.Item1, (float*)s.Item2, (float*)s.Item3, (float*)s.Item4, (float*)s.Item5, 0, NPanels, i * MBlocks / c, (i + 1) * MBlocks / c);");
                break;
            default:
                _w.Line("int cn = Math.Min(NPanels, s.Item6), cm = Math.Min(MBlocks, s.Item6);");
                _w.Line("int a = i / cm, b = i % cm;");
                _w.Line("Chunk((float*)s.Item1, (float*)s.Item2, (float*)s.Item3, (float*)s.Item4, (float*)s.Item5, a * NPanels / cn, (a + 1) * NPanels / cn, b * MBlocks / cm, (b + 1) * MBlocks / cm);");
                break;
        }
    }

    /// <summary>The chunk loop nest: k blocks outermost, then panels and row blocks in the order knob's order, one tile call per (panel, row block).</summary>
    private void EmitChunk()
    {
        _w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
        _w.Block("private static void Chunk(float* x, float* y, float* r, float* wp, float* bp, int p0, int p1, int b0, int b1)", () =>
        {
            _w.Block("for (int k0 = 0; k0 < K; k0 += TK)", () =>
            {
                _w.Line("int k1 = Math.Min(K, k0 + TK);");
                string panels = "for (int p = p0; p < p1; p++)", blocks = "for (int mb = b0; mb < b1; mb++)";
                _w.Block(_p.Order == 0 ? panels : blocks, () => _w.Block(_p.Order == 0 ? blocks : panels, () =>
                {
                    _w.Line("int m0 = mb * TM, n0 = p * TN;");
                    _w.Line("float* xt = x + m0 * K, wt = wp + p * K * TN, yt = y + m0 * N + n0, rt = r == null ? null : r + m0 * N + n0, bt = bp + n0;");
                    EmitTileChoice();
                }));
            });
        });
    }

    /// <summary>Which tile runs (panel p, row block mb): the last panel's and the last row block's variants where they differ.</summary>
    private void EmitTileChoice()
    {
        var p = _p;
        if (p.LastPanelFull)
            EmitTileChoiceByRows(lastPanel: false);
        else if (p.NPanels == 1)
            EmitTileChoiceByRows(lastPanel: true);
        else
        {
            _w.Block("if (p == NPanels - 1)", () => EmitTileChoiceByRows(lastPanel: true));
            _w.Block("else", () => EmitTileChoiceByRows(lastPanel: false));
        }
    }

    private void EmitTileChoiceByRows(bool lastPanel)
    {
        if (_p.MRem == 0)
            EmitTileCall(_p.Tm, lastPanel);
        else
        {
            _w.Block("if (mb == MBlocks - 1)", () => EmitTileCall(_p.MRem, lastPanel)); // remainder rows
            _w.Block("else", () => EmitTileCall(_p.Tm, lastPanel));
        }
    }

    private void EmitTileCall(int rows, bool lastPanel) =>
        L($"Tile_{rows}_{(lastPanel ? "L" : "F")}(xt, wt, yt, rt, bt, k0, k1);");

    /// <summary>Whether the tile's last vector has lanes past N, so it loads and stores through LoadPartial/StorePartial.</summary>
    private bool IsPartial(DenseTile t) => t.LastLanes % _p.Vf != 0;

    /// <summary>
    /// A micro-kernel over k in [k0, k1): the accumulators (zero in the first K block, else the
    /// partial sums in y), the k loop, and in the last K block the epilogue; then the store.
    /// </summary>
    private void EmitTile(DenseTile t)
    {
        _w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
        _w.Block(Invariant($"private static void Tile_{t.Rows}_{t.Suffix}(float* x, float* w, float* y, float* r, float* b, int k0, int k1)"), () =>
        {
            if (IsPartial(t))
                L($"float* tmp = stackalloc float[{_p.Vf}];");
            EmitAccumulators(t);
            EmitKLoop(t);
            if (_p.KBlocks == 1)
            {
                EmitEpilogue(t);
                EmitStore(t);
            }
            else
            {
                _w.Block("if (k1 == K)", () => EmitEpilogue(t));
                EmitStore(t);
            }
        });
        _w.Line();
    }

    private static string Acc(int i, int j) => Invariant($"a{i}_{j}");

    /// <summary>Row i, vector j of the tile in a row-major [M, N] buffer.</summary>
    private string At(string basePtr, int i, int j) => Invariant($"{basePtr} + {i} * N + {j * _p.Vf}");

    private bool IsPartialVector(DenseTile t, int j) => IsPartial(t) && j == t.Vectors - 1;

    private string Load(DenseTile t, string basePtr, int i, int j) =>
        IsPartialVector(t, j) ? Invariant($"LoadPartial({At(basePtr, i, j)}, {t.LastLanes}, tmp)") : $"{V}.Load({At(basePtr, i, j)})";

    private void EmitAccumulators(DenseTile t)
    {
        for (int i = 0; i < t.Rows; i++)
        {
            for (int j = 0; j < t.Vectors; j++)
                _w.Line(_p.KBlocks == 1 ? $"var {Acc(i, j)} = {V}<float>.Zero;" : $"var {Acc(i, j)} = k0 == 0 ? {V}<float>.Zero : {Load(t, "y", i, j)};");
        }
    }

    /// <summary>The k loop over the packed panel: unroll_k steps written out, then one step at a time for the rest.</summary>
    private void EmitKLoop(DenseTile t)
    {
        int unroll = _p.UnrollK;
        _w.Line("int k = k0;");
        _w.Line("float* wk = w + k0 * TN;");
        if (unroll > 1)
        {
            _w.Block(Invariant($"for (; k + {unroll} <= k1; k += {unroll}, wk += {unroll} * TN)"), () =>
            {
                for (int u = 0; u < unroll; u++)
                    _w.Block(Invariant($"// k + {u}"), () => EmitKStep(t, u));
            });
        }
        _w.Block("for (; k < k1; k++, wk += TN)", () => EmitKStep(t, 0));
    }

    /// <summary>One k step (k + u): the panel's weight vectors, then per row a broadcast of x and one FMA per vector.</summary>
    private void EmitKStep(DenseTile t, int u)
    {
        for (int j = 0; j < t.Vectors; j++)
            L($"var w{j} = {V}.Load(wk + {u} * TN + {j * _p.Vf});");
        for (int i = 0; i < t.Rows; i++)
        {
            L($"var x{i} = {V}.Create(x[{i} * K + k + {u}]);");
            for (int j = 0; j < t.Vectors; j++)
                L($"{Acc(i, j)} = {V}.FusedMultiplyAdd(x{i}, w{j}, {Acc(i, j)});");
        }
    }

    /// <summary>The fused epilogue on the accumulators: + bias, + residual, activation.</summary>
    private void EmitEpilogue(DenseTile t)
    {
        for (int j = 0; j < t.Vectors; j++)
        {
            if (_e.Bias)
                L($"var bias{j} = {V}.Load(b + {j * _p.Vf});");
        }
        for (int i = 0; i < t.Rows; i++)
        {
            for (int j = 0; j < t.Vectors; j++)
            {
                string a = Acc(i, j);
                if (_e.Bias)
                    L($"{a} += bias{j};");
                if (_e.Residual)
                    _w.Line($"{a} += {Load(t, "r", i, j)};");
                if (_e.Activation.Length > 0)
                    _w.Line($"{a} = {EpilogueCode.Vector(_e, a, V)};");
            }
        }
    }

    private void EmitStore(DenseTile t)
    {
        for (int i = 0; i < t.Rows; i++)
        {
            for (int j = 0; j < t.Vectors; j++)
            {
                _w.Line(IsPartialVector(t, j)
                    ? Invariant($"StorePartial({Acc(i, j)}, {At("y", i, j)}, {t.LastLanes}, tmp);")
                    : $"{Acc(i, j)}.Store({At("y", i, j)});");
            }
        }
    }

    /// <summary>The tails: load and store of the partial last vector through a VF-float scratch (written once per class; only the L tiles use them).</summary>
    private void EmitPartialHelpers()
    {
        _w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
        _w.Block($"private static {V}<float> LoadPartial(float* p, int lanes, float* tmp)", () =>
        {
            _w.Line("for (int l = 0; l < VF; l++) tmp[l] = l < lanes ? p[l] : 0f;");
            _w.Line($"return {V}.Load(tmp);");
        });
        _w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
        _w.Block($"private static void StorePartial({V}<float> v, float* p, int lanes, float* tmp)", () =>
        {
            _w.Line("v.Store(tmp);");
            _w.Line("for (int l = 0; l < lanes; l++) p[l] = tmp[l];");
        });
        _w.Line();
    }

    /// <summary>The portable path: one scalar dot product per output over the packed weights, then the epilogue.</summary>
    private void EmitPortable()
    {
        _w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
        _w.Block("private static void RunPortable(float* x, float* y, float* r, float* wp, float* bp)", () =>
        {
            _w.Block("for (int m = 0; m < M; m++)", () =>
            {
                _w.Block("for (int n = 0; n < N; n++)", () =>
                {
                    _w.Line("float* wc = wp + (n / TN) * K * TN + n % TN;");
                    _w.Line("float* xr = x + m * K;");
                    _w.Line("float s = 0f;");
                    _w.Line("for (int k = 0; k < K; k++) s += xr[k] * wc[k * TN];");
                    if (_e.Bias)
                        _w.Line("s += bp[n];");
                    if (_e.Residual)
                        _w.Line("s += r[m * N + n];");
                    _w.Line($"y[m * N + n] = {EpilogueCode.Scalar(_e, "s")};");
                });
            });
        });
    }
}
