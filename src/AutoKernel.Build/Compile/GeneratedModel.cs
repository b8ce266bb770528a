using System.Collections.Immutable;
using System.Reflection;
using System.Runtime.Loader;
using AutoKernel.Build.Measure;
using AutoKernel.Generator;
using AutoKernel.Generator.Emit;
using AutoKernel.Generator.Plans;
using AutoKernel.Runtime.Models;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;

namespace AutoKernel.Build.Compile;

/// <summary>
/// A compiled model built the way an app builds it, inside this process: the plan goes to the real
/// <see cref="ModelGenerator"/> as an AdditionalFiles item, the generated sources are compiled with
/// warnings as errors, the weights are embedded as the model class's resource, and the assembly is
/// loaded in a collectible context. For `autokernel run --engine generated`, `bench-model` and tests.
/// </summary>
public sealed class GeneratedModel : IDisposable
{
    public const string Namespace = "AutoKernel.Models";
    private const string AdapterName = "AutoKernel.Host.ModelAdapter";

    private readonly AssemblyLoadContext _context;
    private readonly Action<IDisposable, float[][], float[][]> _run;
    private readonly Func<ModelOptions, IDisposable> _create;

    private GeneratedModel(AssemblyLoadContext context, Assembly assembly, ModelPlan plan, IReadOnlyList<(string HintName, string Source)> sources, double seconds)
    {
        _context = context;
        Plan = plan;
        Sources = sources;
        CompileSeconds = seconds;
        var adapter = assembly.GetType(AdapterName, throwOnError: true)!;
        _run = adapter.GetMethod("Run")!.CreateDelegate<Action<IDisposable, float[][], float[][]>>();
        _create = adapter.GetMethod("Create")!.CreateDelegate<Func<ModelOptions, IDisposable>>();
    }

    public ModelPlan Plan { get; }

    /// <summary>What the generator emitted: hint name and text, in its order.</summary>
    public IReadOnlyList<(string HintName, string Source)> Sources { get; }

    /// <summary>Wall time of generating and compiling the sources.</summary>
    public double CompileSeconds { get; }

    /// <summary>A new instance of the model class (Threads = 0: the tuned thread count).</summary>
    public IDisposable CreateInstance(int threads = 0) => _create(new ModelOptions { Threads = threads });

    /// <summary>A new instance of the model class constructed with these options.</summary>
    public IDisposable CreateInstance(ModelOptions options) => _create(options);

    /// <summary>Runs an instance: inputs and outputs in the plan's order, standard layout.</summary>
    public void Run(IDisposable instance, float[][] inputs, float[][] outputs) => _run(instance, inputs, outputs);

    /// <summary>Runs an instance on named tensors (float32, the plan's shapes) and returns the named outputs.</summary>
    public Dictionary<string, Graph.Tensor> Run(IDisposable instance, IReadOnlyDictionary<string, Graph.Tensor> inputs)
    {
        var i = Plan.Inputs.Select(v => inputs.TryGetValue(v.Name, out var t) ? t.Floats : throw new ModelException($"no value given for input '{v.Name}'")).ToArray();
        var o = Plan.Outputs.Select(v => new float[v.Shape.Aggregate(1L, (p, d) => p * d)]).ToArray();
        Run(instance, i, o);
        return Plan.Outputs.Select((v, k) => (v.Name, Graph.Tensor.FromFloats(v.Shape.ToArray(), o[k]))).ToDictionary(x => x.Name, x => x.Item2, StringComparer.Ordinal);
    }

    /// <summary>Generates, compiles and loads the model class for <paramref name="compiled"/>.</summary>
    public static GeneratedModel Build(CompiledModel compiled, string className = "Model")
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string planText = PlanFormat.Write(compiled.Plan);
        var text = new InMemoryText("/autokernel/" + className + PlanFormat.FileSuffix, planText);
        var options = new Options(new Dictionary<string, string>
        {
            ["build_metadata.AdditionalFiles.AutoKernelClassName"] = className,
            ["build_metadata.AdditionalFiles.AutoKernelNamespace"] = Namespace,
        });
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var compilation = CSharpCompilation.Create(
            "AutoKernel.Generated." + className + "." + Guid.NewGuid().ToString("N"),
            [CSharpSyntaxTree.ParseText(Adapter(compiled.Plan, className), parse)],
            BatchBuilder.References,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, optimizationLevel: OptimizationLevel.Release, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));
        GeneratorDriver driver = CSharpGeneratorDriver.Create([new ModelGenerator().AsSourceGenerator()], [text], parse, options);
        driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
        var result = driver.GetRunResult().Results.Single();
        if (result.Exception is { } exception)
            throw new InvalidOperationException("the AutoKernel generator failed: " + exception.Message, exception);
        if (generatorDiagnostics.FirstOrDefault(d => d.Severity == DiagnosticSeverity.Error) is { } error)
            throw new ModelException("the generated model does not build: " + error.GetMessage());
        var sources = result.GeneratedSources.Select(s => (s.HintName, s.SourceText.ToString())).ToList();

        string resource = PlanReader.WeightsResourceName(Namespace, className);
        byte[] weights = WeightsBuilder.File(compiled.Payload);
        using var pe = new MemoryStream();
        var emit = output.Emit(pe, manifestResources: [new ResourceDescription(resource, () => new MemoryStream(weights), isPublic: true)]);
        var problems = emit.Diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).Take(5).ToList();
        if (problems.Count > 0)
            throw new InvalidOperationException("the generated sources do not compile cleanly: " + string.Join("; ", problems));
        pe.Position = 0;
        var context = new AssemblyLoadContext("autokernel-generated-" + className, isCollectible: true);
        var assembly = context.LoadFromStream(pe);
        return new GeneratedModel(context, assembly, compiled.Plan, sources, clock.Elapsed.TotalSeconds);
    }

    /// <summary>Calls the typed Run with arrays, so the host needs no reflection per run.</summary>
    private static string Adapter(ModelPlan plan, string className)
    {
        string type = "global::" + Namespace + "." + className;
        string args = string.Join(", ", plan.Inputs.Select((_, i) => $"i[{i}]").Concat(plan.Outputs.Select((_, i) => $"o[{i}]")));
        return $$"""
            namespace AutoKernel.Host
            {
                public static class ModelAdapter
                {
                    public static global::System.IDisposable Create(global::AutoKernel.Runtime.Models.ModelOptions options) => new {{type}}(options);

                    public static void Run(global::System.IDisposable model, float[][] i, float[][] o) => (({{type}})model).Run({{args}});
                }
            }
            """;
    }

    public void Dispose() => _context.Unload();

    private sealed class InMemoryText(string path, string text) : AdditionalText
    {
        public override string Path { get; } = path;

        public override SourceText GetText(CancellationToken cancellationToken = default) => SourceText.From(text);
    }

    private sealed class Options(Dictionary<string, string> values) : AnalyzerConfigOptionsProvider
    {
        private readonly ConfigOptions _options = new(values);

        public override AnalyzerConfigOptions GlobalOptions { get; } = new ConfigOptions([]);

        public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => GlobalOptions;

        public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) => _options;
    }

    private sealed class ConfigOptions(Dictionary<string, string> values) : AnalyzerConfigOptions
    {
        public override bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? value) => values.TryGetValue(key, out value);
    }
}
