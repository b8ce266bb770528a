using System.Diagnostics;
using AutoKernel.Build;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Onnx.Proto;
using AutoKernel.Build.Records;
using AutoKernel.Integration.Tests.Support;
using Google.Protobuf;

[assembly: AssemblyFixture(typeof(PackageFeed))]

namespace AutoKernel.Integration.Tests;

/// <summary>
/// `dotnet build` of consumer projects that reference the packed AutoKernel package, as issue 9
/// asks: tuning, generation and a correct run; incrementality; AutoKernelTuning=Off; errors as
/// MSBuild diagnostics; Weights=File; two models; clean; Ctrl+C and resume. One class, so the
/// builds (each runs the real tool) take turns on the machine's cores.
/// </summary>
public sealed partial class BuildIntegrationTests(PackageFeed feed, ITestOutputHelper output)
{
    private const string Tiny = "tiny_cnn";
    private const int ImageSize = 32;

    /// <summary>Plain console output (no terminal logger): one line per diagnostic before the summary.</summary>
    private static readonly string[] Plain = ["-tl:off"];

    [Fact]
    public void Build_tunes_generates_and_runs_then_a_rebuild_does_nothing_and_clean_keeps_the_log()
    {
        using var c = new Consumer(feed, "tuned");
        string model = c.AddZooModel("models/tiny.onnx", Tiny, ImageSize, seed: 1);
        var item = new ConsumerModel("models/tiny.onnx", "Tiny", "Trials=\"4\"");
        c.Write([item]);

        var first = c.Build(Plain).EnsureSuccess();
        output.WriteLine($"first build: {first.Elapsed.TotalSeconds:F1} s");
        Assert.Contains(first.Lines, l => l.Contains("autokernel: tuning 3 of 3 tasks", StringComparison.Ordinal));
        Assert.DoesNotContain(first.BuildLines, l => l.Contains(": warning AK", StringComparison.Ordinal));
        string log = c.PathOf("autokernel/tiny.cpu.jsonl");
        var records = RecordLog.Load(log);
        Assert.Empty(records.Warnings);
        Assert.Equal(3 * 4, records.Records.Count);
        Assert.Equal(["tiny.cpu.jsonl"], Directory.GetFiles(c.PathOf("autokernel")).Select(Path.GetFileName));
        c.RunAndCompare([(item, model)]);

        string plan = c.PathOf("obj/Release/net10.0/autokernel/Consumer.Tiny.akplan.json");
        string weights = c.PathOf("obj/Release/net10.0/autokernel/Consumer.Tiny.weights");
        var planTime = File.GetLastWriteTimeUtc(plan);
        var logTime = File.GetLastWriteTimeUtc(log);
        var second = c.Build([.. Plain, "-v:n"]).EnsureSuccess();
        output.WriteLine($"second build: {second.Elapsed.TotalSeconds:F1} s");
        Assert.DoesNotContain(second.Lines, l => l.Contains("autokernel: ", StringComparison.Ordinal));
        Assert.Contains(second.Lines, l => l.Contains("Skipping target \"_AutoKernelBuildModels\"", StringComparison.Ordinal));
        Assert.Equal(planTime, File.GetLastWriteTimeUtc(plan));
        Assert.Equal(logTime, File.GetLastWriteTimeUtc(log));

        c.Dotnet(["clean", "-c", "Release", "-nr:false", .. Plain]).EnsureSuccess();
        Assert.False(File.Exists(plan));
        Assert.False(File.Exists(weights));
        Assert.Equal(3 * 4, RecordLog.Load(log).Records.Count);
    }

