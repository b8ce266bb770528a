using AutoKernel.Generator.Tests.Support;

namespace AutoKernel.Generator.Tests.Generator;

/// <summary>
/// The generated source of a small model, held to checked-in files under Baselines/. After an
/// intended change to the emitters, refresh them with AUTOKERNEL_UPDATE_BASELINES=1 and review the diff.
/// </summary>
public sealed class BaselineTests
{
    private static string Folder => Path.Combine(RepoRoot(), "tests", "AutoKernel.Generator.Tests", "Baselines");

    [Fact]
    public void Generated_source_matches_the_baselines()
    {
        // The same plan twice: embedded weights (the default) and Weights=File; the kernels are shared.
        var driver = GeneratorHarness.Driver(
            [new GeneratorHarness.Text("/p/tiny.akplan.json", TestPlans.Text()), new GeneratorHarness.Text("/p/tiny-file.akplan.json", TestPlans.Text())],
            new() { ["/p/tiny-file.akplan.json"] = new() { ["AutoKernelWeights"] = "File" } });
        driver = driver.RunGenerators(GeneratorHarness.Compilation("class C { }"), TestContext.Current.CancellationToken);
        var sources = driver.GetRunResult().Results.Single().GeneratedSources;
        bool update = Environment.GetEnvironmentVariable("AUTOKERNEL_UPDATE_BASELINES") == "1";
        var expectedFiles = Directory.Exists(Folder) ? Directory.GetFiles(Folder, "*.txt").Select(Path.GetFileName).ToHashSet() : [];
        foreach (var source in sources)
        {
            string file = Path.Combine(Folder, source.HintName + ".txt");
            string actual = source.SourceText.ToString();
            if (update)
            {
                Directory.CreateDirectory(Folder);
                File.WriteAllText(file, actual);
                continue;
            }
            Assert.True(File.Exists(file), $"no baseline {file}; run with AUTOKERNEL_UPDATE_BASELINES=1 to create it");
            Assert.Equal(File.ReadAllText(file), actual);
            expectedFiles.Remove(Path.GetFileName(file));
        }
        if (!update)
            Assert.True(expectedFiles.Count == 0, "baselines no longer generated: " + string.Join(", ", expectedFiles));
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AutoKernel.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException("cannot find the repository root (AutoKernel.sln) above " + AppContext.BaseDirectory);
    }
}
