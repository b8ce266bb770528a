using System.Reflection;
using System.Runtime.Loader;
using AutoKernel.Runtime.Kernels;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace AutoKernel.Generator.Tests.Support;

/// <summary>
/// Compiles emitted kernel source in memory for emitter tests: many kernels in one compilation
/// (one syntax tree each, much faster than a compilation per kernel). Emitted source must compile
/// without errors and without warnings, since apps compile it with warnings as errors.
/// </summary>
public static class KernelCompiler
{
    private static readonly MetadataReference[] s_references =
    [
        .. ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator).Select(p => MetadataReference.CreateFromFile(p)),
        MetadataReference.CreateFromFile(typeof(ITunedKernel).Assembly.Location),
    ];

    public static Assembly CompileAssembly(IEnumerable<string> sources)
    {
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var compilation = CSharpCompilation.Create(
            "kernels_" + Guid.NewGuid().ToString("N"),
            sources.Select(s => CSharpSyntaxTree.ParseText(s, parse)),
            s_references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, optimizationLevel: OptimizationLevel.Release, allowUnsafe: true));
        using var pe = new MemoryStream();
        var result = compilation.Emit(pe);
        var problems = result.Diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).Take(10).ToList();
        if (problems.Count > 0)
        {
            string? tree = problems[0].Location.SourceTree?.ToString();
            throw new InvalidOperationException("emitted source does not compile cleanly:\n" + string.Join("\n", problems) + "\n" + tree);
        }
        pe.Position = 0;
        return new AssemblyLoadContext(null, isCollectible: true).LoadFromStream(pe);
    }

    public static ITunedKernel Compile(string source, string fullTypeName) => CompileMany([source], [fullTypeName])[0];

    public static List<ITunedKernel> CompileMany(IEnumerable<string> sources, IEnumerable<string> fullTypeNames)
    {
        var assembly = CompileAssembly(sources);
        return [.. fullTypeNames.Select(t => (ITunedKernel)Activator.CreateInstance(assembly.GetType(t, throwOnError: true)!)!)];
    }
}
