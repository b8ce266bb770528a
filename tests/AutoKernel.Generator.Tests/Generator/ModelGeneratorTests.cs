using AutoKernel.Generator.Plans;
using AutoKernel.Generator.Tests.Support;
using Microsoft.CodeAnalysis;

namespace AutoKernel.Generator.Tests.Generator;

public sealed class ModelGeneratorTests
{
    private const string PlanPath = "/project/tiny.akplan.json";

    private static GeneratorDriverRunResult Run(string planText, out Compilation output, out IReadOnlyList<Diagnostic> diagnostics, string path = PlanPath)
    {
        var driver = GeneratorHarness.Driver([new GeneratorHarness.Text(path, planText)]);
        driver = driver.RunGeneratorsAndUpdateCompilation(GeneratorHarness.Compilation("namespace App { public static class Program { } }"), out output, out var d, TestContext.Current.CancellationToken);
        diagnostics = d;
        return driver.GetRunResult();
    }

    [Fact]
    public void Without_plans_nothing_is_generated()
    {
        var driver = GeneratorHarness.Driver([new GeneratorHarness.Text("/project/notes.txt", "hello")]);
        driver = driver.RunGenerators(GeneratorHarness.Compilation("class C { }"), TestContext.Current.CancellationToken);
        var result = Assert.Single(driver.GetRunResult().Results);
        Assert.Null(result.Exception);
        Assert.Empty(result.GeneratedSources);
    }

