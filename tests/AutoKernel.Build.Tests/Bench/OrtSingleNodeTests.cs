using AutoKernel.Build.Bench;
using AutoKernel.Build.Compare;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Tasks;
using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Workloads;

namespace AutoKernel.Build.Tests.Bench;

/// <summary>The ONNX Runtime baseline of bench-ops must compute the same fused node AutoKernel runs.</summary>
public sealed class OrtSingleNodeTests
{
    public static TheoryData<string, bool, bool, string> Cases() => new()
    {
        { "conv", true, false, "Relu" },
        { "conv", true, true, "Relu" },
        { "conv", false, false, "" },
        { "conv", true, false, "Clip" },
        { "dense", true, false, "" },
        { "dense", true, true, "Sigmoid" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Baseline_model_fuses_to_the_same_workload_and_epilogue(string kind, bool bias, bool residual, string activation)
    {
        Workload workload = kind == "conv"
            ? new Conv2dWorkload(1, 8, 9, 9, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1)
            : new DenseWorkload(2, 24, 40);
        var epilogue = new Epilogue(bias, residual, activation, 0f, activation == "Clip" ? 6f : 0f);
        byte[] model = OrtSingleNode.BuildModel(workload, epilogue);

        var loaded = ModelPipeline.Prepare(OnnxImporter.Import(AutoKernel.Build.Onnx.Proto.ModelProto.Parser.ParseFrom(model), "bench.onnx", null));
        var node = Assert.Single(loaded.Optimized.Nodes);
        Assert.Equal(workload, TaskExtractor.WorkloadOf(loaded.Optimized, node));
        Assert.Equal(epilogue, TaskExtractor.EpilogueOf(node));

        var inputs = InputGenerator.Create(loaded.Optimized, seed: 4);
        var expected = OrtRunner.Run(model, inputs);
        var actual = new AutoKernel.Build.Reference.Interpreter(loaded.Optimized).Run(inputs);
        string output = loaded.Optimized.Outputs[0].Name;
        var result = TensorComparison.Compare(actual[output], expected[output]);
        Assert.True(result.Passed, result.ToString());
    }
}
