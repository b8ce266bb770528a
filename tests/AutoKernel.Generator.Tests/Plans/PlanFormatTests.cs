using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Plans;

namespace AutoKernel.Generator.Tests.Plans;

public sealed class PlanFormatTests
{
    internal static ModelPlan Sample() => new(
        PlanFormat.Version,
        "tiny.onnx",
        new PlanTarget(256, 2, "x64 AVX2, Test CPU"),
        new PlanWeights(128, new string('a', 64)),
        ArenaFloats: 64,
        IntermediateFloats: 96,
        new[] { new PlanValue("x", new[] { 1, 4 }.ToEquatableArray(), 0) }.ToEquatableArray(),
        new[] { new PlanValue("y \"out\"", new[] { 1, 4 }.ToEquatableArray(), 1) }.ToEquatableArray(),
        new[]
        {
            new PlanBuffer(0, PlanBuffer.Input, 0, 4),
            new PlanBuffer(1, PlanBuffer.Output, 0, 4),
            new PlanBuffer(2, PlanBuffer.Arena, 16, 4),
            new PlanBuffer(3, PlanBuffer.WeightsKind, 0, 16),
            new PlanBuffer(4, PlanBuffer.WeightsKind, 16, 4),
        }.ToEquatableArray(),
        new[]
        {
            new PlanStep(PlanStep.TunedKind, "fc", "Gemm", new[] { 0 }.ToEquatableArray(), 2,
                new TunedStep("dense_packed", "dense|data=1x4|weight=4x4|dtype=float32", 3, new Epilogue(true, false, "Clip", -1.5f, float.PositiveInfinity), 3, 4, TunedStep.FromFallback), null),
            new PlanStep(PlanStep.FixedKind, "act", "Relu", new[] { 2 }.ToEquatableArray(), 1, null,
                new FixedStep("Activation", new[] { new[] { 1, 4 }.ToEquatableArray() }.ToEquatableArray(), new[] { 1, 4 }.ToEquatableArray(), 0,
                    new[] { new PlanAttribute("activation", "Relu") }.ToEquatableArray())),
        }.ToEquatableArray());

    [Fact]
    public void Round_trips_exactly_and_deterministically()
    {
        var plan = Sample();
        string text = PlanFormat.Write(plan);
        var read = PlanFormat.Parse(text);
        Assert.Equal(plan, read);
        Assert.Equal(text, PlanFormat.Write(read));
        Assert.DoesNotContain("\r", text);
    }
}
