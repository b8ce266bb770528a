using AutoKernel.Build.Compare;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Onnx.Proto;
using AutoKernel.Build.Reference;
using AutoKernel.Build.Tests.Support;

namespace AutoKernel.Build.Tests.Conformance;

/// <summary>
/// ONNX's backend test cases (PyTorch conversions) from ../shared/onnx-tests: each case's model
/// runs through import, passes and the reference executor and must match the stored outputs.
/// A case whose operators AutoKernel does not implement is reported as skipped with the reason;
/// every other failure fails the test.
/// </summary>
public sealed class OnnxBackendTests(ITestOutputHelper output)
{
    // ONNX's runner uses rtol 1e-3, atol 1e-7. Our float32 kernels sum in a different order than
    // PyTorch did; 1e-5 absolute covers the cancellation noise of near-zero outputs.
    private const double Rtol = 1e-3;
    private const double Atol = 1e-5;

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        if (!Directory.Exists(TestPaths.OnnxTests))
        {
            data.Add("");
            return data;
        }
        foreach (string suite in Directory.GetDirectories(TestPaths.OnnxTests).Order(StringComparer.Ordinal))
        {
            foreach (string dir in Directory.GetDirectories(suite).Order(StringComparer.Ordinal))
                data.Add(Path.GetRelativePath(TestPaths.OnnxTests, dir));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Case_matches_stored_outputs(string name)
    {
        var (loaded, inputs, data) = Load(name);
        var actual = new Interpreter(loaded.Optimized).Run(inputs);
        CheckOutputs(name, loaded, actual, data, "");
    }

    /// <summary>
    /// The same cases as generated models: compiled with an empty log (fallback schedules), built
    /// by the real source generator and run. A case that cannot run as a generated model is skipped
    /// only for a documented limit (tensors other than float32 at run time), saying which.
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void Case_runs_as_a_generated_model(string name)
    {
        var (loaded, inputs, data) = Load(name);
        var nonFloat = loaded.Optimized.Inputs.Concat(loaded.Optimized.Outputs)
            .Where(v => !loaded.Optimized.Initializers.ContainsKey(v.Name) && (loaded.Optimized.TypeOf(v.Name)?.ElementType ?? v.Type.ElementType) != DataType.Float)
            .Select(v => v.Name).ToList();
        if (nonFloat.Count > 0)
            Assert.Skip($"{string.Join(", ", nonFloat)} not float32: generated models take and produce float32 tensors only");

        var compiled = AutoKernel.Build.Compile.ModelCompiler.Compile(loaded, AutoKernel.Build.Records.RecordLog.Empty, Targets.CpuTargets.Host(2));
        using var model = AutoKernel.Build.Compile.GeneratedModel.Build(compiled);
        using var instance = model.CreateInstance();
        CheckOutputs(name, loaded, model.Run(instance, inputs), data, " (generated)");
    }

    /// <summary>The case's model through import and passes, with its stored inputs; skips, saying why, when it cannot run here.</summary>
    private static (LoadedModel Loaded, Dictionary<string, Tensor> Inputs, string Data) Load(string name)
    {
        if (name.Length == 0)
            Assert.Skip($"ONNX backend test folder {TestPaths.OnnxTests} is absent: conformance cases skipped.");
        string dir = Path.Combine(TestPaths.OnnxTests, name);
        var graph = OnnxImporter.Load(Path.Combine(dir, "model.onnx"));
        var unsupported = graph.Nodes.Where(n => !ModelPipeline.IsSupported(n.Domain, n.OpType)).Select(n => n.OpType).Distinct().ToList();
        if (unsupported.Count > 0)
            Assert.Skip($"operator {string.Join(", ", unsupported)} is not supported");
        string data = Path.Combine(dir, "test_data_set_0");
        var inputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        for (int i = 0; i < graph.Inputs.Count; i++)
            inputs[graph.Inputs[i].Name] = ReadTensor(Path.Combine(data, $"input_{i}.pb"));
        return (ModelPipeline.Prepare(graph, inputs.ToDictionary(kv => kv.Key, kv => kv.Value.Shape)), inputs, data);
    }

    private void CheckOutputs(string name, LoadedModel loaded, IReadOnlyDictionary<string, Tensor> actual, string data, string engine)
    {
        for (int i = 0; i < loaded.Optimized.Outputs.Count; i++)
        {
            string outputName = loaded.Optimized.Outputs[i].Name;
            var expected = ReadTensor(Path.Combine(data, $"output_{i}.pb"));
            var result = TensorComparison.Compare(actual[outputName], expected, Rtol, Atol);
            output.WriteLine($"{name} {outputName}{engine}: {result}");
            Assert.True(result.Passed, $"{name} output '{outputName}'{engine}: {result}");
        }
    }

    private static Tensor ReadTensor(string path) => TensorProtos.ToTensor(TensorProto.Parser.ParseFrom(File.ReadAllBytes(path)));
}
