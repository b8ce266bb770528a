using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Plans;
using AutoKernel.Generator.Workloads;
using Microsoft.CodeAnalysis.CSharp;

namespace AutoKernel.Generator.Emit;

/// <summary>
/// The generator's parser: plan text plus item metadata to a <see cref="ModelSpec"/>, checking
/// everything the emitters will need (templates, configs, fixed operators), so that emitting cannot
/// fail. Problems become diagnostics naming the plan file, never exceptions.
/// </summary>
public static class PlanReader
{
    public const string MalformedId = "AK0001";
    public const string NewerId = "AK0002";
    public const string UnknownKernelId = "AK0003";
    public const string BadNameId = "AK0004";

    /// <summary>The item metadata AutoKernelWeights is neither Embedded nor File.</summary>
    public const string BadWeightsId = "AK0009";

    /// <summary>Reads a plan whose weights are embedded (the default).</summary>
    public static PlanResult Read(string path, string text, string? className, string? ns, string? rootNamespace) =>
        Read(path, text, className, ns, rootNamespace, null);

    /// <summary>
    /// Reads a plan; <paramref name="weights"/> is the item metadata AutoKernelWeights: null, empty,
    /// <c>Embedded</c> or <c>File</c> (case-insensitive), anything else a <see cref="BadWeightsId"/> diagnostic.
    /// </summary>
    public static PlanResult Read(string path, string text, string? className, string? ns, string? rootNamespace, string? weights)
    {
        try
        {
            return ReadChecked(path, text, className, ns, rootNamespace, weights);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The generator must never throw (Roslyn would drop every file it generates with a bare
            // CS8785 warning): whatever the checks missed is still a diagnostic naming the plan.
            return Fail(MalformedId, $"{FileName(path)}: the plan cannot be read: {e.GetType().Name}: {e.Message}", path, 0, 0);
        }
    }

    /// <summary>Member names of the model class: the class itself cannot have one of them (CS0542).</summary>
    public static readonly IReadOnlyCollection<string> ReservedClassNames = new HashSet<string>(StringComparer.Ordinal)
    {
        "Run", "Execute", "Dispose", "ArenaBytes", "WeightsBytes", "WeightsSha256", "WeightsResourceName", "TunedThreads",
        "InputName", "InputLength", "InputShape", "OutputName", "OutputLength", "OutputShape",
    };

    private static PlanResult ReadChecked(string path, string text, string? className, string? ns, string? rootNamespace, string? weights)
    {
        ModelPlan plan;
        try
        {
            plan = PlanFormat.Parse(text);
        }
        catch (PlanFormatException e)
        {
            return Fail(MalformedId, $"{FileName(path)}: malformed AutoKernel plan: {e.Message}", path, e.Line, e.Column);
        }
        catch (PlanVersionException e)
        {
            return Fail(NewerId, $"{FileName(path)}: {e.Message}", path, e.Line, e.Column);
        }

        string name = string.IsNullOrWhiteSpace(className) ? ClassNameFor(path) : className!.Trim();
        if (!IsIdentifier(name))
            return Fail(BadNameId, $"{FileName(path)}: '{name}' is not a valid C# class name (set the ClassName metadata)", path, 0, 0);
        if (IsMemberName(name, plan))
            return Fail(BadNameId, $"{FileName(path)}: '{name}' cannot name the model class: the class has a member of that name (set the ClassName metadata)", path, 0, 0);
        string space = (string.IsNullOrWhiteSpace(ns) ? rootNamespace : ns)?.Trim() ?? "";
        if (space.Length > 0 && !space.Split('.').All(IsIdentifier))
            return Fail(BadNameId, $"{FileName(path)}: '{space}' is not a valid C# namespace (set the Namespace metadata)", path, 0, 0);
        if (ParseWeights(weights) is not { } mode)
            return Fail(BadWeightsId, $"{FileName(path)}: '{weights}' is not a valid Weights value (AutoKernelWeights metadata); use Embedded (the default: the weights are an embedded resource) or File (the weights file is copied next to the assembly)", path, 0, 0);

        var target = plan.Target;
        var stepKernels = new List<string>();
        var kernels = new List<KernelSpec>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < plan.Steps.Count; i++)
        {
            var step = plan.Steps[i];
            string where = $"{FileName(path)}: step {i.ToString(CultureInfo.InvariantCulture)} (node '{step.Node}', {step.Op})";
            string? kernelName;
            string? problem;
            if (step.Tuned is { } tuned)
                (kernelName, problem) = CheckTuned(tuned, target);
            else if (step.Fixed is { } f)
                (kernelName, problem) = CheckFixed(f);
            else
                (kernelName, problem) = (null, "the step has no kernel");
            if (problem is not null)
                return Fail(UnknownKernelId, $"{where}: {problem}", path, 0, 0);
            stepKernels.Add(kernelName!);
            if (seen.Add(kernelName!))
                kernels.Add(new KernelSpec(kernelName!, target, step.Tuned, step.Fixed));
        }
        var model = new ModelSpec(path, space, name, WeightsResourceName(space, name), mode, plan, stepKernels.ToEquatableArray(), kernels.ToEquatableArray());
        return new PlanResult(model, EquatableArray<DiagnosticInfo>.Empty);
    }

