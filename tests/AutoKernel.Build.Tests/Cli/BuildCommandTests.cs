using AutoKernel.Build.Cli;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Records;
using AutoKernel.Build.Tests.Support;
using AutoKernel.Generator.Plans;

namespace AutoKernel.Build.Tests.Cli;

/// <summary>
/// `autokernel build`, what the MSBuild task runs: tuning modes, and every problem as one canonical
/// MSBuild diagnostic ("origin: error AKnnnn: text") with nothing half-written.
/// </summary>
public sealed class BuildCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string SmallModel()
    {
        string model = _dir.File("small.onnx");
        File.WriteAllBytes(model, Google.Protobuf.MessageExtensions.ToByteArray(TestNets.SmallConvNet()));
        return model;
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private CliResult Build(string model, params string[] extra) =>
        Support.Cli.Run(["build", model, "--log", _dir.File("logs/small.cpu.jsonl"), "-o", _dir.File("out"), "--name", "App.Small", "--threads", "2", .. extra]);

    [Fact]
    public void Tuning_off_compiles_with_one_fallback_warning_per_task_and_writes_no_log()
    {
        string model = SmallModel();
        var result = Build(model, "--tuning", "off");
        Assert.True(result.ExitCode == 0, result.Error);
        var warnings = Lines(result.Error);
        Assert.Equal(3, warnings.Length);
        Assert.All(warnings, w => Assert.StartsWith(model + ": warning AK1101: ", w, StringComparison.Ordinal));
        Assert.Contains(Lines(result.Out), l => l.StartsWith(BuildCommand.ProgressPrefix + "small.onnx: ", StringComparison.Ordinal) && l.Contains("3 on fallback schedules", StringComparison.Ordinal));
        Assert.True(File.Exists(_dir.File("out/App.Small" + PlanFormat.FileSuffix)));
        Assert.True(File.Exists(_dir.File("out/App.Small.weights")));
        Assert.False(File.Exists(_dir.File("logs/small.cpu.jsonl")));
    }

    [Fact]
    public void Auto_tunes_what_the_log_lacks_once_and_force_tunes_again()
    {
        string model = SmallModel();
        string log = _dir.File("logs/small.cpu.jsonl");
        var first = Build(model, "--trials", "2");
        Assert.True(first.ExitCode == 0, first.Error);
        Assert.Contains(Lines(first.Out), l => l.StartsWith(BuildCommand.ProgressPrefix + "tuning 3 of 3 tasks", StringComparison.Ordinal));
        Assert.Equal(3, Lines(first.Out).Count(l => l.StartsWith(BuildCommand.ProgressPrefix + "task ", StringComparison.Ordinal)));
        Assert.Empty(Lines(first.Error));
        Assert.Equal(6, RecordLog.Load(log).Records.Count);

        var again = Build(model, "--trials", "2");
        Assert.True(again.ExitCode == 0, again.Error);
        Assert.DoesNotContain(Lines(again.Out), l => l.StartsWith(BuildCommand.ProgressPrefix + "tuning", StringComparison.Ordinal));
        Assert.Contains("nothing to tune", again.Out, StringComparison.Ordinal);
        Assert.Equal(6, RecordLog.Load(log).Records.Count);

        var forced = Build(model, "--trials", "1", "--tuning", "force");
        Assert.True(forced.ExitCode == 0, forced.Error);
        Assert.Equal(9, RecordLog.Load(log).Records.Count);
    }

    [Fact]
    public void Two_builds_tuning_one_log_at_once_take_turns_and_measure_each_task_once()
    {
        // What a multi-targeted project does: one inner build per framework, one log, at the same time.
        string model = SmallModel();
        string log = _dir.File("logs/small.cpu.jsonl");
        string tool = Path.Combine(AppContext.BaseDirectory, "autokernel.dll");
        var builds = new[] { "a", "b" }.Select(name =>
        {
            var info = new System.Diagnostics.ProcessStartInfo(Environment.ProcessPath!.EndsWith("dotnet", StringComparison.Ordinal) ? Environment.ProcessPath : "dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (string arg in new[] { "exec", tool, "build", model, "--log", log, "-o", _dir.File("out-" + name), "--trials", "2", "--threads", "2" })
                info.ArgumentList.Add(arg);
            var process = System.Diagnostics.Process.Start(info)!;
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEndAsync();
            return (process, stdout, stderr);
        }).ToList();
        var results = builds.Select(b =>
        {
            Assert.True(b.process.WaitForExit(TimeSpan.FromMinutes(5)));
            return new CliResult(b.process.ExitCode, b.stdout.Result, b.stderr.Result);
        }).ToList();
        foreach (var b in builds)
            b.process.Dispose();

        Assert.All(results, r => Assert.True(r.ExitCode == 0, r.Error));
        Assert.Single(results, r => r.Out.Contains(BuildCommand.ProgressPrefix + "tuning 3 of 3 tasks", StringComparison.Ordinal));
        Assert.Single(results, r => r.Out.Contains("nothing to tune", StringComparison.Ordinal));
        var records = RecordLog.Load(log);
        Assert.Empty(records.Warnings);
        Assert.Equal(6, records.Records.Count);
        Assert.True(File.Exists(_dir.File("out-a/small" + PlanFormat.FileSuffix)) && File.Exists(_dir.File("out-b/small" + PlanFormat.FileSuffix)));
    }

    [Fact]
    public void A_malformed_model_is_AK1001_naming_the_file_and_writes_nothing()
    {
        string model = _dir.File("broken.onnx");
        File.WriteAllText(model, "not a protobuf message at all");
        var result = Build(model);
        Assert.Equal(1, result.ExitCode);
        string line = Assert.Single(Lines(result.Error));
        Assert.StartsWith(model + ": error AK1001: ", line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_dir.File("out")));
    }

    [Fact]
    public void An_operator_that_cannot_be_compiled_is_AK1002_naming_the_node_and_the_operator()
    {
        // Where with a condition computed at run time: a bool tensor, which generated kernels do not carry.
        var b = new ModelBuilder("where");
        string x = b.Input("x", DataType.Float, 2, 3);
        string zero = b.Initializer("zero", Tensor.Scalar(0f));
        string positive = b.Node("Greater", [x, zero], name: "is_positive");
        b.Output(b.Node("Where", [positive, x, zero], name: "select"));
        string model = _dir.File("where.onnx");
        b.Save(model);
        var result = Build(model, "--tuning", "off");
        Assert.Equal(1, result.ExitCode);
        string line = Assert.Single(Lines(result.Error));
        Assert.StartsWith(model + ": error AK1002: node 'is_positive' (Greater", line, StringComparison.Ordinal);
        Assert.False(File.Exists(_dir.File("out/App.Small" + PlanFormat.FileSuffix)));
    }

    [Fact]
    public void A_dynamic_input_without_a_shape_is_AK1003_and_InputShapes_fixes_it()
    {
        var b = new ModelBuilder("dynamic");
        string x = b.Input("x", DataType.Float, "batch", 8);
        b.Output(b.Node("Relu", [x], name: "relu"));
        string model = _dir.File("dynamic.onnx");
        b.Save(model);
        var result = Build(model, "--tuning", "off");
        Assert.Equal(1, result.ExitCode);
        string line = Assert.Single(Lines(result.Error));
        Assert.StartsWith(model + ": error AK1003: ", line, StringComparison.Ordinal);
        Assert.Contains("InputShapes=x=1,8", line, StringComparison.Ordinal);

        var fixedShape = Build(model, "--tuning", "off", "--input-shape", "x=4,8");
        Assert.True(fixedShape.ExitCode == 0, fixedShape.Error);
    }

    [Fact]
    public void A_broken_log_is_AK1004_at_the_log_line()
    {
        string model = SmallModel();
        Directory.CreateDirectory(_dir.File("logs"));
        File.WriteAllText(_dir.File("logs/small.cpu.jsonl"), "\nnot json at all\n");
        var result = Build(model, "--tuning", "off");
        Assert.Equal(1, result.ExitCode);
        string line = Assert.Single(Lines(result.Error));
        Assert.StartsWith(_dir.File("logs/small.cpu.jsonl") + "(2): error AK1004: ", line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_dir.File("out")));
    }

    [Theory]
    [InlineData("--tuning", "sometimes", "AutoKernelTuning 'sometimes'")]
    [InlineData("--target", "cuda", "Device 'cuda'")]
    [InlineData("--trials", "0", "Trials 0")]
    [InlineData("--tuner", "magic", "Tuner 'magic'")]
    public void An_invalid_option_is_AK1005(string option, string value, string expected)
    {
        string model = SmallModel();
        var result = Build(model, option, value);
        Assert.Equal(1, result.ExitCode);
        string line = Assert.Single(Lines(result.Error));
        Assert.StartsWith(model + ": error AK1005: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
    }

    [Fact]
    public void The_estimate_grows_with_tasks_and_trials_and_matches_the_measured_resnet18()
    {
        // ResNet-18's default budget took 545 s on 2 cores: the first build's estimate should say about 9 minutes.
        // 10 s to start, 1 s a task, 0.22 s a trial: 10 + 12 + 0.22 x 2400 = 550.
        Assert.Equal(550, BuildCommand.EstimatedSeconds(12, 2400), 9);
        Assert.InRange(BuildCommand.EstimatedSeconds(12, 2400), 545 * 0.9, 545 * 1.1);
        // 10 + 3 + 0.22 x 24 = 18.28; 10 + 3 + 0.22 x 240 = 65.8; 10 + 30 + 0.22 x 24 = 45.28.
        Assert.Equal(18.28, BuildCommand.EstimatedSeconds(3, 24), 9);
        Assert.Equal(65.8, BuildCommand.EstimatedSeconds(3, 240), 9);
        Assert.Equal(45.28, BuildCommand.EstimatedSeconds(30, 24), 9);
    }
}
