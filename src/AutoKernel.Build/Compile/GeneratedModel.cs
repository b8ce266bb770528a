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
    private const string ProfilerName = "AutoKernel.Host.ModelProfiler";

    private readonly AssemblyLoadContext _context;
    private readonly Action<IDisposable, float[][], float[][]> _run;
    private readonly Func<ModelOptions, IDisposable> _create;
    private readonly Func<ModelOptions, IDisposable>? _createProfiler;
    private readonly Action<IDisposable, float[][], float[][]>? _runProfiler;
    private readonly Func<IDisposable, long[]>? _profilerTicks;

    private GeneratedModel(AssemblyLoadContext context, Assembly assembly, ModelPlan plan, IReadOnlyList<(string HintName, string Source)> sources, double seconds, bool profiler)
    {
        _context = context;
        Plan = plan;
        Sources = sources;
        CompileSeconds = seconds;
        var adapter = assembly.GetType(AdapterName, throwOnError: true)!;
        _run = adapter.GetMethod("Run")!.CreateDelegate<Action<IDisposable, float[][], float[][]>>();
        _create = adapter.GetMethod("Create")!.CreateDelegate<Func<ModelOptions, IDisposable>>();
        if (profiler)
        {
            var type = assembly.GetType(ProfilerName, throwOnError: true)!;
            _createProfiler = type.GetMethod("Create")!.CreateDelegate<Func<ModelOptions, IDisposable>>();
            _runProfiler = type.GetMethod("RunArrays")!.CreateDelegate<Action<IDisposable, float[][], float[][]>>();
            _profilerTicks = type.GetMethod("Ticks")!.CreateDelegate<Func<IDisposable, long[]>>();
        }
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

    /// <summary>Whether the assembly also holds a step profiler (<see cref="CreateProfiler"/>).</summary>
    public bool HasProfiler => _createProfiler is not null;

    /// <summary>
    /// A step profiler: the same kernel classes the model class uses, bound to the same weights
    /// (shared with live instances), its own arena, running the plan's steps in order with a
    /// timestamp after each. Only for a model built with <c>profiler: true</c>.
    /// </summary>
    public Bench.StepProfiler CreateProfiler(ModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (_createProfiler is null)
            throw new InvalidOperationException("this model was built without a step profiler");
        return new Bench.StepProfiler(Plan, _createProfiler(options), _runProfiler!, _profilerTicks!);
    }

    /// <summary>Generates, compiles and loads the model class for <paramref name="compiled"/>.</summary>
    public static GeneratedModel Build(CompiledModel compiled, string className = "Model")
    {
        ArgumentNullException.ThrowIfNull(compiled);
        return Build(compiled.Plan, compiled.Payload, className);
    }

    /// <summary>
    /// Generates, compiles and loads the model class for a plan and its weights payload (as a plan
    /// file and the payload of its weights file, e.g. read back from what <see cref="CompileOutput"/>
    /// wrote). With <paramref name="profiler"/>, a step profiler is compiled into the same assembly
    /// (<see cref="CreateProfiler"/>); the model class is the generator's, unchanged.
    /// </summary>
    public static GeneratedModel Build(ModelPlan plan, byte[] payload, string className = "Model", bool profiler = false)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(payload);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string planText = PlanFormat.Write(plan);
        var text = new InMemoryText("/autokernel/" + className + PlanFormat.FileSuffix, planText);
        var options = new Options(new Dictionary<string, string>
        {
            ["build_metadata.AdditionalFiles.AutoKernelClassName"] = className,
            ["build_metadata.AdditionalFiles.AutoKernelNamespace"] = Namespace,
        });
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var trees = new List<SyntaxTree> { CSharpSyntaxTree.ParseText(Adapter(plan, className), parse) };
        if (profiler)
            trees.Add(CSharpSyntaxTree.ParseText(ProfilerSource(plan, planText, className), parse));
        var compilation = CSharpCompilation.Create(
            "AutoKernel.Generated." + className + "." + Guid.NewGuid().ToString("N"),
            trees,
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
        byte[] weights = WeightsBuilder.File(payload, plan.Weights.Sha256);
        using var pe = new MemoryStream();
        var emit = output.Emit(pe, manifestResources: [new ResourceDescription(resource, () => new MemoryStream(weights), isPublic: true)]);
        var problems = emit.Diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).Take(5).ToList();
        if (problems.Count > 0)
            throw new InvalidOperationException("the generated sources do not compile cleanly: " + string.Join("; ", problems));
        pe.Position = 0;
        var context = new AssemblyLoadContext("autokernel-generated-" + className, isCollectible: true);
        var assembly = context.LoadFromStream(pe);
        return new GeneratedModel(context, assembly, plan, sources, clock.Elapsed.TotalSeconds, profiler);
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

    /// <summary>
    /// The step profiler's source: a copy of the model class's construction and Execute (same kernel
    /// classes, same Bind offsets, same pointers and call order) with Stopwatch timestamps between
    /// steps, accumulating ticks per step. It lives beside the generated sources, not in them.
    /// </summary>
    private static string ProfilerSource(ModelPlan plan, string planText, string className)
    {
        var read = PlanReader.Read("/autokernel/" + className + PlanFormat.FileSuffix, planText, className, Namespace, null);
        if (read.Model is not { } spec)
            throw new ModelException("the plan does not generate: " + string.Join("; ", read.Diagnostics.Select(d => d.Message)));
        static string N(long v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);
        string type = "global::" + Namespace + "." + className;
        const string Rt = "global::AutoKernel.Runtime";
        string Ptr(int id) => ModelEmitter.Pointer(plan, id);
        var fields = new System.Text.StringBuilder();
        var bind = new System.Text.StringBuilder();
        var steps = new System.Text.StringBuilder();
        for (int i = 0; i < plan.Steps.Count; i++)
        {
            var s = plan.Steps[i];
            string k = "_k" + N(i);
            fields.Append($"        private readonly global::{KernelNames.Namespace}.{spec.StepKernels[i]} {k};\n");
            bind.Append($"            {k} = new global::{KernelNames.Namespace}.{spec.StepKernels[i]}();\n");
            if (s.Tuned is { } t)
            {
                bind.Append($"            {k}.Bind(wt + {N(plan.Buffers[t.Weights].Offset)}, wt + {N(plan.Buffers[t.Bias].Offset)});\n");
                string residual = s.Inputs.Count > 1 ? Ptr(s.Inputs[1]) : "null";
                steps.Append($"            {k}.Run({Ptr(s.Inputs[0])}, {Ptr(s.Output)}, {residual}, pool);\n");
            }
            else
            {
                for (int j = 0; j < s.Inputs.Count; j++)
                    steps.Append($"            args[{N(j)}] = {Ptr(s.Inputs[j])};\n");
                steps.Append($"            {k}.Run(args, {Ptr(s.Output)}, pool);\n");
            }
            steps.Append($"            now = global::System.Diagnostics.Stopwatch.GetTimestamp(); t[{N(i)}] += now - start; start = now;\n");
        }
        int maxArgs = Math.Max(1, plan.Steps.Select(s => s.Inputs.Count).DefaultIfEmpty(1).Max());
        var pins = plan.Inputs.Select((_, i) => $"in{N(i)} = i[{N(i)}]").Concat(plan.Outputs.Select((_, i) => $"out{N(i)} = o[{N(i)}]")).ToList();
        string call = "p.Execute(" + string.Join(", ", plan.Inputs.Select((_, i) => "in" + N(i)).Concat(plan.Outputs.Select((_, i) => "out" + N(i)))) + ");";
        string body = pins.Count > 0 ? $"fixed (float* {string.Join(", ", pins)}) {{ {call} }}" : call;
        string parameters = string.Join(", ", plan.Inputs.Select((_, i) => "float* in" + N(i)).Concat(plan.Outputs.Select((_, i) => "float* out" + N(i))));
        return $$"""
            namespace AutoKernel.Host
            {
                public sealed unsafe class ModelProfiler : global::System.IDisposable
                {
                    private readonly {{Rt}}.Models.ModelWeights _weights;
                    private readonly {{Rt}}.Models.NativeBuffer _arena;
                    private readonly {{Rt}}.Threading.WorkerPool _pool;
                    private readonly bool _ownsPool;
                    private readonly long[] _ticks = new long[{{N(plan.Steps.Count)}}];
                    private bool _disposed;
            {{fields}}
                    private ModelProfiler({{Rt}}.Models.ModelOptions options)
                    {
                        _weights = {{Rt}}.Models.ModelWeights.Acquire(typeof({{type}}).Assembly, {{type}}.WeightsResourceName, {{type}}.WeightsSha256, {{type}}.WeightsBytes, options, "{{className}}");
                        try
                        {
                            _arena = new {{Rt}}.Models.NativeBuffer({{type}}.ArenaBytes);
                            _ownsPool = options.Pool is null;
                            _pool = options.Pool ?? new {{Rt}}.Threading.WorkerPool(options.Threads > 0 ? options.Threads : {{type}}.TunedThreads);
                            float* wt = _weights.Floats;
            {{bind}}
                        }
                        catch
                        {
                            _arena?.Dispose();
                            _weights.Dispose();
                            throw;
                        }
                    }

                    public static global::System.IDisposable Create({{Rt}}.Models.ModelOptions options) => new ModelProfiler(options);

                    public static long[] Ticks(global::System.IDisposable profiler) => ((ModelProfiler)profiler)._ticks;

                    public static void RunArrays(global::System.IDisposable profiler, float[][] i, float[][] o)
                    {
                        var p = (ModelProfiler)profiler;
                        if (p._disposed) throw new global::System.ObjectDisposedException(nameof(ModelProfiler));
                        {{body}}
                    }

                    [global::System.Runtime.CompilerServices.SkipLocalsInit]
                    private void Execute({{parameters}})
                    {
                        float* a = _arena.Floats;
                        float* wt = _weights.Floats;
                        float** args = stackalloc float*[{{N(maxArgs)}}];
                        var pool = _pool;
                        long[] t = _ticks;
                        long start = global::System.Diagnostics.Stopwatch.GetTimestamp(){{(plan.Steps.Count > 0 ? ", now" : "")}};
            {{steps}}
                    }

                    public void Dispose()
                    {
                        if (_disposed) return;
                        _disposed = true;
                        _arena.Dispose();
                        _weights.Dispose();
                        if (_ownsPool) _pool.Dispose();
                    }
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
