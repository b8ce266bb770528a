using System.Reflection;
using System.Runtime.Loader;
using AutoKernel.Generator.Plans;
using AutoKernel.Runtime.Models;
using Microsoft.CodeAnalysis;

namespace AutoKernel.Generator.Tests.Generator;

/// <summary>Review of the emitted model class: unusual ONNX names, class names, several plans, and the Run/Dispose guard.</summary>
public sealed class EmitterReviewTests
{
    public static TheoryData<string, string[], string[]> Names() => new()
    {
        { "keywords and spaces", ["class", "x y", "1abc"], ["int", "X-Y"] },
        // "x y" and "X-Y" are both xY: an input and an output with one parameter name (CS0100).
        { "input and output alike", ["x y", "b"], ["X-Y", "Y"] },
        // The lone output is "output": an input named output clashed with it.
        { "an input named output", ["output", "z"], ["y"] },
        // Run pins its spans in locals named in0, out0.
        { "names of Run's locals", ["in0", "out0"], ["in1", "out1"] },
        { "quotes, braces, backslashes", ["a\"{b}", "c\\d}}"], ["{e}", "'f'"] },
        { "non-ASCII and empty", ["\u65e5\u672c", "", "\u00e9t\u00e9"], ["\u0394", "value"] },
        { "duplicates after sanitizing", ["a.b", "a_b", "a-b", "A B"], ["ab", "aB"] },
        // A line break in a name ended the // and /// comments, leaving the rest as code.
        { "line breaks", ["a\nb", "c\rd"], ["e\u2028f", "g\u0085h\u2029"] },
        { "XML and control characters", ["<x>&amp;", "\u0001\u0007"], ["\uD800", "]]>"] },
        { "contextual keywords", ["var", "value", "options"], ["nameof", "async"] },
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void Unusual_onnx_names_give_a_model_class_that_compiles_with_warnings_as_errors(string what, string[] inputs, string[] outputs)
    {
        var plan = ReviewPlans.CopyPlan(inputs, outputs);
        var (result, diagnostics, output) = ReviewPlans.Generate([("/p/odd.akplan.json", PlanFormat.Write(plan))]);
        Assert.Null(result.Exception);
        Assert.Empty(diagnostics);
        var problems = ReviewPlans.Problems(output);
        Assert.True(problems.Count == 0, what + ": " + string.Join("\n", problems.Take(4)));
    }

    [Theory]
    [InlineData("odd\nname */.onnx", "copy")]
    [InlineData("odd.onnx", "node\u2028} class X {")]
    [InlineData("m\r.onnx", "n\u0085o")]
    public void Line_breaks_in_model_and_node_names_stay_inside_the_comments(string model, string node)
    {
        var plan = ReviewPlans.CopyPlan(["a"], ["b"], model, node);
        var (result, diagnostics, output) = ReviewPlans.Generate([("/p/odd.akplan.json", PlanFormat.Write(plan))]);
        Assert.Null(result.Exception);
        Assert.Empty(diagnostics);
        var problems = ReviewPlans.Problems(output);
        Assert.True(problems.Count == 0, string.Join("\n", problems.Take(4)));
    }

    [Theory]
    [InlineData("Run")]
    [InlineData("Dispose")]
    [InlineData("Execute")]
    [InlineData("ArenaBytes")]
    [InlineData("InputName")]
    [InlineData("Input1Shape")]
    public void A_class_name_that_is_also_a_member_name_is_a_diagnostic(string name)
    {
        var plan = ReviewPlans.CopyPlan(["a", "b"], ["c"]);
        var (result, diagnostics, _) = ReviewPlans.Generate(
            [("/p/m.akplan.json", PlanFormat.Write(plan))], new() { ["/p/m.akplan.json"] = new() { ["AutoKernelClassName"] = name } });
        Assert.Null(result.Exception);
        Assert.Equal("AK0004", Assert.Single(diagnostics).Id);
    }

    [Fact]
    public void Two_plans_with_one_class_name_are_a_diagnostic_not_a_generator_crash()
    {
        string text = TestPlans.Text();
        var (result, diagnostics, output) = ReviewPlans.Generate([("/a/tiny.akplan.json", text), ("/b/tiny.akplan.json", text)]);
        Assert.Null(result.Exception);
        var d = Assert.Single(diagnostics);
        Assert.Equal("AK0006", d.Id); // ModelGenerator.DuplicateClassId
        Assert.Equal("/b/tiny.akplan.json", d.Location.GetLineSpan().Path);
        Assert.Single(result.GeneratedSources, s => s.HintName == "App.Tiny.g.cs");
        Assert.Empty(ReviewPlans.Problems(output));
    }

    [Fact]
    public void Plans_for_different_targets_in_one_project_are_a_diagnostic()
    {
        // Kernel class names leave the target out: the second plan would silently run the first one's kernel.
        var other = TestPlans.Plan() with { Target = TestPlans.Target with { Threads = 8 } };
        var (result, diagnostics, _) = ReviewPlans.Generate([("/p/a.akplan.json", TestPlans.Text()), ("/p/b.akplan.json", PlanFormat.Write(other))]);
        Assert.Null(result.Exception);
        var d = Assert.Single(diagnostics);
        Assert.Equal("AK0007", d.Id); // ModelGenerator.TargetMismatchId
        Assert.Equal("/p/b.akplan.json", d.Location.GetLineSpan().Path);
    }

    [Fact]
    public void The_constructor_stops_its_own_pool_when_a_later_step_throws()
    {
        var (result, _, _) = ReviewPlans.Generate([("/p/tiny.akplan.json", TestPlans.Text())]);
        string model = result.GeneratedSources.Single(s => s.HintName == "App.Tiny.g.cs").SourceText.ToString();
        int catchAt = model.IndexOf("catch", StringComparison.Ordinal);
        string handler = model[catchAt..model.IndexOf("throw;", catchAt, StringComparison.Ordinal)];
        Assert.Contains("_pool?.Dispose()", handler, StringComparison.Ordinal);
        Assert.Contains("_arena?.Dispose()", handler, StringComparison.Ordinal);
        Assert.Contains("_weights.Dispose()", handler, StringComparison.Ordinal);
    }

    private const string Adapter = """
        namespace Host
        {
            public static class Adapter
            {
                public static global::System.IDisposable Create(global::AutoKernel.Runtime.Models.ModelOptions o) => new global::App.Tiny(o);

                public static void Run(global::System.IDisposable m, float[] x, float[] y) => ((global::App.Tiny)m).Run(x, y);
            }
        }
        """;

    /// <summary>
    /// Dispose racing Run on another thread: Run must either finish before Dispose frees anything or
    /// fail with the model's ObjectDisposedException. Before the atomic state, Run could pass its
    /// disposed check, Dispose could free the arena, and Run then ran on freed memory (seen as the
    /// NativeBuffer's or ModelWeights' ObjectDisposedException, or not seen at all). A race: the test
    /// can miss it, but never fails when the guard is right.
    /// </summary>
    [Fact]
    public void Dispose_racing_Run_never_lets_Run_use_freed_memory()
    {
        var (plan, file) = ReviewPlans.TinyWithWeights();
        var (result, diagnostics, output) = ReviewPlans.Generate([("/p/tiny.akplan.json", PlanFormat.Write(plan))], null, Adapter);
        Assert.Empty(diagnostics);
        using var pe = new MemoryStream();
        Assert.Empty(ReviewPlans.Problems(output, pe));
        var context = new AssemblyLoadContext("review-race", isCollectible: true);
        try
        {
            var adapter = context.LoadFromStream(new MemoryStream(pe.ToArray())).GetType("Host.Adapter", throwOnError: true)!;
            var create = adapter.GetMethod("Create")!.CreateDelegate<Func<ModelOptions, IDisposable>>();
            var run = adapter.GetMethod("Run")!.CreateDelegate<Action<IDisposable, float[], float[]>>();
            using var pool = new AutoKernel.Runtime.Threading.WorkerPool(1);
            var keep = create(new ModelOptions { WeightsStream = new MemoryStream(file), Pool = pool }); // keeps the weights loaded
            var wrong = new List<string>();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            int rounds = 0;
            while (clock.Elapsed.TotalSeconds < 3 && rounds < 20_000)
            {
                rounds++;
                var model = create(new ModelOptions { Pool = pool });
                using var start = new Barrier(2);
                string? seen = null;
                var runner = new Thread(() =>
                {
                    var x = new float[8];
                    var y = new float[5];
                    start.SignalAndWait();
                    while (true)
                    {
                        try
                        {
                            run(model, x, y);
                        }
                        catch (ObjectDisposedException e)
                        {
                            seen = e.ObjectName;
                            return;
                        }
                        catch (Exception e)
                        {
                            seen = e.GetType().Name + ": " + e.Message;
                            return;
                        }
                    }
                });
                runner.Start();
                start.SignalAndWait();
                for (int spin = 0; spin < rounds % 64; spin++)
                    Thread.SpinWait(1);
                while (true)
                {
                    try
                    {
                        model.Dispose();
                        break;
                    }
                    catch (InvalidOperationException)
                    {
                        Thread.SpinWait(rounds % 16);
                    }
                }
                runner.Join();
                if (seen != "Tiny")
                    wrong.Add(seen ?? "(nothing)");
            }
            keep.Dispose();
            Assert.True(wrong.Count == 0, $"{wrong.Count} of {rounds} rounds: Run failed with {string.Join(", ", wrong.Distinct().Take(3))}");
        }
        finally
        {
            context.Unload();
        }
    }
}