    [Fact]
    public void Tuning_off_with_an_empty_log_warns_once_per_task_and_still_runs_correctly()
    {
        using var c = new Consumer(feed, "off");
        string model = c.AddZooModel("tiny.onnx", Tiny, ImageSize, seed: 2);
        var item = new ConsumerModel("tiny.onnx", "Tiny");
        c.Write([item], "<AutoKernelTuning>Off</AutoKernelTuning>");
        Directory.CreateDirectory(c.PathOf("autokernel"));
        File.WriteAllText(c.PathOf("autokernel/tiny.cpu.jsonl"), "");

        var build = c.Build(Plain).EnsureSuccess();
        var warnings = build.BuildLines.Where(l => l.Contains(": warning AK1101:", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, warnings.Count);
        Assert.All(warnings, w => Assert.Contains("tiny.onnx", w));
        Assert.DoesNotContain(build.Lines, l => l.Contains("autokernel: tuning", StringComparison.Ordinal));
        Assert.Equal("", File.ReadAllText(c.PathOf("autokernel/tiny.cpu.jsonl")));
        c.RunAndCompare([(item, model)]);
    }

    [Fact]
    public void A_design_time_build_never_tunes_and_leaves_the_real_build_its_tuning()
    {
        using var c = new Consumer(feed, "designtime");
        c.AddZooModel("tiny.onnx", Tiny, ImageSize, seed: 9);
        c.Write([new ConsumerModel("tiny.onnx", "Tiny", "Trials=\"2\"")]);

        // What an IDE runs on a fresh clone: no log, so a plan from fallback schedules, in a folder of its own.
        var design = c.Build([.. Plain, "-p:DesignTimeBuild=true"]).EnsureSuccess();
        Assert.DoesNotContain(design.Lines, l => l.Contains("autokernel: tuning", StringComparison.Ordinal));
        Assert.False(File.Exists(c.PathOf("autokernel/tiny.cpu.jsonl")));
        Assert.True(File.Exists(c.PathOf("obj/Release/net10.0/autokernel/design/Consumer.Tiny.akplan.json")));

        var real = c.Build(Plain).EnsureSuccess();
        Assert.Contains(real.Lines, l => l.Contains("autokernel: tuning 3 of 3 tasks", StringComparison.Ordinal));
        Assert.True(File.Exists(c.PathOf("obj/Release/net10.0/autokernel/Consumer.Tiny.akplan.json")));

        // Once a real plan exists, a design-time build uses it and starts no tool.
        var again = c.Build([.. Plain, "-p:DesignTimeBuild=true"]).EnsureSuccess();
        Assert.DoesNotContain(again.Lines, l => l.Contains("autokernel: ", StringComparison.Ordinal));
    }

    [Fact]
    public void A_malformed_model_is_one_error_naming_the_file()
    {
        using var c = new Consumer(feed, "malformed");
        File.WriteAllText(c.PathOf("broken.onnx"), "this is not a protobuf message");
        c.Write([new ConsumerModel("broken.onnx", "Broken")]);

        var build = c.Build(Plain);
        Assert.NotEqual(0, build.ExitCode);
        var error = Assert.Single(build.BuildLines, l => l.Contains(": error ", StringComparison.Ordinal));
        Assert.Contains("error AK1001:", error);
        Assert.Contains(c.PathOf("broken.onnx"), error);
        Assert.DoesNotContain(build.Lines, l => l.Contains("   at ", StringComparison.Ordinal));
        Assert.False(Directory.Exists(c.PathOf("obj/Release/net10.0/autokernel")) && Directory.GetFiles(c.PathOf("obj/Release/net10.0/autokernel"), "*.akplan.json").Length > 0);
    }

    [Fact]
    public void An_unsupported_operator_is_one_error_naming_the_node_and_the_operator()
    {
        const string op = "Det";
        Assert.False(ModelPipeline.IsSupported("", op), $"{op} became supported: pick another operator for this test");
        using var c = new Consumer(feed, "unsupported");
        var b = new ModelBuilder("with_det");
        string x = b.Input("x", DataType.Float, 1, 3, 3);
        string r = b.Node("Relu", [x], name: "relu");
        string d = b.Node(op, [r], name: "determinant");
        b.Output(d, DataType.Float, [1]);
        File.WriteAllBytes(c.PathOf("det.onnx"), b.Build().ToByteArray());
        c.Write([new ConsumerModel("det.onnx", "Det")]);

        var build = c.Build(Plain);
        Assert.NotEqual(0, build.ExitCode);
        var error = Assert.Single(build.BuildLines, l => l.Contains(": error ", StringComparison.Ordinal));
        Assert.Contains("error AK1002:", error);
        Assert.Contains("det.onnx", error);
        Assert.Contains("'determinant'", error);
        Assert.Contains(op, error);
    }

    [Fact]
    public void Two_models_one_with_its_weights_in_a_file_build_and_run()
    {
        using var c = new Consumer(feed, "two");
        string a = c.AddZooModel("a.onnx", Tiny, ImageSize, seed: 3);
        string b = c.AddZooModel("b.onnx", Tiny, ImageSize, seed: 4);
        var first = new ConsumerModel("a.onnx", "A");
        var second = new ConsumerModel("b.onnx", "Second", "ClassName=\"Second\" Weights=\"File\"");
        c.Write([first, second], "<AutoKernelTuning>Off</AutoKernelTuning>");

        c.Build(Plain).EnsureSuccess();
        string weightsFile = c.PathOf("bin/Release/net10.0/Consumer.Second.weights");
        Assert.True(File.Exists(weightsFile), "Weights=File copies the weights next to the assembly");
        Assert.False(File.Exists(c.PathOf("bin/Release/net10.0/Consumer.A.weights")), "embedded weights are not copied");
        c.RunAndCompare([(first, a), (second, b)]);

        // The class really reads the file: without it, it says where it looked.
        File.Delete(weightsFile);
        var run = c.Dotnet(["exec", c.PathOf("bin/Release/net10.0/Consumer.dll"), c.PathOf("input.bin"), c.PathOf("o0.bin"), c.PathOf("o1.bin")]);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains(weightsFile, run.Output);
    }

    [Fact]
    public void A_NativeAOT_publish_runs_and_matches()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux() && System.Runtime.InteropServices.RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.X64,
            "the NativeAOT check publishes for linux-x64");
        using var c = new Consumer(feed, "aot");
        string a = c.AddZooModel("a.onnx", Tiny, ImageSize, seed: 7);
        string b = c.AddZooModel("b.onnx", Tiny, ImageSize, seed: 8);
        var embedded = new ConsumerModel("a.onnx", "A");
        var file = new ConsumerModel("b.onnx", "B", "Weights=\"File\"");
        c.Write([embedded, file], "<AutoKernelTuning>Off</AutoKernelTuning><PublishAot>true</PublishAot>");

