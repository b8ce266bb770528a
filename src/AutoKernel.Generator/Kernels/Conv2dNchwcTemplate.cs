using System;
using System.Collections.Generic;
using System.Linq;
using AutoKernel.Generator.Schedules;
using AutoKernel.Generator.Workloads;

namespace AutoKernel.Generator.Kernels;

/// <summary>
/// Direct convolution in the channel-blocked layout, after TVM's conv2d_NCHWc for x86.
/// Input NCHW[ic_bn]c, output NCHW[oc_bn]c (channels zero padded to whole blocks), weights packed
/// by Prepare into [oc/oc_bn][ic/ic_bn][kh][kw][ic_bn][oc_bn]. The micro-kernel keeps
/// tile_ow x (oc_bn / VF) accumulators in registers, broadcasts one input value per (ic, kw, ow)
/// and multiply-adds it against oc_bn/VF weight vectors.
/// </summary>
/// <remarks>
/// Knobs: tile_ic ([ic blocks, ic_bn], ic_bn need not divide the channel count: the last block
/// is zero padded), tile_oc ([oc blocks, oc_bn], oc_bn a multiple of the vector width), tile_ow
/// ([tiles, width] of the register block along the output row; a remainder tile covers the
/// rest), tile_oh (output rows per parallel task), unroll_kw (0: kw loop, 1: kw unrolled by the
/// emitter), order (loop nest around the ic micro-loop: [ic-block, kh, kw], [kh, ic-block, kw]
/// or [kh, kw, ic-block]) and parallel (what pool.For distributes; see <see cref="ParallelOcRows"/>).
/// </remarks>
public sealed class Conv2dNchwcTemplate : KernelTemplate
{
    /// <summary>parallel = 0: tasks are (batch, oc block, row block) fused.</summary>
    public const int ParallelOcRows = 0;

    /// <summary>parallel = 1: tasks are (batch, row block); each loops oc blocks outside its rows (weights stay hot).</summary>
    public const int ParallelRowsOcOuter = 1;

    /// <summary>parallel = 2: tasks are (batch, row block); each loops oc blocks inside each row (input rows stay hot).</summary>
    public const int ParallelRowsOcInner = 2;

    /// <summary>Vector registers the micro-kernel may use beyond its accumulators: oc_bn/VF weight vectors and one broadcast.</summary>
    public static int RegistersNeeded(int tileOw, int ocBn, CpuTarget target) =>
        tileOw * (ocBn / target.VectorFloats) + ocBn / target.VectorFloats + 1;

    /// <summary>Architectural vector registers: <see cref="CpuTarget.VectorRegisters"/> (kept for existing callers).</summary>
    public static int RegisterFile(CpuTarget target) => target.VectorRegisters;

    public override string Name => "conv2d_nchwc";

    public override bool Supports(Workload workload) =>
        workload is Conv2dWorkload c && c.Groups == 1 && c.OutHeight > 0 && c.OutWidth > 0
        && c.Batch > 0 && c.InChannels > 0 && c.OutChannels > 0 && c.KernelHeight > 0 && c.KernelWidth > 0
        && c.StrideHeight > 0 && c.StrideWidth > 0 && c.DilationHeight > 0 && c.DilationWidth > 0;

    public override ConfigSpace CreateSpace(Workload workload, CpuTarget target)
    {
        var c = Validate<Conv2dWorkload>(workload);
        int vf = target.VectorFloats;

        // ic_bn: divisors of IC up to 64 plus vector-friendly sizes; oc_bn: one to four vectors.
        var (tileIc, tileOc) = EmitterShared.ChannelBlockKnobs(c, vf);

        int ow = c.OutWidth;
        var tileOw = new Knob("tile_ow", KnobKind.Split, Enumerable.Range(1, Math.Min(ow, 32)).Select(t => new[] { Blocks(ow, t), t }));

        var ohCandidates = new[] { 1, 2, 4, 8 }.Where(h => h == 1 || h <= c.OutHeight).ToArray();
        var tileOh = Knob.Choice("tile_oh", KnobKind.Other, ohCandidates);

        var unrollKw = Knob.Choice("unroll_kw", KnobKind.Annotate, 0, 1);
        // Loop axes around the ic micro-loop: 0 = ic block, 1 = kh, 2 = kw (outermost first).
        var order = Knob.Reorder("order", [0, 1, 2], [1, 0, 2], [1, 2, 0]);
        var parallel = Knob.Choice("parallel", KnobKind.Other, ParallelOcRows, ParallelRowsOcOuter, ParallelRowsOcInner);

        int registers = target.VectorRegisters;
        return new ConfigSpace(
            Name,
            [tileIc, tileOc, tileOw, tileOh, unrollKw, order, parallel],
            [cfg => RegistersNeeded(cfg["tile_ow"][1], cfg["tile_oc"][1], target) <= registers]);
    }

    public override string Emit(Workload workload, Epilogue epilogue, Config config, CpuTarget target, string ns, string className) =>
        new Conv2dNchwcEmitter(Plan(workload, config, target), epilogue, target, config.ToString()).Emit(ns, className);

    public override LoopNest DescribeLoops(Workload workload, Config config, CpuTarget target) =>
        Plan(workload, config, target).Describe(target);

    private Conv2dNchwcPlan Plan(Workload workload, Config config, CpuTarget target)
    {
        var c = Validate<Conv2dWorkload>(workload, config);
        var plan = new Conv2dNchwcPlan(
            c,
            icBn: config["tile_ic"][1],
            ocBn: config["tile_oc"][1],
            tileOw: config["tile_ow"][1],
            tileOh: config.Value("tile_oh"),
            unrollKw: config.Value("unroll_kw") != 0,
            order: config["order"].ToArray(),
            parallel: config.Value("parallel"));
        if (plan.OcBn % target.VectorFloats != 0)
            throw new ArgumentException($"oc_bn {plan.OcBn} is not a multiple of {target.VectorFloats}", nameof(config));
        return plan;
    }

    private static int Blocks(int extent, int block) => EmitterShared.Blocks(extent, block);
}
