using System;
using System.Collections.Generic;
using System.Linq;
using AutoKernel.Generator.Schedules;
using AutoKernel.Generator.Workloads;

namespace AutoKernel.Generator.Kernels;

/// <summary>The CPU a kernel is tuned and emitted for.</summary>
/// <param name="VectorBits">Widest accelerated vector: 512, 256 or 128.</param>
/// <param name="Cores">Threads available to the kernel.</param>
/// <param name="Description">ISA and CPU model, for records ("x86-64 AVX-512, Intel Xeon ...").</param>
public sealed record CpuTarget(int VectorBits, int Cores, string Description)
{
    /// <summary>Floats per vector register.</summary>
    public int VectorFloats => VectorBits / 32;

    /// <summary>"Vector512", "Vector256" or "Vector128".</summary>
    public string VectorClass => "Vector" + VectorBits;

    /// <summary>
    /// Architectural vector registers a micro-kernel may fill: 32 with AVX-512, 16 otherwise (AVX2
    /// and 128-bit targets). Every template's register constraint and the cost-model features use this.
    /// </summary>
    public int VectorRegisters => VectorBits >= 512 ? 32 : 16;
}

/// <summary>What a fused node adds after its main computation: bias, residual, activation, in that order.</summary>
public sealed record Epilogue(bool Bias, bool Residual, string Activation, float Alpha, float Beta)
{
    public static readonly Epilogue None = new(false, false, "", 0, 0);

    /// <summary>
    /// The record's usual text, with the parameters formatted in the invariant culture (emitters
    /// write it into source comments, which must not depend on the build machine's culture).
    /// </summary>
    public override string ToString() =>
        FormattableString.Invariant($"Epilogue {{ Bias = {Bias}, Residual = {Residual}, Activation = {Activation}, Alpha = {Alpha}, Beta = {Beta} }}");
}

/// <summary>
/// A schedule template: for workloads it supports, a configuration space and an emitter that
/// turns (workload, epilogue, config, target) into deterministic C# source for one class that
/// implements <c>AutoKernel.Runtime.Kernels.ITunedKernel</c>. The tuner compiles exactly this
/// source to measure it, and the source generator emits exactly this source into the app.
/// </summary>
public abstract class KernelTemplate
{
    /// <summary>Stable name recorded in tuning logs, e.g. "conv2d_nchwc".</summary>
    public abstract string Name { get; }

    public abstract bool Supports(Workload workload);

    public abstract ConfigSpace CreateSpace(Workload workload, CpuTarget target);

    /// <summary>
    /// C# source of an internal sealed class <paramref name="className"/> in namespace
    /// <paramref name="ns"/>, implementing ITunedKernel (internal, so two assemblies that ship the
    /// same kernel never clash when one references the other). Shapes are constants; the hot loops are
    /// unsafe pointer code with [MethodImpl(MethodImplOptions.AggressiveOptimization)], and they
    /// allocate nothing. The code runs on any machine: it uses the target's vector width where that
    /// is accelerated and a portable path otherwise, or where the instance's <c>ForcePortable</c>
    /// property is set (see <see cref="EmitterShared"/>).
    /// </summary>
    public abstract string Emit(Workload workload, Epilogue epilogue, Config config, CpuTarget target, string ns, string className);

    /// <summary>
    /// The workload as <typeparamref name="T"/> when this template supports it, and, when
    /// <paramref name="config"/> is given, checks that the config is a valid point of this
    /// template's space; otherwise an <see cref="ArgumentException"/> naming what is wrong.
    /// </summary>
    protected T Validate<T>(Workload workload, Config? config = null)
        where T : Workload
    {
        if (workload is not T typed || !Supports(workload))
            throw new ArgumentException($"{Name} does not support {workload.Key}", nameof(workload));
        if (config is not null && config.Space.Template != Name)
            throw new ArgumentException($"config is for template {config.Space.Template}, not {Name}", nameof(config));
        if (config is not null && !config.Space.IsValid(config))
            throw new ArgumentException($"invalid config for {workload.Key}: {config}", nameof(config));
        return typed;
    }

    /// <summary>
    /// The loop nest that Emit produces for this config, outermost first, for cost-model features:
    /// the main path's loops with their extents and annotations (parallel, unrolled, vectorized),
    /// the buffers with their footprints per loop level, and the micro-kernel's register use. Each
    /// template builds it from the same constants its emitter bakes in (see <see cref="LoopNest"/>
    /// for what is nominal).
    /// </summary>
    public abstract LoopNest DescribeLoops(Workload workload, Config config, CpuTarget target);
}
