using AutoKernel.Generator.Tests.Support;

namespace AutoKernel.Generator.Tests.Generator;

/// <summary>
/// The generated source of a small model, held to checked-in files under Baselines/ (see
/// <see cref="Baselines"/>: refresh them with AUTOKERNEL_UPDATE_BASELINES=1 and review the diff).
/// </summary>
public sealed class BaselineTests
{
    [Fact]
    public void Generated_source_matches_the_baselines()
    {
        // The same plan twice: embedded weights (the default) and Weights=File; the kernels are shared.
        var driver = GeneratorHarness.Driver(
            [new GeneratorHarness.Text("/p/tiny.akplan.json", TestPlans.Text()), new GeneratorHarness.Text("/p/tiny-file.akplan.json", TestPlans.Text())],
            new() { ["/p/tiny-file.akplan.json"] = new() { ["AutoKernelWeights"] = "File" } });
        driver = driver.RunGenerators(GeneratorHarness.Compilation("class C { }"), TestContext.Current.CancellationToken);
        var sources = driver.GetRunResult().Results.Single().GeneratedSources;
        var produced = new List<string>();
        foreach (var source in sources)
        {
            string file = source.HintName + ".txt";
            Baselines.Check(Path.Combine(Baselines.Folder(), file), source.SourceText.ToString());
            produced.Add(file);
        }
        Baselines.CheckNoneStale(Baselines.Folder(), produced);
    }
}
