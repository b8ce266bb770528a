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
        var timing = new TimingCli("Intra-op threads (0: ONNX Runtime's default).");
        var command = new Command(OrtTiming.CommandName, "Time ONNX Runtime on a model in this process and print one JSON line (internal).")
        {
            model, shapes,
        };
        timing.AddTo(command);
        command.SetAction(parse =>
        {
            var options = timing.Read(parse) with { InputShapes = CommandLine.InputShapes(parse, shapes) };
            OrtTiming.RunChild(parse.GetValue(model)!, parse.GetValue(timing.Threads), options, stdout);
            return 0;
        });
        return command;
    }
}