        var publish = c.Dotnet(["publish", "-c", "Release", "-r", "linux-x64", "-o", c.PathOf("native"), "-nr:false", .. Plain]);
        output.WriteLine($"NativeAOT publish: {publish.Elapsed.TotalSeconds:F1} s");
        publish.EnsureSuccess();
        Assert.DoesNotContain(publish.Lines, l => l.Contains("warning IL", StringComparison.Ordinal));
        Assert.True(File.Exists(c.PathOf("native/Consumer.B.weights")), "Weights=File is published next to the executable");
        // The kernels were tuned for this machine's vectors: the targets compile for its instruction set.
        string rsp = Directory.GetFiles(c.PathOf("obj"), "*.ilc.rsp", SearchOption.AllDirectories).Single();
        Assert.Contains("--instruction-set:native", File.ReadAllText(rsp));
        c.RunAndCompare([(embedded, a), (file, b)], executable: c.PathOf("native/Consumer"));
    }

    [Fact]
    public void Ctrl_c_stops_tuning_with_the_log_intact_and_the_next_build_resumes()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "sends SIGINT through /proc and kill(1)");
        using var c = new Consumer(feed, "interrupt");
        string model = c.AddZooModel("tiny.onnx", Tiny, ImageSize, seed: 6);
        // 96 trials a task: the two tasks left after the signal take long enough that, on a loaded
        // machine, the progress line still reaches this test while the tool is tuning.
        const int trials = 96;
        var item = new ConsumerModel("tiny.onnx", "Tiny", $"Trials=\"{trials}\"");
        c.Write([item]);

        // Ctrl+C is SIGINT. A process that starts with SIGINT ignored (a background job of a
        // non-interactive shell) passes that on to its children, and .NET keeps an inherited
        // ignore; then SIGTERM, which the tool handles the same way, stands in for it.
        string signal = TestSupport.ProcessSignals.Ignored(TestSupport.ProcessSignals.SigInt) ? "-TERM" : "-INT";
        output.WriteLine($"signal: {signal}");
        bool sent = false;
        string? interruptFailure = null;
        var interrupted = Dotnet.Run(c.Folder, ["build", "-c", "Release", "-nr:false", .. Plain], onLine: (line, _) =>
        {
            // After the first task: the tool is measuring the second one.
            if (!sent && line.Contains("autokernel: task 1/3", StringComparison.Ordinal))
            {
                sent = true;
                try
                {
                    Interrupt(c.Folder, signal);
                }
                catch (InvalidOperationException e)
                {
                    interruptFailure = e.Message;
                }
            }
        });
        Assert.True(sent, interrupted.Output);
        Assert.Null(interruptFailure);
        Assert.True(interrupted.ExitCode != 0, "the interrupted build succeeded:\n" + interrupted.Output);
        var error = Assert.Single(interrupted.BuildLines, l => l.Contains(": error ", StringComparison.Ordinal));
        Assert.Contains("AK1013", error);
        string log = c.PathOf("autokernel/tiny.cpu.jsonl");
        var partial = RecordLog.Load(log);
        Assert.Empty(partial.Warnings);
        Assert.InRange(partial.Records.Count, trials, 3 * trials - 1);
        var keys = partial.Records.Select(Trial).ToHashSet();

        var resumed = c.Build(Plain).EnsureSuccess();
        Assert.Contains(resumed.Lines, l => l.Contains("autokernel: tuning 2 of 3 tasks", StringComparison.Ordinal) || l.Contains("autokernel: tuning 3 of 3 tasks", StringComparison.Ordinal));
        var full = RecordLog.Load(log);
        Assert.True(full.Records.Count > partial.Records.Count);
        Assert.Empty(full.Warnings);
        // Nothing measured before the interruption was measured again.
        Assert.Equal(full.Records.Count, full.Records.Select(Trial).Distinct().Count());
        Assert.Subset(full.Records.Select(Trial).ToHashSet(), keys);
        c.RunAndCompare([(item, model)]);

        // The budget is spent (or a small space exhausted): a forced rerun of the tool tunes nothing.
        File.SetLastWriteTimeUtc(model, DateTime.UtcNow);
        var third = c.Build(Plain).EnsureSuccess();
        Assert.DoesNotContain(third.Lines, l => l.Contains("autokernel: tuning", StringComparison.Ordinal));
        Assert.Contains(third.Lines, l => l.Contains("autokernel: tiny.onnx: ", StringComparison.Ordinal));
        Assert.Equal(full.Records.Count, RecordLog.Load(log).Records.Count);
    }

    /// <summary>
    /// What names one trial: a configuration index is per template, and a workload's templates
    /// share indices (two templates' #17 are two different schedules).
    /// </summary>
    private static (string Workload, string Template, long Config) Trial(TuningRecord r) => (r.WorkloadKey, r.Template, r.ConfigIndex);

    /// <summary><paramref name="signal"/> (as kill(1) spells it) to the `autokernel build` process started for the project in <paramref name="folder"/>.</summary>
    private static void Interrupt(string folder, string signal)
    {
        foreach (string dir in Directory.GetDirectories("/proc"))
        {
            string[] argv;
            try
            {
                argv = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0', StringSplitOptions.RemoveEmptyEntries);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            // The tool itself: `dotnet exec ... autokernel.dll @rsp`, argument by argument (a shell
            // or another process that merely mentions the tool on its command line does not match).
            if (argv.Contains("exec") && argv.Any(a => a.EndsWith("autokernel.dll", StringComparison.Ordinal)) && argv.Any(a => a.StartsWith('@'))
                && Cwd(dir) == folder)
            {
                using var kill = Process.Start("kill", [signal, Path.GetFileName(dir)]);
                kill.WaitForExit();
                return;
            }
        }
        throw new InvalidOperationException("the autokernel build process was not found");
    }

    private static string? Cwd(string procDir)
    {
        try
        {
            return new DirectoryInfo(Path.Combine(procDir, "cwd")).ResolveLinkTarget(returnFinalTarget: true)?.FullName;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
