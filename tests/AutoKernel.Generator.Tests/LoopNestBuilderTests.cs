using AutoKernel.Generator.Kernels;

namespace AutoKernel.Generator.Tests;

/// <summary>LoopNestBuilder's footprints on small hand-built nests, computed by hand from the rule in <see cref="BufferAccess"/>.</summary>
public sealed class LoopNestBuilderTests
{
    [Fact]
    public void Footprints_fold_each_dimension_smallest_step_first_whatever_the_loop_order()
    {
        var b = new LoopNestBuilder();
        var a = b.Buffer("a", BufferRole.Input, ("x", 100), ("y", 5));
        // The step-10 loop is outside the step-1 loop of the same dimension; y has overlapping strides.
        b.Loop("p", 4, a.At("x", 10))
            .Loop("q", 3, a.At("x"))
            .Loop("r", 3, a.At("y", 2))
            .Loop("s", 3, LoopAnnotation.Unrolled, a.At("y"))
            .Loop("t", 1, a.At("x", 50)); // one iteration moves nothing
        var nest = b.Build(flopsPerIteration: 2, vectorRegisters: 3);
        var buffer = Assert.Single(nest.Buffers);
        Assert.Equal(100L * 5 * 4, buffer.Bytes);
        // depth 0: x covers 3 (step 1) then 12 (4 copies at step 10), y all 5; depth 1: x 3, y 5;
        // depth 2: y 3 then min(9, 3 + 2 * 2, 5) = 5; depth 3: y 3; depths 4 and 5: one element.
        Assert.Equal([12L * 5 * 4, 3L * 5 * 4, 5L * 4, 3L * 4, 4, 4], buffer.TouchedPerLevel);
        Assert.Equal(["p", "q", "r", "s", "t"], nest.Loops.Select(l => l.Name));
        Assert.Equal(4L * 3 * 3 * 3, nest.Iterations);
        Assert.Equal(2L * 4 * 3 * 3 * 3, nest.Flops);
    }

    [Fact]
    public void Fused_loops_join_their_axes_and_count_every_axis_move()
    {
        var b = new LoopNestBuilder();
        var w = b.Buffer("w", BufferRole.Weight, ("x", 6), ("z", 7));
        var o = b.Buffer("o", BufferRole.Output, ("z", 7));
        b.Fused(LoopAnnotation.Parallel, LoopNestBuilder.Axis("i", 2, w.At("x", 3)), LoopNestBuilder.Axis("j", 3, w.At("x")))
            .Loop("k", 7, LoopAnnotation.Vectorized, w.At("z"), o.At("z"));
        var nest = b.Build(flopsPerIteration: 2, vectorRegisters: 3, fullTileFraction: 2.5, auxiliaryFlops: 11, auxiliaryBytes: 13);
        Assert.Equal(["i.j", "k"], nest.Loops.Select(l => l.Name));
        Assert.Equal([6L, 7L], nest.Loops.Select(l => l.Extent));
        Assert.Equal([LoopAnnotation.Parallel, LoopAnnotation.Vectorized], nest.Loops.Select(l => l.Annotation));
        Assert.Equal(0, nest.ParallelLoop);
        // x: 3 steps of 1, then 2 copies at step 3: all 6.
        Assert.Equal([6L * 7 * 4, 7L * 4, 4], nest.Buffer("w").TouchedPerLevel);
        // The output does not move with i.j: every iteration of it touches the same 7 floats.
        Assert.Equal([7L * 4, 7L * 4, 4], nest.Buffer("o").TouchedPerLevel);
        Assert.Equal(6, nest.Reuse(nest.Buffer("o"), 0));
        Assert.Equal(1.0, nest.FullTileFraction);
        Assert.Equal(11, nest.AuxiliaryFlops);
        Assert.Equal(13, nest.AuxiliaryBytes);
    }

    [Fact]
    public void An_axis_without_iterations_is_rejected()
    {
        var b = new LoopNestBuilder();
        var a = b.Buffer("a", BufferRole.Input, ("x", 4));
        b.Loop("x", 0, a.At("x"));
        Assert.Throws<InvalidOperationException>(() => b.Build(flopsPerIteration: 2, vectorRegisters: 3));
        Assert.Throws<ArgumentException>(() => a.At("nope"));
    }
}
