using AutoKernel.Generator.Emit;
using AutoKernel.Generator.Tests.Support;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace AutoKernel.Generator.Tests.Generator;

/// <summary>The generator's steps are cached: unrelated edits redo nothing, a plan edit redoes only what it changes.</summary>
public sealed class IncrementalTests
{
    private static readonly string[] Steps = [ModelGenerator.Steps.Files, ModelGenerator.Steps.Parse, ModelGenerator.Steps.Kernels];

    private static IEnumerable<(string Step, IncrementalStepRunReason Reason, object Value)> Outputs(GeneratorDriver driver) =>
        Steps.SelectMany(step => driver.GetRunResult().Results.Single().TrackedSteps[step]
            .SelectMany(run => run.Outputs.Select(o => (step, o.Reason, o.Value))));

    [Fact]
    public void Editing_an_unrelated_source_file_leaves_every_step_cached()
    {
        var text = new GeneratorHarness.Text("/p/tiny.akplan.json", TestPlans.Text());
        var compilation = GeneratorHarness.Compilation("class C { }");
        var driver = GeneratorHarness.Driver([text]).RunGenerators(compilation, TestContext.Current.CancellationToken);
        Assert.All(Outputs(driver), o => Assert.Equal(IncrementalStepRunReason.New, o.Reason));

        var edited = compilation.ReplaceSyntaxTree(compilation.SyntaxTrees.Single(), CSharpSyntaxTree.ParseText("class C { int x; }", GeneratorHarness.Parse));
        driver = driver.RunGenerators(edited, TestContext.Current.CancellationToken);
        var outputs = Outputs(driver).ToList();
        Assert.Equal(4, outputs.Count);
        Assert.All(outputs, o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{o.Step}: {o.Reason}"));
    }

    [Fact]
    public void Changing_the_Weights_metadata_redoes_the_model_class_but_no_kernel()
    {
        var text = new GeneratorHarness.Text("/p/tiny.akplan.json", TestPlans.Text());
        var compilation = GeneratorHarness.Compilation("class C { }");
        var driver = GeneratorHarness.Driver([text]).RunGenerators(compilation, TestContext.Current.CancellationToken);

        driver = driver.WithUpdatedAnalyzerConfigOptions(GeneratorHarness.ConfigOptions(new() { ["/p/tiny.akplan.json"] = new() { ["AutoKernelWeights"] = "File" } }))
            .RunGenerators(compilation, TestContext.Current.CancellationToken);
        var outputs = Outputs(driver).ToList();
        var parse = Assert.Single(outputs, o => o.Step == ModelGenerator.Steps.Parse);
        Assert.Equal(IncrementalStepRunReason.Modified, parse.Reason);
        Assert.Equal(WeightsMode.File, ((PlanResult)parse.Value).Model!.Weights);
        var kernels = outputs.Where(o => o.Step == ModelGenerator.Steps.Kernels).ToList();
        Assert.Equal(2, kernels.Count);
        Assert.All(kernels, k => Assert.True(k.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, k.Reason.ToString()));
        Assert.Contains("AcquireFile", Assert.Single(driver.GetRunResult().Results.Single().GeneratedSources, s => s.HintName == "App.Tiny.g.cs").SourceText.ToString(), StringComparison.Ordinal);

        // The same value again: the parse result is equal, so nothing downstream runs.
        driver = driver.WithUpdatedAnalyzerConfigOptions(GeneratorHarness.ConfigOptions(new() { ["/p/tiny.akplan.json"] = new() { ["AutoKernelWeights"] = "File" } }))
            .RunGenerators(compilation, TestContext.Current.CancellationToken);
        Assert.All(Outputs(driver).Where(o => o.Step != ModelGenerator.Steps.Files),
            o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{o.Step}: {o.Reason}"));
    }

    [Fact]
    public void Editing_the_plan_redoes_only_the_kernels_it_changes()
    {
        var text = new GeneratorHarness.Text("/p/tiny.akplan.json", TestPlans.Text(nth: 0));
        var compilation = GeneratorHarness.Compilation("class C { }");
        var driver = GeneratorHarness.Driver([text]).RunGenerators(compilation, TestContext.Current.CancellationToken);

        var changed = new GeneratorHarness.Text("/p/tiny.akplan.json", TestPlans.Text(nth: 1));
        driver = driver.ReplaceAdditionalText(text, changed).RunGenerators(compilation, TestContext.Current.CancellationToken);
        var outputs = Outputs(driver).ToList();
        Assert.Contains(outputs, o => o.Step == ModelGenerator.Steps.Parse && o.Reason == IncrementalStepRunReason.Modified);
        var kernels = outputs.Where(o => o.Step == ModelGenerator.Steps.Kernels).ToList();
        var dense = Assert.Single(kernels, o => ((KernelSpec)o.Value).Tuned is not null);
        var copy = Assert.Single(kernels, o => ((KernelSpec)o.Value).Fixed is not null);
        Assert.True(dense.Reason is IncrementalStepRunReason.Modified or IncrementalStepRunReason.New, dense.Reason.ToString());
        Assert.True(copy.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, copy.Reason.ToString());
    }
}
