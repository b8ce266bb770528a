using AutoKernel.Build.Graph;
using AutoKernel.Build.Reference;
using AutoKernel.TestSupport;

namespace AutoKernel.Build.Tests.Reference;

/// <summary>Helpers for building single nodes and checking kernel results.</summary>
internal static class RefTest
{
    public static Node Node(string op, int inputs = 1, int outputs = 1, string domain = "", params NodeAttribute[] attributes)
    {
        var node = new Node("n", op, Enumerable.Range(0, inputs).Select(i => "in" + i), Enumerable.Range(0, outputs).Select(i => "out" + i), domain);
        foreach (var a in attributes)
            node.Set(a);
        return node;
    }

    /// <summary>Runs <paramref name="op"/> on the inputs (null = absent optional input) and returns output 0.</summary>
    public static Tensor Run(string op, int opset, Tensor?[] inputs, params NodeAttribute[] attributes)
    {
        var node = Node(op, inputs.Length, 1, "", attributes);
        for (int i = 0; i < inputs.Length; i++)
        {
            if (inputs[i] is null)
                node.Inputs[i] = "";
        }
        return ReferenceKernels.Run(node, opset, inputs)[0];
    }

    public static Tensor Run(string op, Tensor?[] inputs, params NodeAttribute[] attributes) => Run(op, 17, inputs, attributes);

    public static Tensor F(int[] shape, params float[] data) => Tensor.FromFloats(shape, data);

    public static Tensor L(int[] shape, params long[] data) => Tensor.FromInt64s(shape, data);

    public static Tensor Vec(params long[] v) => Tensor.Vector(v);

    public static NodeAttribute Int(string name, long v) => NodeAttribute.Int(name, v);

    public static NodeAttribute Ints(string name, params long[] v) => NodeAttribute.IntList(name, v);

    public static NodeAttribute Float(string name, float v) => NodeAttribute.Float(name, v);

    public static NodeAttribute Str(string name, string v) => NodeAttribute.String(name, v);

    public static void Shape(int[] expected, Tensor t) => Assert.Equal(expected, t.Shape);

    /// <summary>
    /// The shared closeness rule (<see cref="Closeness"/>) with atol = rtol = <paramref name="tolerance"/> / 2
    /// and NaN equal to NaN. Within t/2 * (1 + |e|) is never looser than within t * max(1, |e|), the
    /// bound these tests were written against.
    /// </summary>
    public static void Close(float[] expected, Tensor actual, float tolerance = 1e-5f) =>
        Closeness.AssertClose(expected, actual.Floats, atol: tolerance / 2.0, rtol: tolerance / 2.0, nanEqualsNaN: true);

    public static void Close(Tensor expected, Tensor actual, float tolerance = 1e-5f)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        Close(expected.Floats, actual, tolerance);
    }
}
