using AutoKernel.Generator.Plans;

namespace AutoKernel.Generator.Emit;

/// <summary>
/// What the generator emits for one plan file: the model class and the kernels its steps call.
/// Holds no Roslyn symbols; every member has value equality.
/// </summary>
/// <param name="WeightsResourceName">"{namespace}.{class}.weights": the embedded resource, or with <see cref="WeightsMode.File"/> the file name next to the app.</param>
/// <param name="Weights">Where the class loads its weights from by default (item metadata <c>AutoKernelWeights</c>).</param>
/// <param name="StepKernels">Per step, the class name of its kernel (in <see cref="KernelNames.Namespace"/>).</param>
public sealed record ModelSpec(
    string PlanPath,
    string Namespace,
    string ClassName,
    string WeightsResourceName,
    WeightsMode Weights,
    ModelPlan Plan,
    EquatableArray<string> StepKernels,
    EquatableArray<KernelSpec> Kernels);

/// <summary>Where a model class loads its weights from unless ModelOptions names a file or stream.</summary>
public enum WeightsMode
{
    /// <summary>The assembly's embedded resource <c>WeightsResourceName</c> (metadata <c>Embedded</c>, the default).</summary>
    Embedded,

    /// <summary>The file <c>Path.Combine(AppContext.BaseDirectory, WeightsResourceName)</c> (metadata <c>File</c>).</summary>
    File,
}

/// <summary>One emitted kernel class: a tuned template's schedule or a fixed operator, for a target.</summary>
public sealed record KernelSpec(string ClassName, PlanTarget Target, TunedStep? Tuned, FixedStep? Fixed);

/// <summary>A diagnostic as plain data (so the parse step's output stays equatable).</summary>
public sealed record DiagnosticInfo(string Id, string Message, string Path, int Line, int Column);

/// <summary>The parse step's result: a model, or the diagnostics that stopped it.</summary>
public sealed record PlanResult(ModelSpec? Model, EquatableArray<DiagnosticInfo> Diagnostics);
