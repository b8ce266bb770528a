using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using AutoKernel.Build.Compile;
using AutoKernel.Build.Limits;
using AutoKernel.Build.Records;
using AutoKernel.Build.Targets;

namespace AutoKernel.Build.Cli;

/// <summary>`autokernel compile MODEL --log LOG -o DIR`: the plan and the packed weights for the source generator.</summary>
public static class CompileCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var model = CommandLine.ModelArgument();
        var shapes = CommandLine.InputShapeOption();
        var log = new Option<string?>("--log") { Description = "The tuning log whose best records choose the schedules (absent or empty: fallback schedules, with a warning per task)." };
        var threads = new Option<int>("--threads") { Description = "Thread count the records were tuned with (0: one per logical processor, as tune's default).", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--output", "-o") { Description = "Folder for NAME.akplan.json and NAME.weights.", Required = true };
        var name = new Option<string?>("--name") { Description = "NAME of the output files (default: the model file's name)." };
        var memoryLimit = CommandLine.MemoryLimitOption();
        var foldLimit = CommandLine.FoldLimitOption();
        var command = new Command("compile", "Compile a model and its tuning log into a plan (for the source generator) and a packed weights file.")
        {
            model, shapes, log, threads, output, name, memoryLimit, foldLimit,
        };
        command.SetAction(parse =>
        {
            string path = parse.GetValue(model)!;
            var clock = Stopwatch.StartNew();
            using var scope = MemoryBudget.Use(CommandLine.Budget(parse, memoryLimit, foldLimit));
            var loaded = ModelPipeline.Load(path, CommandLine.InputShapes(parse, shapes));
            var records = parse.GetValue(log) is { } logPath ? RecordLog.Load(logPath) : RecordLog.Empty;
            foreach (string warning in records.Warnings)
                stderr.WriteLine("warning: " + warning);
            var compiled = ModelCompiler.Compile(loaded, records, CpuTargets.Host(parse.GetValue(threads)));
            foreach (var warning in compiled.Warnings)
                stderr.WriteLine("warning: " + warning);
            var (plan, weights) = CompileOutput.Write(compiled, parse.GetValue(output)!, parse.GetValue(name) ?? CompileOutput.NameOf(path));
            compiled.Report.Write(stdout);
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {plan} and {weights} in {clock.Elapsed.TotalSeconds:F1} s"));
            return 0;
        });
        return command;
    }
}
