using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Tests.Support;
using AutoKernel.Runtime.Kernels;
using AutoKernel.Runtime.Threading;

namespace AutoKernel.Generator.Tests.Fixed;

/// <summary>The FixedOp contract (value equality, sorted attributes, exact text) and the compiler-inserted Copy and LayoutTransform kernels.</summary>
public sealed class FixedOpTests
{
    private static readonly CpuTarget Target = new(256, 2, "test");

    private static Dictionary<string, string> A(params (string Key, string Value)[] kv) => kv.ToDictionary(p => p.Key, p => p.Value);

    [Fact]
    public void Equality_is_by_value_over_all_fields_and_attributes_are_sorted()
    {
        var a = new FixedOp("Pad", [[1, 2, 3]], [1, 2, 5], 0, A(("map.0", "0"), ("map_base", "0"), ("b", "1,2")));
        var b = new FixedOp("Pad", [new[] { 1, 2, 3 }], new[] { 1, 2, 5 }, 0, A(("b", "1,2"), ("map_base", "0"), ("map.0", "0")));
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.Equal(["b", "map.0", "map_base"], a.Attributes.Select(kv => kv.Key));
        Assert.NotEqual(a, new FixedOp("Pad", [[1, 2, 3]], [1, 2, 5], 8, a.Attributes));
        Assert.NotEqual(a, new FixedOp("Pad", [[1, 2, 4]], [1, 2, 5], 0, a.Attributes));
        Assert.NotEqual(a, new FixedOp("Pad", [[1, 2, 3]], [1, 2, 5], 0, A(("b", "1,3"), ("map_base", "0"), ("map.0", "0"))));
        Assert.Throws<ArgumentException>(() => new FixedOp("Pad", [[1]], [1], 0, [new("k", "1"), new("k", "2")]));
        // The shapes are copied: later changes to the caller's arrays do not leak in.
        int[] shape = [4];
        var c = new FixedOp("Copy", [shape], shape, 0);
        shape[0] = 5;
        Assert.Equal([4], c.Output);
    }

    [Theory]
    [InlineData(0.1f)]
    [InlineData(-3.4028235e38f)]
    [InlineData(1e-45f)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    [InlineData(float.NaN)]
    public void Floats_round_trip_as_text(float value)
    {
        string text = FixedOp.Float(value);
        Assert.Equal(value, FixedOp.ParseFloat(text));
        var op = new FixedOp("Activation", [[2]], [2], 0, A(("activation", "Clip"), ("activation_alpha", text), ("activation_beta", FixedOp.Floats([value, 2f]))));
        Assert.Equal(value, op.GetFloat("activation_alpha", 0f));
        Assert.Equal([value, 2f], op.GetFloats("activation_beta"));
        Assert.Equal([1, -2, 3], new FixedOp("X", [], [1], 0, A(("v", FixedOp.Ints([1, -2, 3])))).GetInts("v"));
    }

    [Fact]
    public void Emitted_text_is_deterministic()
    {
        var op = new FixedOp("Add", [[1, 20, 3, 3], [20, 1, 1]], [1, 20, 3, 3], 8, A(("constant_inputs", "1")));
        Assert.Equal(FixedKernels.Emit(op, Target, "N", "K"), FixedKernels.Emit(new FixedOp(op.OpType, op.Inputs, op.Output, op.Block, op.Attributes), Target, "N", "K"));
    }

    [Theory]
    [InlineData(0, 8)]
    [InlineData(8, 0)]
    [InlineData(8, 16)]
    [InlineData(16, 8)]
    [InlineData(4, 4)]
    public void Layout_transform_moves_between_blocks_and_zero_fills_padding(int from, int to)
    {
        int[] shape = [2, 20, 3, 5];
        var op = new FixedOp("LayoutTransform", [shape], shape, 0, A(("from", from.ToString()), ("to", to.ToString())));
        var kernel = (IFixedKernel)Activator.CreateInstance(KernelCompiler.CompileAssembly([FixedKernels.Emit(op, Target, "F", "Kernel")]).GetType("F.Kernel", throwOnError: true)!)!;
        var x = TestData.RandomFloats(new Random(3), 2 * 20 * 15);
        using var pool = new WorkerPool(2);
        // Through the native layouts: standard -> from -> to -> standard must be the identity.
        var result = StandardLayout.Run(kernel, [x], x.Length, pool);
        Assert.Equal(x, result);
        if (to > 0)
        {
            unsafe
            {
                var native = new float[kernel.InputLength(0)];
                kernel.InputToNative(0, x, native);
                var output = Enumerable.Repeat(float.NaN, kernel.OutputLength).ToArray();
                fixed (float* i = native, o = output)
                {
                    float** p = stackalloc float*[1];
                    p[0] = i;
                    kernel.Run(p, o, pool);
                }
                int blocks = (20 + to - 1) / to;
                for (int n = 0; n < 2; n++)
                    for (int px = 0; px < 15; px++)
                        for (int l = 20 - (blocks - 1) * to; l < to; l++)
                            Assert.Equal(0f, output[((n * blocks + blocks - 1) * 15 + px) * to + l]);
            }
        }
    }

    [Fact]
    public void Copy_copies()
    {
        var op = new FixedOp("Copy", [[3, 70001]], [210003], 0);
        var kernel = (IFixedKernel)Activator.CreateInstance(KernelCompiler.CompileAssembly([FixedKernels.Emit(op, Target, "F", "Kernel")]).GetType("F.Kernel", throwOnError: true)!)!;
        var x = TestData.RandomFloats(new Random(4), 210003);
        using var pool = new WorkerPool(2);
        Assert.Equal(x, StandardLayout.Run(kernel, [x], x.Length, pool));
    }
}
