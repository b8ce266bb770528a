using AutoKernel.Build.Onnx;
using AutoKernel.Generator.Plans;

namespace AutoKernel.Build.Compile;

/// <summary>The two files `autokernel compile` writes, each atomically: NAME.akplan.json and NAME.weights.</summary>
public static class CompileOutput
{
    public const string WeightsSuffix = ".weights";

    public static (string Plan, string Weights) Paths(string directory, string name) =>
        (Path.Combine(directory, name + PlanFormat.FileSuffix), Path.Combine(directory, name + WeightsSuffix));

    /// <summary>Writes the weights first, then the plan, so a plan on disk never names weights that are not there yet.</summary>
    public static (string Plan, string Weights) Write(CompiledModel compiled, string directory, string name)
    {
        Directory.CreateDirectory(directory);
        var (planPath, weightsPath) = Paths(directory, name);
        // Header, then the payload as it is: no second copy of the weights in memory.
        byte[] header = WeightsBuilder.Header(compiled.Payload, compiled.Plan.Weights.Sha256);
        ModelFiles.WriteAtomically(weightsPath, s =>
        {
            s.Write(header);
            s.Write(compiled.Payload);
        });
        byte[] plan = System.Text.Encoding.UTF8.GetBytes(PlanFormat.Write(compiled.Plan));
        ModelFiles.WriteAtomically(planPath, s => s.Write(plan));
        return (planPath, weightsPath);
    }

    /// <summary>The default output name: the model file's name without ".onnx".</summary>
    public static string NameOf(string modelPath) => Path.GetFileNameWithoutExtension(modelPath);
}
