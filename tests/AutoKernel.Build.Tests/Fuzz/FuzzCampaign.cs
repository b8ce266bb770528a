using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace AutoKernel.Build.Tests.Fuzz;

/// <summary>A fault class the fuzzer finds today whose fix belongs to another change: matched when the class key contains every fragment.</summary>
public sealed record KnownFault(string Reason, params string[] ClassContains);

/// <summary>
/// Fault classes that are known and open: their fixes are other parts of issue 10 (the memory budget,
/// attribute validation, numerics) being done in parallel. A fault whose class matches one of these
/// is reported ("known") but does not fail the CI campaign. The lead empties this list once those
/// fixes are merged (AUTOKERNEL_FUZZ_STRICT=1 ignores it, to check).
/// </summary>
public static class KnownOpen
{
    // Empty: the three classes the first campaigns found (a graph input larger than one array made
    // by `run`'s input generator; data shorter than its dims allocated before the check, raw and
    // typed) were fixed by the memory budget and the importer's duplicate-input check.
    public static readonly IReadOnlyList<KnownFault> Faults = [];

    public static KnownFault? Match(string faultClass) =>
        Environment.GetEnvironmentVariable("AUTOKERNEL_FUZZ_STRICT") == "1" ? null
        : Faults.FirstOrDefault(k => k.ClassContains.All(f => faultClass.Contains(f, StringComparison.Ordinal)));
}

/// <summary>One line of a campaign's report: a fault, with everything needed to replay it.</summary>
public sealed record FaultRecord(string Case, string SeedModel, string Mutations, string Kind, string Command, string Class, string Detail);

/// <summary>
/// Runs fuzz cases for a list of seeds within a time budget (shared equally between the seeds),
/// in this process, writing a line-oriented report as it goes so that a parent process can tell
/// which case was running if this one dies: "start ID" before each case, "fault JSON" for each
/// fault, "done ID CODES SECONDS MIB ERROR" after each case (exit codes of inspect and run, the
/// slowest command's time and allocation, the first error normalized), "seed S N" when a seed's share is spent (N cases), "end N SECONDS" at the end.
/// </summary>
public static class FuzzCampaign
{
    /// <param name="maxCasesPerSeed">Stop a seed after this many cases even with time left, so that a fast machine runs exactly the cases a slower one was checked with.</param>
    public static void Run(IReadOnlyList<int> seeds, TimeSpan budget, int maxCasesPerSeed, TextWriter report, string workFolder, string? keepFolder)
    {
        var clock = Stopwatch.StartNew();
        int total = 0;
        string caseFolder = Path.Combine(workFolder, "case");
        for (int s = 0; s < seeds.Count; s++)
        {
            int seed = seeds[s];
            var until = budget * (s + 1) / seeds.Count;
            int cases = 0;
            bool hung = false;
            for (int index = 0; index < maxCasesPerSeed && clock.Elapsed < until; index++)
            {
                var c = Mutator.Create(seed, index);
                report.WriteLine("start " + c.Id);
                report.Flush();
                var result = FuzzHarness.Run(c, caseFolder);
                cases++;
                foreach (var f in result.Faults)
                {
                    var record = new FaultRecord(c.Id, c.SeedModel, string.Join("; ", c.Mutations), f.Kind.ToString(), f.Command, f.Class, f.Detail);
                    report.WriteLine("fault " + JsonSerializer.Serialize(record));
                }
                string firstError = result.Errors.FirstOrDefault(e => e.Length > 0) ?? "";
                report.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"done {c.Id} {string.Join(",", result.ExitCodes)} {result.Seconds:F2}s {result.AllocatedBytes >> 20}MiB {FuzzHarness.Normalize(firstError.Split('\n')[0])}"));
                if (result.Faults.Count > 0 && keepFolder is not null)
                    Keep(c, keepFolder);
                report.Flush();
                if (result.Hung)
                {
                    // A thread still runs the hung command; nothing after it would be measured fairly.
                    hung = true;
                    break;
                }
            }
            total += cases;
            report.WriteLine(string.Create(CultureInfo.InvariantCulture, $"seed {seed} {cases}"));
            report.Flush();
            if (hung)
                break;
        }
        report.WriteLine(string.Create(CultureInfo.InvariantCulture, $"end {total} {clock.Elapsed.TotalSeconds:F1}"));
        report.Flush();
    }

    /// <summary>Writes a case's model and files to KEEP/seed_index/ for a look with the tool itself.</summary>
    public static string Keep(FuzzCase c, string keepFolder)
    {
        string folder = Path.Combine(keepFolder, c.Id.Replace(':', '_'));
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, Mutator.ModelFileName), c.Model);
        foreach (var (name, bytes) in c.Files)
            File.WriteAllBytes(Path.Combine(folder, name), bytes);
        File.WriteAllText(Path.Combine(folder, "case.txt"), c.Describe() + Environment.NewLine + "extra args: " + string.Join(" ", c.ExtraArgs) + Environment.NewLine);
        return folder;
    }
}

/// <summary>A campaign's report, read back by the parent.</summary>
public sealed class CampaignSummary
{
    public List<FaultRecord> Faults { get; } = [];

    public Dictionary<int, int> CasesPerSeed { get; } = [];

    public string? LastStarted { get; private set; }

    public bool Ended { get; private set; }

    public int Cases { get; private set; }

    /// <summary>Cases whose every command exited 0 (the rest gave a clean error, or a fault).</summary>
    public int Succeeded { get; private set; }

    public double Seconds { get; private set; }

    public static CampaignSummary Parse(IEnumerable<string> lines)
    {
        var s = new CampaignSummary();
        foreach (string line in lines)
        {
            int space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space < 0)
                continue;
            string tag = line[..space], rest = line[(space + 1)..];
            switch (tag)
            {
                case "start":
                    s.LastStarted = rest;
                    break;
                case "done":
                    if (rest.Split(' ')[1].Split(',').All(code => code == "0"))
                        s.Succeeded++;
                    break;
                case "fault":
                    s.Faults.Add(JsonSerializer.Deserialize<FaultRecord>(rest)!);
                    break;
                case "seed":
                    string[] parts = rest.Split(' ');
                    s.CasesPerSeed[int.Parse(parts[0], CultureInfo.InvariantCulture)] = int.Parse(parts[1], CultureInfo.InvariantCulture);
                    break;
                case "end":
                    string[] e = rest.Split(' ');
                    s.Ended = true;
                    s.Cases = int.Parse(e[0], CultureInfo.InvariantCulture);
                    s.Seconds = double.Parse(e[1], CultureInfo.InvariantCulture);
                    break;
            }
        }
        return s;
    }
}
