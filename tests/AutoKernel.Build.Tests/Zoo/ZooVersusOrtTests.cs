using AutoKernel.Build.Compare;
using AutoKernel.Build.Tests.Support;
using AutoKernel.Build.Zoo;
using Google.Protobuf;

namespace AutoKernel.Build.Tests.Zoo;

/// <summary>
/// Every zoo network runs through import, passes and the reference executor and matches ONNX
/// Runtime on the same input; the graph before passes gives the same outputs as after.
/// Small image sizes keep CI fast; the layer shapes and weights are the full networks'.
/// </summary>
public sealed class ZooVersusOrtTests
{
    public static TheoryData<string, int> Networks() => new()
    {
        { "resnet18", 64 },
        { "resnet34", 32 },
        { "resnet50", 64 },
        { "mobilenet_v2", 64 },
        { "squeezenet1_1", 64 },
        { "vgg16", 32 },
        { "mobilenet_v3_small", 64 },
        { "shufflenet_v2_x1_0", 64 },
        { "alexnet", 63 },
        { "densenet121", 32 },
        { "googlenet", 64 },
        { "dbnet_tiny", 64 },
        { "tiny_cnn", 32 },
    };

    [Theory]
    [MemberData(nameof(Networks))]
    public void Reference_executor_matches_onnx_runtime(string name, int imageSize)
    {
        using var dir = new TempDirectory();
        string path = dir.File(name + ".onnx");
        File.WriteAllBytes(path, ModelZoo.Create(name, batch: 1, imageSize: imageSize, seed: 7).ToByteArray());

        var loaded = ModelPipeline.Load(path);
        var inputs = InputGenerator.Create(loaded.Optimized, seed: 11);
        var expected = OrtRunner.Run(path, inputs);
        var after = new AutoKernel.Build.Reference.Interpreter(loaded.Optimized).Run(inputs);
        var before = new AutoKernel.Build.Reference.Interpreter(loaded.Resolved).Run(inputs);
        foreach (var o in loaded.Optimized.Outputs)
        {
            // The seeded weights keep activations O(1): a finite, varied output makes the comparison meaningful.
            float[] y = expected[o.Name].Floats;
            Assert.All(y, v => Assert.True(float.IsFinite(v) && Math.Abs(v) < 1e4f, $"{name}: output {v}"));
            Assert.True(y.Distinct().Count() > 1, $"{name}: all outputs equal");

            var vsOrt = TensorComparison.Compare(after[o.Name], expected[o.Name]);
            Assert.True(vsOrt.Passed, $"{name} vs ONNX Runtime: {vsOrt}");
            var passes = TensorComparison.Compare(after[o.Name], before[o.Name]);
            Assert.True(passes.Passed, $"{name} after passes vs before: {passes}");
        }
    }
}
