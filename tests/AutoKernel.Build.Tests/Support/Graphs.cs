using AutoKernel.Build.Graph;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Onnx.Proto;
using AutoKernel.Build.Reference;
using AutoKernel.TestSupport;

namespace AutoKernel.Build.Tests.Support;

public static class Graphs
{
    /// <summary>Imports an in-memory model and runs the whole pipeline on it.</summary>
    public static LoadedModel Prepare(ModelProto model, IReadOnlyDictionary<string, int[]>? shapes = null) =>
        ModelPipeline.Prepare(OnnxImporter.Import(model, "test.onnx", null), shapes);

    /// <summary>A float tensor of <paramref name="shape"/> filled by the shared seeded helper, <see cref="TestData.RandomFloats(int, int)"/>: uniform in [-1, 1).</summary>
    public static Tensor RandomFloats(int seed, params int[] shape) =>
        Tensor.FromFloats(shape, TestData.RandomFloats(seed, checked((int)ShapeMath.ElementCount(shape))));

    /// <summary>Runs both graphs of a loaded model on the same seeded input and returns the outputs side by side.</summary>
    public static IEnumerable<(string Name, Tensor Before, Tensor After)> RunBoth(LoadedModel loaded, int seed = 1)
    {
        var inputs = Compare.InputGenerator.Create(loaded.Resolved, seed);
        var before = new Interpreter(loaded.Resolved).Run(inputs);
        var after = new Interpreter(loaded.Optimized).Run(inputs);
        foreach (var o in loaded.Optimized.Outputs)
            yield return (o.Name, before[o.Name], after[o.Name]);
    }
}
