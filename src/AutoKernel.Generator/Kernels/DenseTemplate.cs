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

    public override ConfigSpace CreateSpace(Workload workload, CpuTarget target)
    {
        var d = Dense(workload);
        int vf = target.VectorFloats;
        int nVectors = (d.N + vf - 1) / vf;
        int regs = target.VectorRegisters;
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
    internal static int RegistersNeeded(int tileM, int tileN, int vf) => tileM * (tileN / vf) + tileN / vf + 1;

    /// <summary>Every constant of the kernel for this config, checked: what Emit bakes in and DescribeLoops describes.</summary>
    private DensePlan Plan(Workload workload, Config config, CpuTarget target)
    {
        var d = Validate<DenseWorkload>(workload, config);
        return new DensePlan(
            d,
            tileN: config.Value("tile_n"),
            tileM: config.Value("tile_m"),
            tileK: config.Value("tile_k"),
            unrollK: config.Value("unroll_k"),
            order: config.Value("order"),
            parallel: config.Value("parallel"),
            target);
    }

    /// <inheritdoc/>
    /// <remarks>See <see cref="DensePlan.Describe"/>.</remarks>
    public override LoopNest DescribeLoops(Workload workload, Config config, CpuTarget target) =>
        Plan(workload, config, target).Describe();

    public override string Emit(Workload workload, Epilogue epilogue, Config config, CpuTarget target, string ns, string className)
    {
        var plan = Plan(workload, config, target);
        string header = Invariant($"{workload.Key} epilogue: bias={epilogue.Bias} residual={epilogue.Residual} activation={epilogue.Activation}") + "\nconfig: " + config;
        return new DenseEmitter(plan, epilogue, header).Emit(ns, className);
    }
}
