using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using AutoKernel.Build.Tests.Support;

namespace AutoKernel.Build.Tests.Fuzz;

/// <summary>
/// The fuzz test: mutated models (see <see cref="Mutator"/>) through `autokernel inspect` and `run`
/// must give exit 0 or one line "error: ..." with exit 1: no internal error, stack trace, hang or
/// allocation past the budget. The campaign runs in a child process (this test assembly, running the
/// explicit <see cref="Child_campaign"/> test) with a GC heap limit, so that a memory bomb or a stack
/// overflow ends the child and is reported with the case that caused it, instead of ending the test run.
///
/// Environment (all optional):
///   AUTOKERNEL_FUZZ_SECONDS  time budget of the campaign (default 90)
///   AUTOKERNEL_FUZZ_CASES    most cases per seed (default 600; the CI run reaches them within the budget)
///   AUTOKERNEL_FUZZ_SEED     comma-separated seeds (default 1,2,3)
///   AUTOKERNEL_FUZZ_CASE     seed:index: replay that one case in process, printing its mutations
///   AUTOKERNEL_FUZZ_KEEP     a folder where the model and files of every faulty (or replayed) case are written
///   AUTOKERNEL_FUZZ_STRICT   1: known-open fault classes fail too
/// </summary>
[Collection(FuzzCollection.Name)]
public sealed class FuzzTests
{
    private const string ChildReportVariable = "AUTOKERNEL_FUZZ_CHILD_REPORT";
    private const string ChildTest = "AutoKernel.Build.Tests.Fuzz.FuzzTests.Child_campaign";

    /// <summary>The heap limit of the child: above the allocation budget, well below the machine.</summary>
    private const long ChildHeapLimitBytes = 3L << 30;

    public static TheoryData<string> SeedNames => [.. SeedModels.All.Select(s => s.Name)];

    [Theory]
    [MemberData(nameof(SeedNames))]
    public void Seed_models_run_cleanly(string name)
    {
        var seed = SeedModels.All.Single(s => s.Name == name);
        using var dir = new TempDirectory();
        var c = new FuzzCase(0, 0, name, Google.Protobuf.MessageExtensions.ToByteArray(seed.Model), new Dictionary<string, byte[]>(), [], ["none"]);
        var result = FuzzHarness.Run(c, dir.File("case"));
        Assert.Empty(result.Faults);
        Assert.True(result.ExitCodes.All(code => code == 0), string.Join(" | ", result.Errors));
    }

    [Fact]
    public void Cases_are_a_function_of_seed_and_index()
    {
        for (int i = 0; i < 50; i++)
        {
            var a = Mutator.Create(5, i);
            var b = Mutator.Create(5, i);
            Assert.Equal(a.Model, b.Model);
            Assert.Equal(a.Mutations, b.Mutations);
            Assert.Equal(a.ExtraArgs, b.ExtraArgs);
            Assert.Equal(a.Files.Keys, b.Files.Keys);
        }
        Assert.NotEqual(Mutator.Create(5, 0).Model, Mutator.Create(6, 0).Model);
    }

    [Fact]
    public void The_harness_flags_stderr_that_is_not_one_error_line()
    {
        // The classifier itself must be able to fail.
        using var dir = new TempDirectory();
        var seed = SeedModels.All[0];
        var ok = new FuzzCase(0, 0, seed.Name, Google.Protobuf.MessageExtensions.ToByteArray(seed.Model), new Dictionary<string, byte[]>(), ["--seed", "x"], ["bad option"]);
        var result = FuzzHarness.Run(ok, dir.File("case"));
        // A bad option value is a parse error: exit 1 and System.CommandLine's own message, which is
        // not "error: ...", so the harness flags it as a bad error format.
        Assert.Contains(result.Faults, f => f.Kind == FaultKind.BadErrorFormat);
    }

    [Fact]
    public async Task Fuzz_campaign()
    {
        var output = TestContext.Current.TestOutputHelper!;
        string? replay = Environment.GetEnvironmentVariable("AUTOKERNEL_FUZZ_CASE");
        if (!string.IsNullOrEmpty(replay))
        {
            Replay(replay, output);
            return;
        }
        int seconds = int.TryParse(Environment.GetEnvironmentVariable("AUTOKERNEL_FUZZ_SECONDS"), CultureInfo.InvariantCulture, out int s) ? s : 90;
        int maxCases = int.TryParse(Environment.GetEnvironmentVariable("AUTOKERNEL_FUZZ_CASES"), CultureInfo.InvariantCulture, out int m) ? m
            : Environment.GetEnvironmentVariable("AUTOKERNEL_FUZZ_SECONDS") is null ? 600 : int.MaxValue;
        string seeds = Environment.GetEnvironmentVariable("AUTOKERNEL_FUZZ_SEED") is { Length: > 0 } given ? given : "1,2,3";
        string? keep = Environment.GetEnvironmentVariable("AUTOKERNEL_FUZZ_KEEP");

        using var dir = new TempDirectory();
        string report = dir.File("report.txt");
        string self = Path.Combine(AppContext.BaseDirectory, "AutoKernel.Build.Tests.dll");
        var info = new ProcessStartInfo(DotnetHost())
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string a in new[] { self, "-method", ChildTest, "-explicit", "only", "-noLogo", "-noColor" })
            info.ArgumentList.Add(a);
        info.Environment[ChildReportVariable] = report;
        info.Environment["AUTOKERNEL_FUZZ_SECONDS"] = seconds.ToString(CultureInfo.InvariantCulture);
        info.Environment["AUTOKERNEL_FUZZ_SEED"] = seeds;
        info.Environment["AUTOKERNEL_FUZZ_CASES"] = maxCases.ToString(CultureInfo.InvariantCulture);
        info.Environment["AUTOKERNEL_FUZZ_WORK"] = dir.Path;
        if (keep is not null)
            info.Environment["AUTOKERNEL_FUZZ_KEEP"] = keep;
        info.Environment["DOTNET_GCHeapHardLimit"] = "0x" + ChildHeapLimitBytes.ToString("X", CultureInfo.InvariantCulture);
        info.Environment["DOTNET_gcServer"] = "0";

