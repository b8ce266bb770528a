using System;
using System.Collections.Generic;
using System.Linq;
using AutoKernel.Generator.Emit;
using AutoKernel.Generator.Plans;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace AutoKernel.Generator
{
    /// <summary>
    /// The AutoKernel source generator. For every AdditionalFiles item named <c>*.akplan.json</c>
    /// (a plan written by <c>autokernel compile</c>) it emits one file per kernel the plan calls,
    /// through the same emitters the tuner measured, and one file with the typed model class.
    /// Item metadata <c>AutoKernelClassName</c> and <c>AutoKernelNamespace</c> (made visible with
    /// CompilerVisibleItemMetadata) name the class; the defaults are the file name in PascalCase and
    /// the project's RootNamespace. Weights never pass through the generator.
    /// </summary>
    [Generator(LanguageNames.CSharp)]
    public sealed class ModelGenerator : IIncrementalGenerator
    {
        /// <summary>Tracking names of the pipeline's steps, for incremental-generation tests.</summary>
        public static class Steps
        {
            public const string Files = "AutoKernel.PlanFiles";
            public const string Parse = "AutoKernel.Parse";
            public const string Kernels = "AutoKernel.Kernels";
        }

        private static readonly Dictionary<string, DiagnosticDescriptor> s_descriptors = new(StringComparer.Ordinal)
        {
            [PlanReader.MalformedId] = Descriptor(PlanReader.MalformedId, "Malformed AutoKernel plan"),
            [PlanReader.NewerId] = Descriptor(PlanReader.NewerId, "AutoKernel plan from a newer version"),
            [PlanReader.UnknownKernelId] = Descriptor(PlanReader.UnknownKernelId, "AutoKernel plan names a kernel this version cannot emit"),
            [PlanReader.BadNameId] = Descriptor(PlanReader.BadNameId, "Invalid AutoKernel model class name or namespace"),
            ["AK0005"] = Descriptor("AK0005", "AutoKernel plan file cannot be read"),
        };

        public void Initialize(IncrementalGeneratorInitializationContext context)
        {
            var files = context.AdditionalTextsProvider
                .Where(static f => f.Path.EndsWith(PlanFormat.FileSuffix, StringComparison.OrdinalIgnoreCase))
                .Combine(context.AnalyzerConfigOptionsProvider)
                .Select(static (pair, ct) =>
                {
                    var options = pair.Right.GetOptions(pair.Left);
                    options.TryGetValue("build_metadata.AdditionalFiles.AutoKernelClassName", out string? className);
                    options.TryGetValue("build_metadata.AdditionalFiles.AutoKernelNamespace", out string? ns);
                    pair.Right.GlobalOptions.TryGetValue("build_property.RootNamespace", out string? root);
                    return new PlanFile(pair.Left.Path, pair.Left.GetText(ct)?.ToString(), className, ns, root);
                })
                .WithTrackingName(Steps.Files);

            var results = files
                .Select(static (f, _) => f.Text is null
                    ? new PlanResult(null, new[] { new DiagnosticInfo("AK0005", $"{System.IO.Path.GetFileName(f.Path)}: the plan file cannot be read", f.Path, 0, 0) }.ToEquatableArray())
                    : PlanReader.Read(f.Path, f.Text, f.ClassName, f.Namespace, f.RootNamespace))
                .WithTrackingName(Steps.Parse);

            context.RegisterSourceOutput(results, static (spc, result) =>
            {
                foreach (var d in result.Diagnostics)
                    spc.ReportDiagnostic(Diagnostic.Create(s_descriptors[d.Id], LocationOf(d), d.Message));
                if (result.Model is { } model)
                    spc.AddSource((model.Namespace.Length > 0 ? model.Namespace + "." : "") + model.ClassName + ".g.cs", ModelEmitter.Model(model));
            });

            // Two models may call the same kernel: each class is emitted once per compilation.
            var kernels = results
                .SelectMany(static (r, _) => r.Model?.Kernels ?? EquatableArray<KernelSpec>.Empty)
                .Collect()
                .SelectMany(static (all, _) => all.GroupBy(k => k.ClassName, StringComparer.Ordinal).Select(g => g.First()).OrderBy(k => k.ClassName, StringComparer.Ordinal))
                .WithTrackingName(Steps.Kernels);

            context.RegisterSourceOutput(kernels, static (spc, kernel) =>
                spc.AddSource(KernelNames.Namespace + "." + kernel.ClassName + ".g.cs", ModelEmitter.Kernel(kernel)));
        }

        private static Location LocationOf(DiagnosticInfo d)
        {
            var position = new LinePosition(Math.Max(0, d.Line - 1), Math.Max(0, d.Column - 1));
            return Location.Create(d.Path, new TextSpan(0, 0), new LinePositionSpan(position, position));
        }

        private static DiagnosticDescriptor Descriptor(string id, string title) =>
            new(id, title, "{0}", "AutoKernel", DiagnosticSeverity.Error, isEnabledByDefault: true);

        private sealed record PlanFile(string Path, string? Text, string? ClassName, string? Namespace, string? RootNamespace);
    }
}
