using System.CommandLine;
using AutoKernel.Build.Bench;

namespace AutoKernel.Build.Cli;

/// <summary>
/// `autokernel generated-time PLAN WEIGHTS --threads N --warmup W --repeat R --min-repeat-ms M [--seed S]`:
/// the hidden child of <see cref="GeneratedTiming.Measure"/>. Builds the generated model from the
/// files `autokernel compile` wrote, times it in this process alone, profiles its step kinds and
/// prints one JSON line (<see cref="GeneratedTimingResult"/>, snake_case) on stdout.
/// </summary>
public static class GeneratedTimeCommand
{
    public static Command Create(TextWriter stdout)
    {
        var plan = new Argument<string>("plan") { Description = "The NAME.akplan.json file." };
        var weights = new Argument<string>("weights") { Description = "The NAME.weights file." };
        var timing = new TimingCli("Threads of the model's pool (0: the tuned thread count).");
        var command = new Command(GeneratedTiming.CommandName, "Time a generated model in this process and print one JSON line (internal).")
        {
            plan, weights,
        };
        timing.AddTo(command);
        command.SetAction(parse =>
        {
            var options = timing.Read(parse);
            GeneratedTiming.RunChild(parse.GetValue(plan)!, parse.GetValue(weights)!, parse.GetValue(timing.Threads), options, stdout);
            return 0;
        });
        return command;
    }
}
