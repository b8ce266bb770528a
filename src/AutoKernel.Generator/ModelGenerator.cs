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
    /// the project's RootNamespace. Metadata <c>AutoKernelWeights</c> says where the class loads its
    /// weights from: <c>Embedded</c> (the default) the embedded resource <c>{namespace}.{class}.weights</c>,
    /// <c>File</c> the file of that name next to the app. Weights never pass through the generator.
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
            [PlanReader.BadWeightsId] = Descriptor(PlanReader.BadWeightsId, "Invalid AutoKernel Weights value"),
            ["AK0005"] = Descriptor("AK0005", "AutoKernel plan file cannot be read"),
            [DuplicateClassId] = Descriptor(DuplicateClassId, "Two AutoKernel plans name the same model class"),
            [TargetMismatchId] = Descriptor(TargetMismatchId, "AutoKernel plans in one project were compiled for different targets"),
            [InternalErrorId] = Descriptor(InternalErrorId, "AutoKernel generator internal error"),
        };

        /// <summary>Two plans would emit the same model class (and the same generated file name).</summary>
        public const string DuplicateClassId = "AK0006";

        /// <summary>
        /// Plans disagree on the target: kernel class names leave the target out (one target per
        /// assembly), so a kernel emitted for one plan's target would run another plan's packed weights.
        /// </summary>
        public const string TargetMismatchId = "AK0007";

        /// <summary>Emitting failed on something the plan checks let through; reported instead of throwing.</summary>
        public const string InternalErrorId = "AK0008";

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
                    options.TryGetValue("build_metadata.AdditionalFiles.AutoKernelWeights", out string? weights);
                    pair.Right.GlobalOptions.TryGetValue("build_property.RootNamespace", out string? root);
                    return new PlanFile(pair.Left.Path, pair.Left.GetText(ct)?.ToString(), className, ns, root, weights);
                })
                .WithTrackingName(Steps.Files);

            var results = files
                .Select(static (f, _) => f.Text is null
                    ? new PlanResult(null, new[] { new DiagnosticInfo("AK0005", $"{System.IO.Path.GetFileName(f.Path)}: the plan file cannot be read", f.Path, 0, 0) }.ToEquatableArray())
                    : PlanReader.Read(f.Path, f.Text, f.ClassName, f.Namespace, f.RootNamespace, f.Weights))
                .WithTrackingName(Steps.Parse);

            // Every model's class name and target, so that each model can tell whether another plan
            // claims its class (AddSource would throw on the second hint name) or another target.
            var identities = results
                .Select(static (r, _) => r.Model is { } m ? new ModelIdentity(m.PlanPath, FullName(m), m.Plan.Target) : null)
                .Collect()
                .Select(static (all, _) => all.Where(i => i is not null).Select(i => i!).OrderBy(i => i.Path, StringComparer.Ordinal).ToEquatableArray());

            context.RegisterSourceOutput(results.Combine(identities), static (spc, pair) =>
            {
                var (result, all) = pair;
                foreach (var d in result.Diagnostics)
                    spc.ReportDiagnostic(Diagnostic.Create(s_descriptors[d.Id], LocationOf(d), d.Message));
                if (result.Model is not { } model)
                    return;
                string fullName = FullName(model);
                var first = all.FirstOrDefault(i => i.FullName == fullName);
                if (first is not null && first.Path != model.PlanPath)
                {
                    Report(spc, DuplicateClassId, model.PlanPath, $"{System.IO.Path.GetFileName(model.PlanPath)}: the model class {fullName} is already generated from {first.Path}; give one of the plans another AutoKernelClassName or AutoKernelNamespace");
                    return;
                }
                var reference = all.FirstOrDefault();
                if (reference is not null && reference.Target != model.Plan.Target)
                {
                    Report(spc, TargetMismatchId, model.PlanPath,
                        $"{System.IO.Path.GetFileName(model.PlanPath)}: compiled for {Describe(model.Plan.Target)}, but {reference.Path} for {Describe(reference.Target)}; the plans of one project must be compiled for one target (and thread count)");
                    return;
                }
                string source;
                try
                {
                    source = ModelEmitter.Model(model);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    Report(spc, InternalErrorId, model.PlanPath, $"{System.IO.Path.GetFileName(model.PlanPath)}: cannot emit the model class: {e.GetType().Name}: {e.Message}");
                    return;
                }
                spc.AddSource(fullName + ".g.cs", source);
            });

            // Two models may call the same kernel: each class is emitted once per compilation.
            var kernels = results
                .SelectMany(static (r, _) => r.Model?.Kernels ?? EquatableArray<KernelSpec>.Empty)
                .Collect()
                .SelectMany(static (all, _) => all.GroupBy(k => k.ClassName, StringComparer.Ordinal).Select(g => g.First()).OrderBy(k => k.ClassName, StringComparer.Ordinal))
                .WithTrackingName(Steps.Kernels);

            context.RegisterSourceOutput(kernels, static (spc, kernel) =>
            {
                string source;
                try
                {
                    source = ModelEmitter.Kernel(kernel);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    spc.ReportDiagnostic(Diagnostic.Create(s_descriptors[InternalErrorId], Location.None, $"cannot emit kernel {kernel.ClassName}: {e.GetType().Name}: {e.Message}"));
                    return;
                }
                spc.AddSource(KernelNames.Namespace + "." + kernel.ClassName + ".g.cs", source);
            });
        }

        private static string FullName(ModelSpec m) => (m.Namespace.Length > 0 ? m.Namespace + "." : "") + m.ClassName;

        private static string Describe(PlanTarget t) => $"{t.Description} ({t.VectorBits}-bit vectors, {t.Threads} threads)";

        private static void Report(SourceProductionContext spc, string id, string path, string message) =>
            spc.ReportDiagnostic(Diagnostic.Create(s_descriptors[id], Location.Create(path, new TextSpan(0, 0), new LinePositionSpan(default, default)), message));

        private sealed record ModelIdentity(string Path, string FullName, PlanTarget Target);

        private static Location LocationOf(DiagnosticInfo d)
        {
            var position = new LinePosition(Math.Max(0, d.Line - 1), Math.Max(0, d.Column - 1));
            return Location.Create(d.Path, new TextSpan(0, 0), new LinePositionSpan(position, position));
        }

        private static DiagnosticDescriptor Descriptor(string id, string title) =>
            new(id, title, "{0}", "AutoKernel", DiagnosticSeverity.Error, isEnabledByDefault: true);

        private sealed record PlanFile(string Path, string? Text, string? ClassName, string? Namespace, string? RootNamespace, string? Weights);
    }
}
