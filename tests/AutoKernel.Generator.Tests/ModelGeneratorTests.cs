using AutoKernel.Generator;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace AutoKernel.Generator.Tests;

public sealed class ModelGeneratorTests
{
    [Fact]
    public void Generator_runs_in_the_compiler_without_diagnostics()
    {
        var compilation = CSharpCompilation.Create(
            "App",
            [CSharpSyntaxTree.ParseText("namespace App; public static class Program { public static void Main() { } }")],
            [MetadataReference.CreateFromFile(typeof(object).Assembly.Location)],
            new CSharpCompilationOptions(OutputKind.ConsoleApplication));
        GeneratorDriver driver = CSharpGeneratorDriver.Create(new ModelGenerator());
        driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics, TestContext.Current.CancellationToken);

        Assert.Empty(diagnostics);
        var result = Assert.Single(driver.GetRunResult().Results);
        Assert.Null(result.Exception);
        // No models are tuned yet, so nothing is generated.
        Assert.Empty(result.GeneratedSources);
        Assert.Single(output.SyntaxTrees);
    }
}
