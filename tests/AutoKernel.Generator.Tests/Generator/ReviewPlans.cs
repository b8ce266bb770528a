using System.Security.Cryptography;
using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Plans;
using AutoKernel.Generator.Tests.Support;
using AutoKernel.Runtime.Models;
using Microsoft.CodeAnalysis;

namespace AutoKernel.Generator.Tests.Generator;

/// <summary>Plans and helpers for the review tests: copy-only plans with any input and output names, and generation + compile.</summary>
public static class ReviewPlans
{
    public static readonly string EmptySha = Convert.ToHexStringLower(SHA256.HashData(ReadOnlySpan<byte>.Empty));

    /// <summary>Inputs and outputs of shape [1, 4]; output j is a copy of input j mod inputs.</summary>
    public static ModelPlan CopyPlan(string[] inputs, string[] outputs, string model = "copy.onnx", string node = "copy")
    {
        var buffers = new List<PlanBuffer>();
        var ins = new List<PlanValue>();
        var outs = new List<PlanValue>();
        for (int i = 0; i < inputs.Length; i++)
        {
            buffers.Add(new PlanBuffer(buffers.Count, PlanBuffer.Input, i, 4));
            ins.Add(new PlanValue(inputs[i], new[] { 1, 4 }.ToEquatableArray(), buffers.Count - 1));
        }
        var steps = new List<PlanStep>();
        for (int j = 0; j < outputs.Length; j++)
        {
            buffers.Add(new PlanBuffer(buffers.Count, PlanBuffer.Output, j, 4));
            outs.Add(new PlanValue(outputs[j], new[] { 1, 4 }.ToEquatableArray(), buffers.Count - 1));
            steps.Add(new PlanStep(PlanStep.CopyKind, node, "Copy", new[] { ins[j % ins.Count].Buffer }.ToEquatableArray(), buffers.Count - 1, null,
                PlanFormat.FromFixedOp(new FixedOp("Copy", [[1, 4]], [1, 4], 0))));
        }
        return new ModelPlan(PlanFormat.Version, model, TestPlans.Target, new PlanWeights(0, EmptySha), 0, 0,
            ins.ToEquatableArray(), outs.ToEquatableArray(), buffers.ToEquatableArray(), steps.ToEquatableArray());
    }

    /// <summary>Runs the generator on plan files (path, text), then compiles everything with warnings as errors.</summary>
    public static (GeneratorRunResult Result, IReadOnlyList<Diagnostic> GeneratorDiagnostics, Compilation Output) Generate(
        IEnumerable<(string Path, string Text)> plans, Dictionary<string, Dictionary<string, string>>? metadata = null, params string[] extraSources)
    {
        var driver = GeneratorHarness.Driver(plans.Select(p => new GeneratorHarness.Text(p.Path, p.Text)), metadata);
        driver = driver.RunGeneratorsAndUpdateCompilation(
            GeneratorHarness.Compilation(["namespace App { public static class Program { } }", .. extraSources]), out var output, out var diagnostics, TestContext.Current.CancellationToken);
        return (driver.GetRunResult().Results.Single(), diagnostics, output);
    }

    /// <summary>The compile errors and warnings of a compilation (empty when it builds cleanly with warnings as errors).</summary>
    public static List<Diagnostic> Problems(Compilation output, MemoryStream? pe = null)
    {
        var emit = output.Emit(pe ?? new MemoryStream(), cancellationToken: TestContext.Current.CancellationToken);
        return [.. emit.Diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning)];
    }

    /// <summary>The tiny dense plan with a real (all-zero) weights payload, and the weights file for it.</summary>
    public static (ModelPlan Plan, byte[] File) TinyWithWeights()
    {
        var payload = new byte[4096];
        var plan = TestPlans.Plan() with { Weights = new PlanWeights(payload.Length, WeightsFile.Sha256(payload)) };
        var file = WeightsFile.Header(payload.Length, SHA256.HashData(payload)).Concat(payload).ToArray();
        return (plan, file);
    }
}