    [Fact]
    public void A_plan_gives_one_file_per_kernel_and_the_model_class_which_compile_with_warnings_as_errors()
    {
        var run = Run(TestPlans.Text(), out var output, out var diagnostics);
        Assert.Empty(diagnostics);
        var result = Assert.Single(run.Results);
        Assert.Null(result.Exception);
        var hints = result.GeneratedSources.Select(s => s.HintName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(3, hints.Count);
        Assert.Contains("App.Tiny.g.cs", hints);
        Assert.Equal(2, hints.Count(h => h.StartsWith(KernelNames.Namespace + ".", StringComparison.Ordinal)));

        using var pe = new MemoryStream();
        var emit = output.Emit(pe, cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(emit.Success, string.Join("\n", emit.Diagnostics));
        Assert.Empty(emit.Diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning));
        foreach (var source in result.GeneratedSources.Select(s => s.SourceText.ToString()))
        {
            Assert.DoesNotContain("System.Reflection", source, StringComparison.Ordinal);
            Assert.DoesNotContain("Activator", source, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Class_name_and_namespace_come_from_item_metadata()
    {
        var driver = GeneratorHarness.Driver(
            [new GeneratorHarness.Text(PlanPath, TestPlans.Text())],
            new() { [PlanPath] = new() { ["AutoKernelClassName"] = "Classifier", ["AutoKernelNamespace"] = "My.Models" } });
        driver = driver.RunGenerators(GeneratorHarness.Compilation("class C { }"), TestContext.Current.CancellationToken);
        var model = Assert.Single(driver.GetRunResult().Results.Single().GeneratedSources, s => !s.HintName.StartsWith(KernelNames.Namespace, StringComparison.Ordinal));
        Assert.Equal("My.Models.Classifier.g.cs", model.HintName);
        Assert.Contains("public sealed unsafe partial class Classifier", model.SourceText.ToString(), StringComparison.Ordinal);
        Assert.Contains("My.Models.Classifier.weights", model.SourceText.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Two_plans_sharing_a_kernel_emit_it_once()
    {
        var driver = GeneratorHarness.Driver([new GeneratorHarness.Text("/p/a.akplan.json", TestPlans.Text()), new GeneratorHarness.Text("/p/b.akplan.json", TestPlans.Text())]);
        driver = driver.RunGeneratorsAndUpdateCompilation(GeneratorHarness.Compilation("class C { }"), out var output, out var diagnostics, TestContext.Current.CancellationToken);
        Assert.Empty(diagnostics);
        var sources = driver.GetRunResult().Results.Single().GeneratedSources;
        Assert.Equal(4, sources.Length);
        Assert.Empty(output.GetDiagnostics(TestContext.Current.CancellationToken).Where(d => d.Severity >= DiagnosticSeverity.Warning));
    }

    public static TheoryData<string, string, string> BrokenPlans()
    {
        string good = TestPlans.Text();
        return new()
        {
            { "not JSON", "this is not a plan", PlanReaderIds.Malformed },
            { "truncated", good[..(good.Length / 2)], PlanReaderIds.Malformed },
            { "not a plan", "{\"format\": \"something-else\", \"version\": 1}", PlanReaderIds.Malformed },
            { "missing steps", good.Replace("\"steps\"", "\"stops\"", StringComparison.Ordinal), PlanReaderIds.Malformed },
            { "bad buffer", good.Replace("\"output\": 2,", "\"output\": 99,", StringComparison.Ordinal), PlanReaderIds.Malformed },
            { "newer version", good.Replace("\"version\": 1,", "\"version\": 99,", StringComparison.Ordinal), PlanReaderIds.Newer },
            { "unknown template", good.Replace("\"dense_packed\"", "\"dense_from_the_future\"", StringComparison.Ordinal), PlanReaderIds.UnknownKernel },
            { "config out of range", good.Replace($"\"config\": {TestPlans.Config()},", "\"config\": 999999999,", StringComparison.Ordinal), PlanReaderIds.UnknownKernel },
            { "unknown fixed op", good.Replace("\"op\": \"Copy\"", "\"op\": \"Teleport\"", StringComparison.Ordinal), PlanReaderIds.UnknownKernel },
            { "unknown activation", good.Replace("\"Relu\"", "\"Zap\"", StringComparison.Ordinal), PlanReaderIds.UnknownKernel },
        };
    }

    [Theory]
    [MemberData(nameof(BrokenPlans))]
    public void A_broken_plan_is_a_diagnostic_naming_the_file_not_an_exception(string what, string text, string id)
    {
        var run = Run(text, out _, out var diagnostics);
        var result = Assert.Single(run.Results);
        Assert.Null(result.Exception);
        Assert.Empty(result.GeneratedSources);
        var d = Assert.Single(diagnostics);
        Assert.True(id == d.Id, $"{what}: {d.Id} {d.GetMessage()}");
        Assert.Equal(DiagnosticSeverity.Error, d.Severity);
        Assert.Contains("tiny.akplan.json", d.GetMessage(), StringComparison.Ordinal);
        Assert.Equal(PlanPath, d.Location.GetLineSpan().Path);
    }

    [Fact]
    public void A_plan_name_that_is_no_identifier_is_a_diagnostic()
    {
        var driver = GeneratorHarness.Driver([new GeneratorHarness.Text(PlanPath, TestPlans.Text())], new() { [PlanPath] = new() { ["AutoKernelClassName"] = "class" } });
        driver = driver.RunGeneratorsAndUpdateCompilation(GeneratorHarness.Compilation("class C { }"), out _, out var diagnostics, TestContext.Current.CancellationToken);
        Assert.Equal(PlanReaderIds.BadName, Assert.Single(diagnostics).Id);
    }

    private static (GeneratorRunResult Result, Compilation Output, IReadOnlyList<Diagnostic> Diagnostics) RunWithWeights(string weights)
    {
        var driver = GeneratorHarness.Driver([new GeneratorHarness.Text(PlanPath, TestPlans.Text())], new() { [PlanPath] = new() { ["AutoKernelWeights"] = weights } });
        driver = driver.RunGeneratorsAndUpdateCompilation(GeneratorHarness.Compilation("class C { }"), out var output, out var diagnostics, TestContext.Current.CancellationToken);
        return (driver.GetRunResult().Results.Single(), output, diagnostics);
    }

    private static string ModelSource(GeneratorRunResult result) =>
        Assert.Single(result.GeneratedSources, s => s.HintName == "App.Tiny.g.cs").SourceText.ToString();

    [Theory]
    [InlineData("File")]
    [InlineData("file")]
    [InlineData(" FILE ")]
    public void Weights_File_loads_from_the_file_next_to_the_app_and_compiles_cleanly(string weights)
    {
        var (result, output, diagnostics) = RunWithWeights(weights);
        Assert.Empty(diagnostics);
        string source = ModelSource(result);
        Assert.Contains("ModelWeights.AcquireFile(global::System.IO.Path.Combine(global::System.AppContext.BaseDirectory, WeightsResourceName), WeightsSha256, WeightsBytes, options, \"Tiny\")", source, StringComparison.Ordinal);
        Assert.DoesNotContain("ModelWeights.Acquire(", source, StringComparison.Ordinal);
        Assert.DoesNotContain(".Assembly", source, StringComparison.Ordinal);
        Assert.Contains("public const string WeightsResourceName = \"App.Tiny.weights\";", source, StringComparison.Ordinal);
        Assert.Empty(output.GetDiagnostics(TestContext.Current.CancellationToken).Where(d => d.Severity >= DiagnosticSeverity.Warning));
    }

    [Theory]
    [InlineData("")]
    [InlineData("Embedded")]
    [InlineData("embedded")]
    public void Weights_Embedded_or_empty_is_the_embedded_resource(string weights)
    {
        var (result, _, diagnostics) = RunWithWeights(weights);
        Assert.Empty(diagnostics);
        string source = ModelSource(result);
        Assert.Contains("ModelWeights.Acquire(typeof(Tiny).Assembly, WeightsResourceName,", source, StringComparison.Ordinal);
        Assert.DoesNotContain("AcquireFile", source, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Files")]
    [InlineData("Resource")]
    [InlineData("File;Embedded")]
    public void Any_other_Weights_value_is_a_diagnostic_naming_the_plan_and_the_value_and_no_class(string weights)
    {
        var (result, _, diagnostics) = RunWithWeights(weights);
        Assert.Null(result.Exception);
        Assert.Empty(result.GeneratedSources);
        var d = Assert.Single(diagnostics);
        Assert.Equal("AK0009", d.Id);
        Assert.Equal(DiagnosticSeverity.Error, d.Severity);
        Assert.Contains("tiny.akplan.json", d.GetMessage(), StringComparison.Ordinal);
        Assert.Contains($"'{weights}'", d.GetMessage(), StringComparison.Ordinal);
        Assert.Contains("Embedded", d.GetMessage(), StringComparison.Ordinal);
        Assert.Contains("File", d.GetMessage(), StringComparison.Ordinal);
        Assert.Equal(PlanPath, d.Location.GetLineSpan().Path);
    }

    private static class PlanReaderIds
    {
        public const string Malformed = "AK0001";
        public const string Newer = "AK0002";
        public const string UnknownKernel = "AK0003";
        public const string BadName = "AK0004";
    }
}
