using AutoKernel.Build.Compare;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Reference;
using AutoKernel.Build.Tests.Support;
using AutoKernel.TestSupport;
using Tensor = AutoKernel.Build.Graph.Tensor;

namespace AutoKernel.Build.Tests.Numerics;

/// <summary>
/// One input of a numerics case: element type, shape and values (as doubles); a graph input, or an
/// initializer when <paramref name="Constant"/> (for inputs that must be constant, such as Pad's pads).
/// </summary>
public sealed record NumInput(DataType Type, int[] Shape, double[] Values, bool Constant = false)
{
    public NumInput Const() => this with { Constant = true };
}

/// <summary>
/// A single-node model for the numerics tables: the operator, its opset, its inputs (all graph
/// inputs, so nothing is folded), attributes and the output's element type.
/// <paramref name="Expected"/>, when given, is what the reference must compute (the ONNX spec's
/// answer) where ONNX Runtime has no kernel for the case, or, with <paramref name="OrtDiffers"/>,
/// where ONNX Runtime's answer is inconsistent (MaxPool and ReduceMax drop a NaN unless it comes
/// first in the window, while its Max and Relu propagate NaN). Otherwise ONNX Runtime is the oracle.
/// </summary>
public sealed record NumCase(string Name, string Op, int Opset, NumInput[] Inputs, DataType Output,
    Action<AttributeBuilder>? Attributes = null, double[]? Expected = null, double Tolerance = 1e-5, bool OrtDiffers = false);

/// <summary>Runs a <see cref="NumCase"/> through the reference pipeline and ONNX Runtime and compares, NaN-aware.</summary>
internal static class OrtNumerics
{
    public const double NaN = double.NaN;
    public const double Inf = double.PositiveInfinity;

    public static NumInput In(DataType type, int[] shape, params double[] values) => new(type, shape, values);

    public static NumInput F(params double[] values) => new(DataType.Float, [values.Length], values);

    public static NumInput F(int[] shape, params double[] values) => new(DataType.Float, shape, values);

    public static Tensor ToTensor(NumInput input) => TensorOps.FromDoubles(input.Type, input.Shape, input.Values);

    public static byte[] Model(NumCase c)
    {
        var b = new ModelBuilder("numerics", c.Opset);
        var names = new List<string>();
        for (int i = 0; i < c.Inputs.Length; i++)
            names.Add(c.Inputs[i].Constant ? b.Initializer("x" + i, ToTensor(c.Inputs[i])) : b.Input("x" + i, c.Inputs[i].Type, c.Inputs[i].Shape));
        b.Node(c.Op, names, c.Attributes, name: "n", output: "y");
        b.Output("y", c.Output);
        return b.ToBytes();
    }

    public static Dictionary<string, Tensor> Feeds(NumCase c)
    {
        var feeds = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        for (int i = 0; i < c.Inputs.Length; i++)
        {
            if (!c.Inputs[i].Constant)
                feeds["x" + i] = ToTensor(c.Inputs[i]);
        }
        return feeds;
    }

    /// <summary>The reference result: import, resolve, optimize and interpret, as `autokernel run` does.</summary>
    public static Tensor RunReference(byte[] model, IReadOnlyDictionary<string, Tensor> feeds)
    {
        var graph = OnnxImporter.Import(OnnxImporter.Parse(model, "numerics.onnx"), "numerics.onnx", null);
        var loaded = ModelPipeline.Prepare(graph);
        return new Interpreter(loaded.Optimized).Run(feeds)["y"];
    }

    public static void Check(NumCase c)
    {
        byte[] model = Model(c);
        var feeds = Feeds(c);
        var actual = RunReference(model, feeds);
        Tensor expected;
        if (c.Expected is null)
        {
            expected = OrtRunner.Run(model, feeds)["y"];
        }
        else
        {
            if (c.OrtDiffers)
                _ = OrtRunner.Run(model, feeds); // runs, with an answer known to differ from the spec's
            else
                Assert.Contains("ONNX Runtime", Assert.Throws<ModelException>(() => OrtRunner.Run(model, feeds)).Message, StringComparison.Ordinal);
            Assert.Equal(c.Expected.Length, actual.Length);
            expected = TensorOps.FromDoubles(c.Output, actual.Shape, c.Expected);
        }
        AssertSame(c.Name, expected, actual, c.Tolerance);
    }

    /// <summary>
    /// Same type, shape and values by the shared closeness rule (<see cref="Closeness"/>): NaN where the
    /// oracle has NaN, the same infinities, integers and bools exactly, finite floats with
    /// atol = rtol = <paramref name="tolerance"/> / 2 (never looser than within tolerance * max(1, |e|),
    /// the bound these tables were written against).
    /// </summary>
    public static void AssertSame(string name, Tensor expected, Tensor actual, double tolerance)
    {
        Assert.True(expected.Type == actual.Type, $"{name}: type {actual.Type.Name()}, ONNX Runtime {expected.Type.Name()}");
        Assert.True(ShapeMath.SameShape(expected.Shape, actual.Shape),
            $"{name}: shape {ShapeMath.Format(actual.Shape)}, ONNX Runtime {ShapeMath.Format(expected.Shape)}");
        double half = expected.Type.IsFloatingPoint() ? tolerance / 2 : 0;
        Closeness.AssertClose(TensorValues.Doubles(expected), TensorValues.Doubles(actual), atol: half, rtol: half, nanEqualsNaN: true, what: name);
    }
}
