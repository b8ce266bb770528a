using System.Collections.Immutable;
using AutoKernel.Runtime.Kernels;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;

namespace AutoKernel.Generator.Tests.Support;

/// <summary>Runs <see cref="ModelGenerator"/> in a CSharpGeneratorDriver on in-memory plan files and item metadata.</summary>
public static class GeneratorHarness
{
    public static readonly CSharpParseOptions Parse = new(LanguageVersion.Latest);

    public static IReadOnlyList<MetadataReference> References { get; } =
    [
        .. ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => !Path.GetFileName(p).StartsWith("AutoKernel.", StringComparison.Ordinal))
            .Select(p => MetadataReference.CreateFromFile(p)),
        MetadataReference.CreateFromFile(typeof(ITunedKernel).Assembly.Location),
    ];

    public static CSharpCompilation Compilation(params string[] sources) => CSharpCompilation.Create(
        "App",
        sources.Select(s => CSharpSyntaxTree.ParseText(s, Parse)),
        References,
        new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, optimizationLevel: OptimizationLevel.Release, allowUnsafe: true,
            nullableContextOptions: NullableContextOptions.Enable, generalDiagnosticOption: ReportDiagnostic.Error));

    public static GeneratorDriver Driver(IEnumerable<AdditionalText> texts, Dictionary<string, Dictionary<string, string>>? metadata = null, string? rootNamespace = "App") =>
        CSharpGeneratorDriver.Create(
            [new ModelGenerator().AsSourceGenerator()],
            texts,
            Parse,
            ConfigOptions(metadata, rootNamespace),
            new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    /// <summary>Item metadata per path (keys without the build_metadata.AdditionalFiles. prefix) and RootNamespace, as the compiler passes them.</summary>
    public static AnalyzerConfigOptionsProvider ConfigOptions(Dictionary<string, Dictionary<string, string>>? metadata = null, string? rootNamespace = "App") =>
        new Options(metadata ?? [], rootNamespace);

    public sealed class Text(string path, string text) : AdditionalText
    {
        public override string Path { get; } = path;

        public override SourceText GetText(CancellationToken cancellationToken = default) => SourceText.From(text);
    }

    private sealed class Options(Dictionary<string, Dictionary<string, string>> metadata, string? rootNamespace) : AnalyzerConfigOptionsProvider
    {
        public override AnalyzerConfigOptions GlobalOptions { get; } = new Values(rootNamespace is null ? [] : new() { ["build_property.RootNamespace"] = rootNamespace });

        public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => new Values([]);

        public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) =>
            new Values(metadata.TryGetValue(textFile.Path, out var m) ? m.ToDictionary(kv => "build_metadata.AdditionalFiles." + kv.Key, kv => kv.Value) : []);
    }

    private sealed class Values(Dictionary<string, string> values) : AnalyzerConfigOptions
    {
        public override bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? value) => values.TryGetValue(key, out value);
    }
}
