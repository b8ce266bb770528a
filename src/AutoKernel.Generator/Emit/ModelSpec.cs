using AutoKernel.Generator.Plans;

namespace AutoKernel.Generator.Emit;

/// <summary>
/// What the generator emits for one plan file: the model class and the kernels its steps call.
/// Holds no Roslyn symbols; every member has value equality.
/// </summary>
/// <param name="StepKernels">Per step, the class name of its kernel (in <see cref="KernelNames.Namespace"/>).</param>
public sealed record ModelSpec(
    string PlanPath,
    string Namespace,
    string ClassName,
    string WeightsResourceName,
    ModelPlan Plan,
    EquatableArray<string> StepKernels,
    EquatableArray<KernelSpec> Kernels);

/// <summary>One emitted kernel class: a tuned template's schedule or a fixed operator, for a target.</summary>
public sealed record KernelSpec(string ClassName, PlanTarget Target, TunedStep? Tuned, FixedStep? Fixed);

/// <summary>A diagnostic as plain data (so the parse step's output stays equatable).</summary>
public sealed record DiagnosticInfo(string Id, string Message, string Path, int Line, int Column);

/// <summary>The parse step's result: a model, or the diagnostics that stopped it.</summary>
public sealed record PlanResult(ModelSpec? Model, EquatableArray<DiagnosticInfo> Diagnostics);
