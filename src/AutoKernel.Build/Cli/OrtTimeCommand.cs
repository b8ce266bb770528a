using System.CommandLine;
using AutoKernel.Build.Bench;

namespace AutoKernel.Build.Cli;

/// <summary>
/// `autokernel ort-time MODEL --threads N --warmup W --repeat R --min-repeat-ms M [--input-shape ...] [--seed S]`:
/// the hidden child of <see cref="OrtTiming.Measure"/>. Times ONNX Runtime on the model in this
/// process alone and prints one JSON line (<see cref="OrtTimingResult"/>, snake_case) on stdout.
/// </summary>
public static class OrtTimeCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = CommandLine.ModelArgument();
        var shapes = CommandLine.InputShapeOption();
        var threads = new Option<int>("--threads") { Description = "Intra-op threads (0: ONNX Runtime's default).", DefaultValueFactory = _ => 1 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed runs first (at least 1).", DefaultValueFactory = _ => 1 };
        var repeat = new Option<int>("--repeat") { Description = "Timed repeats.", DefaultValueFactory = _ => 5 };
        var minRepeatMs = new Option<int>("--min-repeat-ms") { Description = "Shortest duration of one repeat.", DefaultValueFactory = _ => 50 };
        var seed = new Option<int>("--seed") { Description = "Seed of the inputs.", DefaultValueFactory = _ => 1 };
        var command = new Command(OrtTiming.CommandName, "Time ONNX Runtime on a model in this process and print one JSON line (internal).")
        {
            model, shapes, threads, warmup, repeat, minRepeatMs, seed,
        };
        command.Hidden = true;
        command.SetAction(parse =>
        {
            if (parse.GetValue(threads) < 0 || parse.GetValue(warmup) < 1 || parse.GetValue(repeat) < 1 || parse.GetValue(minRepeatMs) < 0)
                throw new ModelException("--threads and --min-repeat-ms must be at least 0, --warmup and --repeat at least 1");
            var options = new OrtTimingOptions
            {
                Warmup = parse.GetValue(warmup),
                Repeat = parse.GetValue(repeat),
                MinRepeatMs = parse.GetValue(minRepeatMs),
                Seed = parse.GetValue(seed),
                InputShapes = CommandLine.InputShapes(parse, shapes),
            };
            OrtTiming.RunChild(parse.GetValue(model)!, parse.GetValue(threads), options, stdout);
            return 0;
        });
        return command;
    }
}
