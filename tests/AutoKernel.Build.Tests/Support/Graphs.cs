using AutoKernel.Build.Graph;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Onnx.Proto;
using AutoKernel.Build.Reference;

namespace AutoKernel.Build.Tests.Support;

public static class Graphs
{
    /// <summary>Imports an in-memory model and runs the whole pipeline on it.</summary>
    public static LoadedModel Prepare(ModelProto model, IReadOnlyDictionary<string, int[]>? shapes = null) =>
        ModelPipeline.Prepare(OnnxImporter.Import(model, "test.onnx", null), shapes);

    public static Tensor RandomFloats(int seed, params int[] shape)
    {
        var random = new Random(seed);
        var data = new float[ShapeMath.ElementCount(shape)];
        for (int i = 0; i < data.Length; i++)
            data[i] = (float)(random.NextDouble() * 2 - 1);
        return Tensor.FromFloats(shape, data);
    }

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
