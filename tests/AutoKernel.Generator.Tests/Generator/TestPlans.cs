using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Plans;
using AutoKernel.Generator.Workloads;

namespace AutoKernel.Generator.Tests.Generator;

/// <summary>A small, valid plan: a tuned dense layer with bias and Relu, then a copy into the output.</summary>
public static class TestPlans
{
    public static readonly PlanTarget Target = new(256, 2, "x64 AVX2, Test CPU");

    public static readonly DenseWorkload Dense = new(1, 5, 8);

    /// <summary>A valid config of the dense template for <see cref="Dense"/>: the <paramref name="nth"/> valid point.</summary>
    public static long Config(int nth = 0) =>
        new DenseTemplate().CreateSpace(Dense, Target.ToCpuTarget()).EnumerateValid().Skip(nth).First().Index;

    public static ModelPlan Plan(int nth = 0, string activation = "Relu") => new(
        PlanFormat.Version,
        "tiny.onnx",
        Target,
        new PlanWeights(4096, new string('0', 63) + "1"),
        ArenaFloats: 16,
        IntermediateFloats: 16,
        new[] { new PlanValue("x", new[] { 1, 8 }.ToEquatableArray(), 0) }.ToEquatableArray(),
        new[] { new PlanValue("y", new[] { 1, 5 }.ToEquatableArray(), 1) }.ToEquatableArray(),
        new[]
        {
            new PlanBuffer(0, PlanBuffer.Input, 0, 8),
            new PlanBuffer(1, PlanBuffer.Output, 0, 5),
            new PlanBuffer(2, PlanBuffer.Arena, 0, 5),
            new PlanBuffer(3, PlanBuffer.WeightsKind, 0, 512),
            new PlanBuffer(4, PlanBuffer.WeightsKind, 512, 64),
        }.ToEquatableArray(),
        new[]
        {
            new PlanStep(PlanStep.TunedKind, "fc", "FusedGemm", new[] { 0 }.ToEquatableArray(), 2,
                new TunedStep("dense_packed", Dense.Key, Config(nth), new Epilogue(true, false, activation, 0, 0), 3, 4, TunedStep.FromRecord), null),
            new PlanStep(PlanStep.CopyKind, "", "Copy", new[] { 2 }.ToEquatableArray(), 1, null,
                PlanFormat.FromFixedOp(new FixedOp("Copy", [[1, 5]], [1, 5], 0))),
        }.ToEquatableArray());

    public static string Text(int nth = 0, string activation = "Relu") => PlanFormat.Write(Plan(nth, activation));
}