        using var child = Process.Start(info) ?? throw new InvalidOperationException("cannot start " + info.FileName);
        var stdout = child.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = child.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(seconds) + FuzzHarness.TimeLimit * 2 + TimeSpan.FromMinutes(2));
        try
        {
            await child.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            child.Kill(entireProcessTree: true);
        }

        var summary = CampaignSummary.Parse(File.Exists(report) ? File.ReadAllLines(report) : []);
        var failures = new List<string>();
        if (!summary.Ended)
        {
            string tail = Tail((child.HasExited ? await stdout : "") + (child.HasExited ? await stderr : ""));
            failures.Add($"the fuzz process died or hung in case {summary.LastStarted ?? "(none started)"} " +
                $"(exit {(child.HasExited ? child.ExitCode.ToString(CultureInfo.InvariantCulture) : "none: killed")}): {tail}" +
                $"{Environment.NewLine}  replay: AUTOKERNEL_FUZZ_CASE={summary.LastStarted}");
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"fuzz: {summary.Cases} cases ({summary.Succeeded} ran cleanly, the rest gave one-line errors or faults) in {summary.Seconds:F0} s (seeds {string.Join(", ", summary.CasesPerSeed.Select(kv => $"{kv.Key}: {kv.Value}"))})"));
        foreach (var group in summary.Faults.GroupBy(f => f.Class).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var first = group.First();
            var known = KnownOpen.Match(group.Key);
            string count = group.Count().ToString(CultureInfo.InvariantCulture);
            string line = $"{(known is null ? "FAULT" : "known")} x{count} {group.Key}{Environment.NewLine}" +
                $"    e.g. case {first.Case} ({first.Command}) on {first.SeedModel}: {first.Mutations}{Environment.NewLine}" +
                $"    {first.Detail}{Environment.NewLine}" +
                $"    replay: AUTOKERNEL_FUZZ_CASE={first.Case}" + (known is null ? "" : $"{Environment.NewLine}    open: {known.Reason}");
            output.WriteLine(line);
            if (known is null)
                failures.Add(line);
        }
        Assert.True(summary.Cases > 0 || !summary.Ended, "the campaign ran no case");
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    /// <summary>The campaign itself, in the child process <see cref="Fuzz_campaign"/> starts.</summary>
    [Fact(Explicit = true)]
    public void Child_campaign()
    {
        string report = Environment.GetEnvironmentVariable(ChildReportVariable)
            ?? throw new InvalidOperationException($"{ChildReportVariable} is not set: this test is the child of {nameof(Fuzz_campaign)}");
        int seconds = int.Parse(Environment.GetEnvironmentVariable("AUTOKERNEL_FUZZ_SECONDS") ?? "60", CultureInfo.InvariantCulture);
        int[] seeds = (Environment.GetEnvironmentVariable("AUTOKERNEL_FUZZ_SEED") ?? "1")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        string work = Environment.GetEnvironmentVariable("AUTOKERNEL_FUZZ_WORK") ?? Path.GetTempPath();
        using var writer = new StreamWriter(report, append: false, new UTF8Encoding(false));
        int maxCases = int.Parse(Environment.GetEnvironmentVariable("AUTOKERNEL_FUZZ_CASES") ?? "600", CultureInfo.InvariantCulture);
        FuzzCampaign.Run(seeds, TimeSpan.FromSeconds(seconds), maxCases, writer, work, Environment.GetEnvironmentVariable("AUTOKERNEL_FUZZ_KEEP"));
    }

    private static void Replay(string id, ITestOutputHelper output)
    {
        string[] parts = id.Split(':');
        var c = Mutator.Create(int.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture));
        output.WriteLine(c.Describe());
        output.WriteLine("extra args: " + string.Join(" ", c.ExtraArgs));
        string keep = Environment.GetEnvironmentVariable("AUTOKERNEL_FUZZ_KEEP") ?? Path.Combine(Path.GetTempPath(), "autokernel-fuzz");
        output.WriteLine("files: " + FuzzCampaign.Keep(c, keep));
        using var dir = new TempDirectory();
        var result = FuzzHarness.Run(c, dir.File("case"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"exit codes {string.Join(",", result.ExitCodes)}, {result.Seconds:F2} s, {result.AllocatedBytes >> 20} MiB"));
        foreach (var f in result.Faults)
            output.WriteLine($"{f.Kind} {f.Command}: {f.Class} -- {f.Detail}");
        Assert.Empty(result.Faults);
    }

    private static string Tail(string text) => text.Length <= 2000 ? text : text[^2000..];

    /// <summary>The dotnet host this test runs on.</summary>
    private static string DotnetHost()
    {
        string muxer = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
        if (Environment.ProcessPath is { } self && string.Equals(Path.GetFileName(self), muxer, StringComparison.OrdinalIgnoreCase))
            return self;
        string runtime = RuntimeEnvironment.GetRuntimeDirectory().TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        var root = Directory.GetParent(runtime)?.Parent?.Parent;
        return root is not null && File.Exists(Path.Combine(root.FullName, muxer)) ? Path.Combine(root.FullName, muxer) : muxer;
    }
}

/// <summary>
/// The fuzz campaign keeps a core busy for its whole budget; run alone so that timing-sensitive tests
/// (the benchmark tests measure processes against each other) do not share the machine with it.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FuzzCollection
{
    public const string Name = "Fuzz (not in parallel)";
}
