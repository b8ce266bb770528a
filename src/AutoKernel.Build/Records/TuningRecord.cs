using System.Reflection;
using AutoKernel.Build.Measure;
using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Schedules;

namespace AutoKernel.Build.Records;

/// <summary>
/// One measurement of one configuration, as one line of a tuning log (see <see cref="RecordFormat"/>
/// for the text form and <see cref="RecordLog"/> for the file). A task is identified by
/// (<see cref="Target"/>, <see cref="Threads"/>, <see cref="WorkloadKey"/>); within it a
/// configuration by (<see cref="Template"/>, <see cref="ConfigIndex"/>).
/// </summary>
public sealed record TuningRecord
{
    /// <summary>The format version this build writes and the newest it reads.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Longest <see cref="Message"/> a record holds, in UTF-16 code units (see <see cref="CleanMessage"/>).</summary>
    public const int MaxMessageLength = 500;

    public int Version { get; init; } = CurrentVersion;

    /// <summary><see cref="CpuTarget.Description"/>: ISA and CPU model, e.g. "x64 AVX-512, AMD EPYC 9654 96-Core Processor".</summary>
    public required string Target { get; init; }

    /// <summary><see cref="CpuTarget.Cores"/> when measuring; tuning with 1 and with 2 threads gives different winners.</summary>
    public required int Threads { get; init; }

    /// <summary>The workload's <c>Key</c>.</summary>
    public required string WorkloadKey { get; init; }

    /// <summary>The kernel template, e.g. "conv2d_nchwc".</summary>
    public required string Template { get; init; }

    /// <summary>The configuration's index in the template's <see cref="ConfigSpace"/>.</summary>
    public required long ConfigIndex { get; init; }

    /// <summary>
    /// Knob name → the chosen entry's values, in the space's declaration order when written by
    /// <see cref="FromResult"/> and in file order when read. The index alone identifies the
    /// configuration; the values make the log readable and let a changed space be detected.
    /// </summary>
    public required IReadOnlyDictionary<string, int[]> Knobs { get; init; }

    /// <summary>Seconds per run, one entry per repeat; empty on error.</summary>
    public required double[] Costs { get; init; }

    public required MeasureError Error { get; init; }

    /// <summary>
    /// The error message, one line of at most <see cref="MaxMessageLength"/> characters; null when
    /// there is none. Every record enforces this: whatever is assigned (by <see cref="FromResult"/>,
    /// by <see cref="RecordFormat.Parse(string)"/>, by an initializer or a <c>with</c>) is stored as
    /// <see cref="CleanMessage"/> makes it, so no path can write a longer or multi-line message.
    /// </summary>
    public string? Message
    {
        get => _message;
        init => _message = CleanMessage(value);
    }

    private readonly string? _message;

    /// <summary>Wall-clock cost of the trial: the candidate's share of its batch's compile time plus its run.</summary>
    public required double TrialSeconds { get; init; }

    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>The autokernel version that measured it (<see cref="CurrentToolVersion"/> at the time).</summary>
    public required string ToolVersion { get; init; }

    /// <summary>Mean of <see cref="Costs"/>; +∞ when the record is not <see cref="IsValid"/>.</summary>
    public double MeanCost => IsValid ? Costs.Average() : double.PositiveInfinity;

    /// <summary>Measured without error, with at least one cost.</summary>
    public bool IsValid => Error == MeasureError.None && Costs.Length > 0;

    /// <summary>
    /// This assembly's informational version, build metadata included (e.g. "0.1.0+611b8c87..."):
    /// the commit identifies the emitters that produced the measured code.
    /// </summary>
    public static string CurrentToolVersion { get; } =
        typeof(TuningRecord).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(TuningRecord).Assembly.GetName().Version?.ToString()
        ?? "unknown";

    /// <summary>
    /// The record of a measurement. <paramref name="config"/> must be the candidate's configuration
    /// (same template and index). Costs are dropped on error; the message is made one line and cut
    /// to <see cref="MaxMessageLength"/>.
    /// </summary>
    public static TuningRecord FromResult(MeasureResult result, Config config, CpuTarget target, DateTimeOffset timestamp)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(target);
        var candidate = result.Candidate;
        if (config.Index != candidate.ConfigIndex || !string.Equals(config.Space.Template, candidate.Template, StringComparison.Ordinal))
        {
            throw new ArgumentException(
                $"the configuration ({config.Space.Template} #{config.Index}) is not the candidate's ({candidate.Template} #{candidate.ConfigIndex})",
                nameof(config));
        }

        var knobs = new OrderedDictionary<string, int[]>(StringComparer.Ordinal);
        for (int i = 0; i < config.Space.Knobs.Count; i++)
        {
            var knob = config.Space.Knobs[i];
            knobs.Add(knob.Name, knob[config.Choices[i]].ToArray());
        }

        return new TuningRecord
        {
            Target = target.Description,
            Threads = target.Cores,
            WorkloadKey = candidate.Workload.Key,
            Template = candidate.Template,
            ConfigIndex = config.Index,
            Knobs = knobs,
            Costs = result.Error == MeasureError.None ? result.Costs.ToArray() : [],
            Error = result.Error,
            Message = result.Message,
            TrialSeconds = result.BuildSeconds + result.RunSeconds,
            Timestamp = timestamp,
            ToolVersion = CurrentToolVersion,
        };
    }

    /// <summary>
    /// A message as a record keeps it: line breaks become spaces, surrounding blanks go, and text
    /// beyond <see cref="MaxMessageLength"/> is cut (never inside a surrogate pair) and ends with "…".
    /// Null or blank gives null.
    /// </summary>
    public static string? CleanMessage(string? message)
    {
        if (string.IsNullOrWhiteSpace(message))
            return null;
        string text = message.ReplaceLineEndings(" ").Trim();
        if (text.Length <= MaxMessageLength)
            return text;
        int cut = MaxMessageLength - 1;
        if (char.IsHighSurrogate(text[cut - 1]))
            cut--;
        return string.Concat(text.AsSpan(0, cut), "…");
    }
}