    /// <summary>The AutoKernelWeights metadata: null or empty is Embedded; null for a value that is neither.</summary>
    public static WeightsMode? ParseWeights(string? value)
    {
        string v = value?.Trim() ?? "";
        if (v.Length == 0 || string.Equals(v, nameof(WeightsMode.Embedded), StringComparison.OrdinalIgnoreCase))
            return WeightsMode.Embedded;
        if (string.Equals(v, nameof(WeightsMode.File), StringComparison.OrdinalIgnoreCase))
            return WeightsMode.File;
        return null;
    }

    /// <summary>
    /// The manifest resource name the model class loads its weights from (and, with Weights=File,
    /// the name of the weights file next to the app): "{namespace}.{class}.weights".</summary>
    public static string WeightsResourceName(string ns, string className) => ModelNames.WeightsResourceName(ns, className);

    /// <summary>"resnet18.akplan.json" → "Resnet18"; "mobilenet-v2.akplan.json" → "MobilenetV2".</summary>
    public static string ClassNameFor(string path) => ModelNames.ClassNameFor(path);

    private static (string?, string?) CheckTuned(TunedStep t, PlanTarget target)
    {
        var template = KernelTemplates.All.FirstOrDefault(k => k.Name == t.Template);
        if (template is null)
            return (null, $"unknown kernel template '{t.Template}' (this AutoKernel version has {string.Join(", ", KernelTemplates.All.Select(k => k.Name))})");
        var workload = WorkloadKeys.TryParse(t.WorkloadKey);
        if (workload is null)
            return (null, $"'{t.WorkloadKey}' is not a workload key this version reads");
        if (!template.Supports(workload))
            return (null, $"template {t.Template} does not support {t.WorkloadKey}");
        var space = template.CreateSpace(workload, target.ToCpuTarget());
        if (t.ConfigIndex >= space.Size || !space.IsValid(space.Decode(t.ConfigIndex)))
            return (null, $"config {t.ConfigIndex.ToString(CultureInfo.InvariantCulture)} is not a valid point of {t.Template}'s space for this workload (the plan is from another AutoKernel version?)");
        if (!EpilogueCode.IsActivation(t.Epilogue.Activation))
            return (null, $"unknown epilogue activation '{t.Epilogue.Activation}'");
        return (KernelNames.Tuned(t.Template, t.ConfigIndex, workload, t.Epilogue), null);
    }

    private static (string?, string?) CheckFixed(FixedStep f)
    {
        FixedOp op;
        try
        {
            op = PlanFormat.ToFixedOp(f);
        }
        catch (ArgumentException e)
        {
            return (null, "bad fixed operator: " + e.Message);
        }
        if (!FixedKernels.Supports(op))
            return (null, $"this AutoKernel version has no fixed kernel for {f.OpType} with these shapes and attributes");
        return (KernelNames.Fixed(op), null);
    }

    private static bool IsMemberName(string name, ModelPlan plan)
    {
        if (ReservedClassNames.Contains(name))
            return true;
        // Several inputs or outputs are numbered: Input0Name, Output1Shape, ...
        foreach (var (kind, count) in new[] { ("Input", plan.Inputs.Count), ("Output", plan.Outputs.Count) })
        {
            for (int i = 0; i < count; i++)
            {
                string prefix = kind + i.ToString(CultureInfo.InvariantCulture);
                if (name == prefix + "Name" || name == prefix + "Length" || name == prefix + "Shape")
                    return true;
            }
        }
        return false;
    }

    private static bool IsIdentifier(string s) =>
        SyntaxFacts.IsValidIdentifier(s) && SyntaxFacts.GetKeywordKind(s) == SyntaxKind.None;

    private static string FileName(string path) => Path.GetFileName(path);

    private static PlanResult Fail(string id, string message, string path, int line, int column) =>
        new(null, new[] { new DiagnosticInfo(id, message, path, line, column) }.ToEquatableArray());
}
