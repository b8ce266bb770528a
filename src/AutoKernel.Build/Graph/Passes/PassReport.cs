using System.Text;

namespace AutoKernel.Build.Graph.Passes;

/// <summary>What each graph pass did, in order, for `autokernel inspect` and the build log.</summary>
public sealed class PassReport
{
    private readonly List<(string Pass, string Summary)> _entries = [];

    public IReadOnlyList<(string Pass, string Summary)> Entries => _entries;

    public void Add(string pass, string summary) => _entries.Add((pass, summary));

    /// <summary>Adds "N changes (Op a, Op b)" from a per-key tally, or "nothing to do".</summary>
    public void AddCounts(string pass, string verb, IReadOnlyDictionary<string, int> counts)
    {
        int total = counts.Values.Sum();
        Add(pass, total == 0
            ? "nothing to do"
            : $"{verb} {total} ({string.Join(", ", counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value}"))})");
    }

    public override string ToString()
    {
        var sb = new StringBuilder();
        foreach (var (pass, summary) in _entries)
            sb.Append(pass.PadRight(22)).Append(summary).AppendLine();
        return sb.ToString();
    }
}

/// <summary>A tally keyed by operator type.</summary>
public sealed class OpTally : Dictionary<string, int>
{
    public OpTally() : base(StringComparer.Ordinal) { }

    public void Tally(string key) => this[key] = TryGetValue(key, out int n) ? n + 1 : 1;
}
