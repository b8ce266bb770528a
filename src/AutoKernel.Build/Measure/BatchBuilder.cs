using System.Diagnostics;
using System.Globalization;
using System.Text;
using AutoKernel.Runtime.Kernels;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace AutoKernel.Build.Measure;

/// <summary>
/// The outcome of compiling a batch. <see cref="Errors"/>[i] is null when candidate i compiled, or
/// its compile errors. <see cref="Assemblies"/>[i] is the assembly holding candidate i (null on a
/// compile error). Normally the whole batch is one assembly, <see cref="AssemblyPath"/>; a batch
/// that repeats a class name is split into as many assemblies as the most repeated name needs.
/// Dispose deletes the temporary assembly files.
/// </summary>
public sealed class BuildResult : IDisposable
{
    internal BuildResult(IReadOnlyList<string?> assemblies, IReadOnlyList<string?> errors, int compilations, double seconds)
    {
        Assemblies = assemblies;
        Errors = errors;
        Compilations = compilations;
        Seconds = seconds;
    }

    /// <summary>The emitted assembly (a temp file), or null when no candidate compiled. With repeated class names, the first of several.</summary>
    public string? AssemblyPath => Assemblies.FirstOrDefault(a => a is not null);

    /// <summary>Per candidate: the assembly that holds it, or null when it did not compile.</summary>
    public IReadOnlyList<string?> Assemblies { get; }

    /// <summary>Per candidate: null, or its compile error text.</summary>
    public IReadOnlyList<string?> Errors { get; }

    /// <summary>Roslyn emits run: 1 for a batch without semantic errors (syntax errors are caught at parse time), 2 with some.</summary>
    public int Compilations { get; }

    /// <summary>Wall time of the whole build.</summary>
    public double Seconds { get; }

