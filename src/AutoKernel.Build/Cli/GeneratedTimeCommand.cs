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
        var threads = new Option<int>("--threads") { Description = "Threads of the model's pool (0: the tuned thread count).", DefaultValueFactory = _ => 1 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed runs first (at least 1).", DefaultValueFactory = _ => 1 };
        var repeat = new Option<int>("--repeat") { Description = "Timed repeats.", DefaultValueFactory = _ => 5 };
        var minRepeatMs = new Option<int>("--min-repeat-ms") { Description = "Shortest duration of one repeat.", DefaultValueFactory = _ => 50 };
        var seed = new Option<int>("--seed") { Description = "Seed of the inputs.", DefaultValueFactory = _ => 1 };
        var command = new Command(GeneratedTiming.CommandName, "Time a generated model in this process and print one JSON line (internal).")
        {
            plan, weights, threads, warmup, repeat, minRepeatMs, seed,
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
            };
            GeneratedTiming.RunChild(parse.GetValue(plan)!, parse.GetValue(weights)!, parse.GetValue(threads), options, stdout);
            return 0;
        });
        return command;
    }
}
