using AutoKernel.Generator.Kernels;

namespace AutoKernel.Generator.Plans;

/// <summary>
/// A compiled model: what `autokernel compile` writes and the source generator reads. It holds no
/// weights (they are in the weights file it names by hash) and no Roslyn types, and every member
/// has value equality, so an unchanged plan leaves the generator's steps cached. The text format is
/// <see cref="PlanFormat"/>, documented in docs/architecture.md.
/// </summary>
/// <param name="Version">Plan format version (<see cref="PlanFormat.Version"/>).</param>
/// <param name="Model">The ONNX file's name, for messages.</param>
/// <param name="ArenaFloats">Floats of the intermediate-tensor arena every model instance allocates.</param>
/// <param name="IntermediateFloats">Sum of all arena buffers before reuse (the report compares it with the arena).</param>
public sealed record ModelPlan(
    int Version,
    string Model,
    PlanTarget Target,
    PlanWeights Weights,
    long ArenaFloats,
    long IntermediateFloats,
    EquatableArray<PlanValue> Inputs,
    EquatableArray<PlanValue> Outputs,
    EquatableArray<PlanBuffer> Buffers,
    EquatableArray<PlanStep> Steps);

/// <summary>The CPU the kernels were chosen for: the tuning records' target and thread count.</summary>
public sealed record PlanTarget(int VectorBits, int Threads, string Description)
{
    public CpuTarget ToCpuTarget() => new(VectorBits, Threads, Description);
}

/// <summary>The weights file's payload size and SHA-256 (lowercase hex): a mismatched pair is refused at load.</summary>
public sealed record PlanWeights(long Bytes, string Sha256);

/// <summary>A model input or output: ONNX name, shape (float32) and the buffer that holds it.</summary>
public sealed record PlanValue(string Name, EquatableArray<int> Shape, int Buffer);

/// <summary>
/// A region of memory steps read or write. <see cref="Kind"/>: "arena" (Offset in floats into the
/// instance's arena), "weights" (Offset in floats into the weights payload), "input" or "output"
/// (Offset is the index of the model input or output, whose caller's span is used directly).
/// </summary>
public sealed record PlanBuffer(int Id, string Kind, long Offset, long Floats)
{
    public const string Arena = "arena";
    public const string WeightsKind = "weights";
    public const string Input = "input";
    public const string Output = "output";
}

/// <summary>
/// One kernel call, in execution order. <see cref="Kind"/>: "tuned" (a tuned template, see
/// <see cref="Tuned"/>), "fixed" (a generated fixed kernel for one graph node), "transform" (a layout
/// transform the compiler inserted) or "copy" (a copy the compiler inserted), the last three with
/// <see cref="Fixed"/>. <see cref="Inputs"/> are buffer ids in the kernel's input order (for a
/// tuned kernel: the input, then the residual when the epilogue has one).
/// </summary>
public sealed record PlanStep(
    string Kind,
    string Node,
    string Op,
    EquatableArray<int> Inputs,
    int Output,
    TunedStep? Tuned,
    FixedStep? Fixed)
{
    public const string TunedKind = "tuned";
    public const string FixedKind = "fixed";
    public const string TransformKind = "transform";
    public const string CopyKind = "copy";
}

/// <summary>
/// A tuned kernel: the template, the workload key and the config index of the record it came from
/// (or of the fallback rule), its epilogue, and the weights buffers holding its packed weights and bias.
/// <see cref="Source"/> says where the config came from: "record", "similar-target" or "fallback".
/// </summary>
public sealed record TunedStep(string Template, string WorkloadKey, long ConfigIndex, Epilogue Epilogue, int Weights, int Bias, string Source)
{
    public const string FromRecord = "record";
    public const string FromSimilarTarget = "similar-target";
    public const string FromFallback = "fallback";
}

/// <summary>A <see cref="FixedOp"/> as the plan stores it.</summary>
public sealed record FixedStep(string OpType, EquatableArray<EquatableArray<int>> Inputs, EquatableArray<int> Output, int Block, EquatableArray<PlanAttribute> Attributes);

public sealed record PlanAttribute(string Key, string Value);