    public void Dispose()
    {
        foreach (var path in Assemblies.Distinct())
        {
            if (path is null)
                continue;
            try
            {
                File.Delete(path);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}

/// <summary>
/// AutoTVM's builder: compiles a whole batch of candidates with one Roslyn compilation (release,
/// unsafe, against the platform assemblies and AutoKernel.Runtime). A compile error is charged to
/// its own candidate: errors are mapped to syntax trees, the failing candidates dropped and the
/// rest compiled again.
/// </summary>
public sealed class BatchBuilder
{
    private const int MaxErrorsShown = 10;

    /// <summary>What emitted code compiles against: the platform assemblies and AutoKernel.Runtime.</summary>
    internal static IReadOnlyList<MetadataReference> References => s_references.Value;

    private static readonly Lazy<MetadataReference[]> s_references = new(() =>
    [
        .. ((string?)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Where(p => !Path.GetFileName(p).StartsWith("AutoKernel.Runtime", StringComparison.OrdinalIgnoreCase))
            .Select(p => MetadataReference.CreateFromFile(p)),
        MetadataReference.CreateFromFile(typeof(ITunedKernel).Assembly.Location),
    ]);

    private static readonly CSharpParseOptions s_parseOptions = new(LanguageVersion.Latest);

    private static readonly CSharpCompilationOptions s_compileOptions = new(
        OutputKind.DynamicallyLinkedLibrary,
        optimizationLevel: OptimizationLevel.Release,
        allowUnsafe: true,
        nullableContextOptions: NullableContextOptions.Enable);

    /// <summary>Folder for the emitted assemblies (default: a subfolder of the temp folder).</summary>
    public string OutputDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "autokernel-measure");

    public BuildResult Build(IReadOnlyList<Candidate> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return Build([.. batch.Select(c => (c.ClassName, c.Source))]);
    }

    /// <summary>Compiles any emitted kernel sources (tuned or fixed), one result per source, in order.</summary>
    public BuildResult Build(IReadOnlyList<(string ClassName, string Source)> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var clock = Stopwatch.StartNew();
        var errors = new string?[batch.Count];
        var assemblies = new string?[batch.Count];
        var trees = new SyntaxTree[batch.Count];
        Parallel.For(0, batch.Count, i =>
            trees[i] = CSharpSyntaxTree.ParseText(batch[i].Source, s_parseOptions, path: $"candidate{i}.cs", encoding: Encoding.UTF8));

        // Syntax errors are known from parsing alone: those candidates never join a compilation.
        Parallel.For(0, batch.Count, i =>
        {
            var syntax = trees[i].GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
            if (syntax.Count > 0)
                errors[i] = Format(syntax);
        });

        // Candidates that share a class name go to different assemblies: the k-th use of a name in part k.
        var parts = new List<List<int>>();
        var uses = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < batch.Count; i++)
        {
            if (errors[i] is not null)
                continue;
            int k = uses.TryGetValue(batch[i].ClassName, out int n) ? n : 0;
            uses[batch[i].ClassName] = k + 1;
            if (k == parts.Count)
                parts.Add([]);
            parts[k].Add(i);
        }

        int compilations = 0;
        Directory.CreateDirectory(OutputDirectory);
        foreach (var part in parts)
            compilations += BuildPart(part, trees, errors, assemblies);
        return new BuildResult(assemblies, errors, compilations, clock.Elapsed.TotalSeconds);
    }

    private int BuildPart(List<int> members, SyntaxTree[] trees, string?[] errors, string?[] assemblies)
    {
        var live = new List<int>(members);
        var treeIndex = members.ToDictionary(i => trees[i], i => i);
        int compilations = 0;
        while (live.Count > 0)
        {
            var compilation = CSharpCompilation.Create(
                "autokernel_batch_" + Guid.NewGuid().ToString("N"),
                live.Select(i => trees[i]),
                s_references.Value,
                s_compileOptions);
            string path = Path.Combine(OutputDirectory, compilation.AssemblyName + ".dll");
            compilations++;
            Microsoft.CodeAnalysis.Emit.EmitResult result;
            using (var pe = new MemoryStream())
            {
                result = compilation.Emit(pe);
                if (result.Success)
                {
                    File.WriteAllBytes(path, pe.ToArray());
                    foreach (int i in live)
                        assemblies[i] = path;
                    return compilations;
                }
            }

            var failed = new Dictionary<int, List<Diagnostic>>();
            var unplaced = new List<Diagnostic>();
            foreach (var d in result.Diagnostics)
            {
                if (d.Severity != DiagnosticSeverity.Error)
                    continue;
                if (d.Location.SourceTree is { } tree && treeIndex.TryGetValue(tree, out int owner))
                {
                    if (!failed.TryGetValue(owner, out var list))
                        failed[owner] = list = [];
                    list.Add(d);
                }
                else
                {
                    unplaced.Add(d);
                }
            }
            if (failed.Count == 0)
            {
                // Errors that belong to no candidate (bad references, emit failures): all fail alike.
                string text = Format(unplaced.Count > 0 ? unplaced : [.. result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)]);
                foreach (int i in live)
                    errors[i] = text;
                return compilations;
            }
            foreach (var (i, list) in failed)
                errors[i] = Format(list);
            live.RemoveAll(failed.ContainsKey);
        }
        return compilations;
    }

    private static string Format(IReadOnlyList<Diagnostic> diagnostics)
    {
        if (diagnostics.Count == 0)
            return "compilation failed without an error diagnostic";
        var text = new StringBuilder();
        foreach (var d in diagnostics.Take(MaxErrorsShown))
        {
            var span = d.Location.GetLineSpan();
            if (d.Location.IsInSource)
                text.Append(CultureInfo.InvariantCulture, $"({span.StartLinePosition.Line + 1},{span.StartLinePosition.Character + 1}): ");
            text.Append(d.Id).Append(": ").AppendLine(d.GetMessage(CultureInfo.InvariantCulture));
        }
        if (diagnostics.Count > MaxErrorsShown)
            text.Append(CultureInfo.InvariantCulture, $"... and {diagnostics.Count - MaxErrorsShown} more errors").AppendLine();
        return text.ToString().TrimEnd();
    }
}
