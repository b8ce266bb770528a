using System.CommandLine;
using AutoKernel.Build.Bench;
using AutoKernel.Build.Compare;
using AutoKernel.Build.Onnx;

namespace AutoKernel.Build.Cli;

/// <summary>
/// `autokernel bench-model MODEL [--log LOG] --threads 1 --threads 2 [--repeat R] [--min-repeat-ms M] [--csv FILE]`:
/// the generated model against ONNX Runtime, each timed in a child process of its own (<see cref="ModelBench"/>).
/// </summary>
public static class BenchModelCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var model = CommandLine.ModelArgument();
        var shapes = CommandLine.InputShapeOption();
        var log = new Option<string?>("--log") { Description = "The tuning log whose best records choose the schedules (absent: fallback schedules, with a warning per task)." };
        var threads = new Option<int[]>("--threads") { Description = "A thread count to compare at (repeatable; default 1). Records are chosen for it, and both engines use it.", AllowMultipleArgumentsPerToken = false };
        // 50: .NET promotes a method to fully optimized code after 30 calls (tiered compilation), so the
        // first few dozen runs of a generated model in a fresh process are slower than its steady state.
        var warmup = new Option<int>("--warmup") { Description = "Untimed runs before calibration, on both sides (at least 1; the default lets .NET's tiered JIT reach optimized code).", DefaultValueFactory = _ => 50 };
        var repeat = new Option<int>("--repeat") { Description = "Timed repeats per engine.", DefaultValueFactory = _ => 5 };
        var minRepeatMs = new Option<int>("--min-repeat-ms") { Description = "AutoTVM's min_repeat_ms: runs per repeat grow until a repeat lasts this long.", DefaultValueFactory = _ => 100 };
        var seed = new Option<int>("--seed") { Description = "Seed of the inputs.", DefaultValueFactory = _ => 1 };
        var csv = new Option<string?>("--csv") { Description = "Also write one row per (threads, engine, repeat) to this CSV file." };
        var command = new Command("bench-model", "Time the generated model against ONNX Runtime on this machine, each in its own process.")
        {
            model, shapes, log, threads, warmup, repeat, minRepeatMs, seed, csv,
        };
        command.SetAction(parse =>
        {
            OrtRunner.EnsureAvailable();
            if (parse.GetValue(warmup) < 1 || parse.GetValue(repeat) < 1 || parse.GetValue(minRepeatMs) < 0)
                throw new ModelException("--warmup and --repeat must be at least 1, --min-repeat-ms at least 0");
            int[] counts = parse.GetValue(threads) is { Length: > 0 } given ? given : [1];
            var options = new ModelBenchOptions
            {
                Threads = counts,
                LogPath = parse.GetValue(log),
                Timing = new OrtTimingOptions
                {
                    Warmup = parse.GetValue(warmup),
                    Repeat = parse.GetValue(repeat),
                    MinRepeatMs = parse.GetValue(minRepeatMs),
                    Seed = parse.GetValue(seed),
                    InputShapes = CommandLine.InputShapes(parse, shapes),
                },
            };
            var results = ModelBench.Run(parse.GetValue(model)!, options, stdout, stderr);
            if (parse.GetValue(csv) is { } csvPath)
            {
                byte[] bytes = System.Text.Encoding.UTF8.GetBytes(ModelBench.Csv(results));
                ModelFiles.WriteAtomically(csvPath, s => s.Write(bytes));
                stdout.WriteLine($"wrote {csvPath}");
            }
            return 0;
        });
        return command;
    }
}
