using System.CommandLine;
using AutoKernel.Build.Bench;

namespace AutoKernel.Build.Cli;

/// <summary>The options and argument check the hidden timing children (`ort-time`, `generated-time`) share.</summary>
internal sealed class TimingCli
{
    public Option<int> Threads { get; }

    public Option<int> Warmup { get; } = new("--warmup") { Description = "Untimed runs first (at least 1).", DefaultValueFactory = _ => 1 };

    public Option<int> Repeat { get; } = new("--repeat") { Description = "Timed repeats.", DefaultValueFactory = _ => 5 };

    public Option<int> MinRepeatMs { get; } = new("--min-repeat-ms") { Description = "Shortest duration of one repeat.", DefaultValueFactory = _ => 50 };

    public Option<int> Seed { get; } = new("--seed") { Description = "Seed of the inputs.", DefaultValueFactory = _ => 1 };

    public TimingCli(string threadsDescription) =>
        Threads = new Option<int>("--threads") { Description = threadsDescription, DefaultValueFactory = _ => 1 };

    public void AddTo(Command command)
    {
        command.Options.Add(Threads);
        command.Options.Add(Warmup);
        command.Options.Add(Repeat);
        command.Options.Add(MinRepeatMs);
        command.Options.Add(Seed);
        command.Hidden = true;
    }

    /// <summary>The checked options; throws <see cref="ModelException"/> on values out of range.</summary>
    public OrtTimingOptions Read(ParseResult parse)
    {
        if (parse.GetValue(Threads) < 0 || parse.GetValue(Warmup) < 1 || parse.GetValue(Repeat) < 1 || parse.GetValue(MinRepeatMs) < 0)
            throw new ModelException("--threads and --min-repeat-ms must be at least 0, --warmup and --repeat at least 1");
        return new OrtTimingOptions
        {
            Warmup = parse.GetValue(Warmup),
            Repeat = parse.GetValue(Repeat),
            MinRepeatMs = parse.GetValue(MinRepeatMs),
            Seed = parse.GetValue(Seed),
        };
    }
}
