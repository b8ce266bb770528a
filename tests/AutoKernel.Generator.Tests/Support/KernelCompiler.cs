using System.Reflection;
using System.Runtime.Loader;
using AutoKernel.Runtime.Kernels;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace AutoKernel.Generator.Tests.Support;

/// <summary>Compiles emitted kernel source in memory and instantiates it, for emitter tests.</summary>
public static class KernelCompiler
{
    private static readonly MetadataReference[] s_references =
    [
        .. ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator).Select(p => MetadataReference.CreateFromFile(p)),
        MetadataReference.CreateFromFile(typeof(ITunedKernel).Assembly.Location),
    ];

    public static ITunedKernel Compile(string source, string fullTypeName)
    {
        var compilation = CSharpCompilation.Create(
            "kernel_" + Guid.NewGuid().ToString("N"),
            [CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest))],
            s_references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, optimizationLevel: OptimizationLevel.Release, allowUnsafe: true));
        using var pe = new MemoryStream();
        var result = compilation.Emit(pe);
        if (!result.Success)
        {
            var errors = result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Take(10);
            throw new InvalidOperationException("emitted source does not compile:\n" + string.Join("\n", errors) + "\n" + source);
        }
        pe.Position = 0;
        var context = new AssemblyLoadContext(null, isCollectible: true);
        Assembly assembly = context.LoadFromStream(pe);
        return (ITunedKernel)Activator.CreateInstance(assembly.GetType(fullTypeName, throwOnError: true)!)!;
    }
}
