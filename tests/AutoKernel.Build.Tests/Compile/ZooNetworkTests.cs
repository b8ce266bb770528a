using AutoKernel.Build.Compile;
using AutoKernel.Build.Records;
using AutoKernel.Build.Tests.Support;
using AutoKernel.Build.Zoo;
using AutoKernel.Generator.Kernels;

namespace AutoKernel.Build.Tests.Compile;

/// <summary>
/// Every zoo network compiles, with an empty log (fallback schedules) and with a log of other
/// schedules, and the generated model (the real generator's output, compiled) matches the
/// reference executor (rtol 1e-3, atol 1e-4). Small images keep it fast.
/// </summary>
public sealed class ZooNetworkTests
{
    private static readonly CpuTarget Target = new(Targets.CpuTargets.Host().VectorBits, 2, Targets.CpuTargets.Host().Description);

    public static TheoryData<string, int, bool> Networks()
    {
        var data = new TheoryData<string, int, bool>();
        foreach (string name in ModelZoo.Names)
        {
            int size = name switch { "densenet121" or "vgg16" or "resnet50" or "resnet34" => 32, _ => 64 };
            data.Add(name, size, false);
            if (name is "resnet18" or "mobilenet_v3_small" or "shufflenet_v2_x1_0" or "squeezenet1_1" or "dbnet_tiny")
                data.Add(name, size, true);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void Generated_network_matches_the_reference(string name, int imageSize, bool tunedLog)
    {
        var loaded = Graphs.Prepare(ModelZoo.Create(name, imageSize: imageSize));
        using var temp = new TempDirectory();
        var log = tunedLog ? SyntheticLogs.For(loaded, Target, temp.File("tune.log"), seed: name.Length) : RecordLog.Empty;
        var compiled = ModelCompiler.Compile(loaded, log, Target);
        Assert.True(compiled.Plan.ArenaFloats <= compiled.Plan.IntermediateFloats);
        if (name is "mobilenet_v3_small" or "densenet121")
            Assert.True(compiled.Report.InPlace > 0, "no elementwise step ran in place, so the comparison below does not cover in-place steps");
        CompiledNetworkTests.AssertMatchesReference(loaded, compiled);
    }
}
