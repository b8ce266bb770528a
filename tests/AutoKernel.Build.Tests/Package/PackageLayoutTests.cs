using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using AutoKernel.Build.Compare;
using AutoKernel.Build.Tests.Support;

namespace AutoKernel.Build.Tests.Package;

/// <summary>
/// Makes the AutoKernel package once (`dotnet pack src/AutoKernel.Package`, the configuration these
/// tests were built in) into a temporary folder, and extracts it beside.
/// </summary>
public sealed class PackageFixture : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();

    public string PackagePath { get; private set; } = "";

    /// <summary>The package's contents, as a consumer's NuGet extracts them.</summary>
    public string Extracted => _dir.File("extracted");

    /// <summary>Entry name (forward slashes) to entry length, for every entry of the .nupkg.</summary>
    public IReadOnlyDictionary<string, long> Entries { get; private set; } = new Dictionary<string, long>();

    public TimeSpan PackTime { get; private set; }

    public string Work => _dir.File("work");

    public async ValueTask InitializeAsync()
    {
#if DEBUG
        const string configuration = "Debug";
#else
        const string configuration = "Release";
#endif
        string output = _dir.File("out");
        var clock = Stopwatch.StartNew();
        var pack = await Dotnet.RunAsync(TestPaths.RepoRoot, TimeSpan.FromMinutes(10),
            "pack", Path.Combine(TestPaths.RepoRoot, "src", "AutoKernel.Package", "AutoKernel.Package.csproj"),
            "-c", configuration, "-o", output, "--disable-build-servers", "-v", "minimal");
        PackTime = clock.Elapsed;
        if (pack.ExitCode != 0)
            throw new InvalidOperationException($"dotnet pack exited with {pack.ExitCode}:\n{Tail(pack.Out)}\n{Tail(pack.Error)}");
        var packages = Directory.GetFiles(output, "*.nupkg");
        if (packages.Length != 1)
            throw new InvalidOperationException($"dotnet pack made {packages.Length} packages in {output}: {string.Join(", ", packages.Select(Path.GetFileName))}");
        PackagePath = packages[0];
        using (var zip = ZipFile.OpenRead(PackagePath))
            Entries = zip.Entries.ToDictionary(e => e.FullName, e => e.Length, StringComparer.Ordinal);
        ZipFile.ExtractToDirectory(PackagePath, Extracted);
        Directory.CreateDirectory(Work);
    }

    public ValueTask DisposeAsync()
    {
        _dir.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Runs the packaged tool as the package's targets do: `dotnet tools/net10.0/autokernel.dll ...`.</summary>
    public Task<ProcessResult> ToolAsync(params string[] args) =>
        Dotnet.RunAsync(Work, TimeSpan.FromMinutes(5), [Path.Combine(Extracted, "tools", "net10.0", "autokernel.dll"), .. args]);

    private static string Tail(string text) => text.Length <= 6000 ? text : "..." + text[^6000..];
}

public sealed record ProcessResult(int ExitCode, string Out, string Error);

/// <summary>Runs the dotnet host these tests run on, in a child process, without the MSBuild state of `dotnet test`.</summary>
internal static class Dotnet
{
    public static async Task<ProcessResult> RunAsync(string workingDirectory, TimeSpan timeout, params string[] args)
    {
        var info = new ProcessStartInfo(Host())
        {
            WorkingDirectory = workingDirectory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (string a in args)
            info.ArgumentList.Add(a);
        // `dotnet test` hands its MSBuild settings (MSBuildExtensionsPath, MSBuildSDKsPath, ...) down; a
        // child `dotnet pack` must find its own.
        foreach (string name in info.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
            info.Environment.Remove(name);
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start " + info.FileName);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cancel.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {string.Join(' ', args)} did not finish within {timeout}");
        }
        return new ProcessResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>DOTNET_HOST_PATH (set by the dotnet CLI), else the dotnet beside the runtime this process runs on.</summary>
    private static string Host()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } path && File.Exists(path))
            return path;
        string muxer = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
        // RUNTIME_ROOT/shared/Microsoft.NETCore.App/VERSION/
        string runtime = RuntimeEnvironment.GetRuntimeDirectory().TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        string root = Path.GetFullPath(Path.Combine(runtime, "..", "..", ".."));
        string candidate = Path.Combine(root, muxer);
        return File.Exists(candidate) ? candidate : muxer;
    }
}

/// <summary>
/// The AutoKernel package: the fixed layout (common to the targets, the task and the tool), no ONNX
/// Runtime native inside, under 50 MB, no dependencies for the consumer, and a tool that runs from the
/// extracted package and fails its comparison commands with one line.
/// </summary>
public sealed class PackageLayoutTests(PackageFixture package) : IClassFixture<PackageFixture>
{
    private const long MaxPackageBytes = 50L * 1000 * 1000;

    /// <summary>Files NuGet itself writes into every package.</summary>
    private static bool IsNuGetMetadata(string entry) =>
        entry is "[Content_Types].xml" || entry.StartsWith("_rels/", StringComparison.Ordinal)
        || entry.StartsWith("package/", StringComparison.Ordinal) || (entry.EndsWith(".nuspec", StringComparison.Ordinal) && !entry.Contains('/'));

    private static readonly string[] MSBuildFiles =
    [
        "build/AutoKernel.props", "build/AutoKernel.targets", "buildTransitive/AutoKernel.props", "buildTransitive/AutoKernel.targets",
    ];

    private static readonly string[] ToolRuntimeIdentifiers = ["linux-x64", "win-x64", "osx-x64", "osx-arm64"];

    [Fact]
    public void TheFileNameCarriesTheVersionOfDirectoryBuildProps()
    {
        string version = XDocument.Load(Path.Combine(TestPaths.RepoRoot, "Directory.Build.props"))
            .Descendants("Version").Single().Value.Trim();
        Assert.Equal($"AutoKernel.{version}.nupkg", Path.GetFileName(package.PackagePath));
        var metadata = Nuspec().Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        Assert.Equal("AutoKernel", Value(metadata, "id"));
        Assert.Equal(version, Value(metadata, "version"));
    }

    [Fact]
    public void HoldsExactlyTheFixedLayout()
    {
        var files = package.Entries.Keys.Where(e => !IsNuGetMetadata(e)).ToHashSet(StringComparer.Ordinal);
        string[] expected =
        [
            .. MSBuildFiles,
            "tasks/netstandard2.0/AutoKernel.Tasks.dll",
            "tools/net10.0/autokernel.dll",
            "tools/net10.0/autokernel.runtimeconfig.json",
            "tools/net10.0/autokernel.deps.json",
            "tools/net10.0/AutoKernel.Runtime.dll",
            "tools/net10.0/AutoKernel.Generator.dll",
            "analyzers/dotnet/cs/AutoKernel.Generator.dll",
            "lib/net10.0/AutoKernel.Runtime.dll",
            "README.md",
            "icon.png",
        ];
        foreach (string file in expected)
            Assert.True(files.Contains(file), $"{file} is not in the package");

        // Nothing else outside tools/: each of the other folders holds just its files.
        var others = files.Where(f => !f.StartsWith("tools/net10.0/", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray();
        string[] allowed = [.. expected.Where(f => !f.StartsWith("tools/", StringComparison.Ordinal)), "lib/net10.0/AutoKernel.Runtime.xml"];
        Assert.All(others, f => Assert.True(allowed.Contains(f), $"{f} is in the package but not in its layout"));

        // The MSBuild files are the repository's, unchanged.
        foreach (string file in MSBuildFiles)
        {
            byte[] inRepository = File.ReadAllBytes(Path.Combine(TestPaths.RepoRoot, file));
            Assert.Equal(inRepository, File.ReadAllBytes(Path.Combine(package.Extracted, file)));
        }
    }

    [Fact]
    public void TheToolIsFrameworkDependentWithoutOnnxRuntimesNatives()
    {
        var tool = package.Entries.Keys.Where(e => e.StartsWith("tools/net10.0/", StringComparison.Ordinal)).Select(e => e["tools/net10.0/".Length..]).ToArray();

        // Framework-dependent: a runtimeconfig naming the shared framework, no runtime of its own, no apphost.
        using (var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(package.Extracted, "tools", "net10.0", "autokernel.runtimeconfig.json"))))
        {
            var options = config.RootElement.GetProperty("runtimeOptions");
            string frameworks = options.TryGetProperty("framework", out var one) ? one.GetRawText() : options.GetProperty("frameworks").GetRawText();
            Assert.Contains("Microsoft.NETCore.App", frameworks);
        }
        Assert.DoesNotContain("System.Private.CoreLib.dll", tool);
        Assert.DoesNotContain("autokernel", tool);
        Assert.DoesNotContain("autokernel.exe", tool);

        // ONNX Runtime: the managed assembly only (the comparison commands check for the native and stop).
        Assert.Contains("Microsoft.ML.OnnxRuntime.dll", tool);
        var ort = tool.Where(f => f.Contains("onnxruntime", StringComparison.OrdinalIgnoreCase) && f != "Microsoft.ML.OnnxRuntime.dll").ToArray();
        Assert.True(ort.Length == 0, "ONNX Runtime natives in the package: " + string.Join(", ", ort));

        // Natives only for the four runtime identifiers, and LightGBM's (the cost model's) for each that has one.
        var rids = tool.Where(f => f.StartsWith("runtimes/", StringComparison.Ordinal)).Select(f => f.Split('/')[1]).Distinct().ToArray();
        Assert.All(rids, rid => Assert.Contains(rid, ToolRuntimeIdentifiers));
        Assert.Contains("runtimes/linux-x64/native/lib_lightgbm.so", tool);
        Assert.Contains("runtimes/win-x64/native/lib_lightgbm.dll", tool);
        Assert.Contains("runtimes/osx-x64/native/lib_lightgbm.dylib", tool);
        Assert.DoesNotContain(tool, f => f.EndsWith(".dbg", StringComparison.Ordinal) || f.EndsWith(".dwarf", StringComparison.Ordinal)
            || f.Contains("LdaNative", StringComparison.Ordinal) || f.EndsWith("/lightgbm.exe", StringComparison.Ordinal));
    }

    [Fact]
    public void IsUnderFiftyMegabytes()
    {
        long size = new FileInfo(package.PackagePath).Length;
        var output = TestContext.Current.TestOutputHelper;
        output?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileName(package.PackagePath)}: {size / 1e6:F1} MB (pack took {package.PackTime.TotalSeconds:F0} s)"));
        using (var zip = ZipFile.OpenRead(package.PackagePath))
        {
            foreach (var part in zip.Entries.GroupBy(e => Part(e.FullName)).OrderByDescending(g => g.Sum(e => e.CompressedLength)))
                output?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {part.Key,-40} {part.Sum(e => e.CompressedLength) / 1e6,6:F2} MB compressed, {part.Sum(e => e.Length) / 1e6,6:F2} MB"));
        }
        Assert.True(size < MaxPackageBytes, string.Create(CultureInfo.InvariantCulture, $"the package is {size / 1e6:F1} MB, over {MaxPackageBytes / 1e6} MB"));
    }

    [Fact]
    public void BringsNoDependencyIntoTheConsumer()
    {
        var metadata = Nuspec().Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        var dependencies = metadata.Elements().Where(e => e.Name.LocalName is "dependencies" or "frameworkReferences").ToArray();
        Assert.True(dependencies.All(d => !d.Descendants().Any()), "the nuspec lists: " + string.Join(" ", dependencies.Select(d => d.ToString())));
        Assert.Null(metadata.Elements().FirstOrDefault(e => e.Name.LocalName == "developmentDependency" && e.Value == "true"));

        // What a mature package shows on its page: readme, icon, description, tags, project address.
        Assert.Equal("README.md", Value(metadata, "readme"));
        Assert.Equal("icon.png", Value(metadata, "icon"));
        Assert.False(string.IsNullOrWhiteSpace(Value(metadata, "description")));
        Assert.False(string.IsNullOrWhiteSpace(Value(metadata, "tags")));
        Assert.False(string.IsNullOrWhiteSpace(Value(metadata, "projectUrl")));
    }

    [Fact]
    public async Task TheToolRunsFromTheExtractedPackage()
    {
        var help = await package.ToolAsync("zoo", "--help");
        Assert.True(help.ExitCode == 0, help.Out + help.Error);
        Assert.Contains("resnet18", help.Out);

        string model = Path.Combine(package.Work, "squeezenet.onnx");
        var zoo = await package.ToolAsync("zoo", "squeezenet1_1", "--image-size", "64", "-o", model);
        Assert.True(zoo.ExitCode == 0, zoo.Out + zoo.Error);
        var inspect = await package.ToolAsync("inspect", model);
        Assert.True(inspect.ExitCode == 0, inspect.Out + inspect.Error);
        Assert.Contains("conv2d", inspect.Out);
        var run = await package.ToolAsync("run", model);
        Assert.True(run.ExitCode == 0, run.Out + run.Error);
        Assert.Contains("sum=", run.Out);
    }

    [Theory]
    [InlineData("run", "--compare", "ort")]
    [InlineData("bench-model")]
    [InlineData("bench-ops")]
    [InlineData("ort-time")]
    public async Task ComparisonCommandsStopWithOneLine(params string[] command)
    {
        string model = Path.Combine(package.Work, $"compare-{command[0]}.onnx");
        var zoo = await package.ToolAsync("zoo", "squeezenet1_1", "--image-size", "64", "-o", model);
        Assert.True(zoo.ExitCode == 0, zoo.Out + zoo.Error);

        var result = await package.ToolAsync([command[0], model, .. command[1..]]);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("", result.Out);
        Assert.Equal("error: " + OrtRunner.UnavailableMessage, result.Error.TrimEnd('\r', '\n'));
    }

    /// <summary>The natives kept are the ones the tuner loads: a few trials of the xgb tuner fit its cost model (LightGBM).</summary>
    [Fact]
    public async Task TheCostModelLoadsLightGbmFromThePackage()
    {
        string rid = RuntimeInformation.RuntimeIdentifier;
        Assert.SkipUnless(ToolRuntimeIdentifiers[..3].Contains(rid), $"LightGBM ships natives for linux-x64, win-x64 and osx-x64 only, not {rid}");
        string model = Path.Combine(package.Work, "tune.onnx");
        string log = Path.Combine(package.Work, "tune.jsonl");
        var zoo = await package.ToolAsync("zoo", "squeezenet1_1", "--image-size", "64", "-o", model);
        Assert.True(zoo.ExitCode == 0, zoo.Out + zoo.Error);

        // The tuner fits after 32 samples; trials 33 to 40 are chosen by the model.
        var tune = await package.ToolAsync("tune", model, "--task", "17", "--tuner", "xgb", "--cost-model", "lgbm-reg", "--trials", "40",
            "--batch-size", "8", "--plan-size", "16", "--repeat", "1", "--min-repeat-ms", "1", "--threads", "1", "--log", log);
        Assert.True(tune.ExitCode == 0, tune.Out + tune.Error);
        Assert.Equal(40, File.ReadAllLines(log).Count(l => l.Length > 0));
    }

    private XDocument Nuspec()
    {
        using var zip = ZipFile.OpenRead(package.PackagePath);
        var entry = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal) && !e.FullName.Contains('/'));
        using var stream = entry.Open();
        return XDocument.Load(stream);
    }

    private static string? Value(XElement metadata, string name) => metadata.Elements().FirstOrDefault(e => e.Name.LocalName == name)?.Value;

    /// <summary>The part of the package a file belongs to, for the size breakdown.</summary>
    private static string Part(string entry)
    {
        if (IsNuGetMetadata(entry) || !entry.Contains('/'))
            return "metadata, readme, icon";
        if (!entry.StartsWith("tools/", StringComparison.Ordinal))
            return entry[..entry.IndexOf('/', StringComparison.Ordinal)] + "/";
        string file = entry["tools/net10.0/".Length..];
        if (file.StartsWith("runtimes/", StringComparison.Ordinal))
            return "tools: natives " + file.Split('/')[1];
        if (file.StartsWith("Microsoft.CodeAnalysis", StringComparison.Ordinal))
            return "tools: Roslyn";
        if (file.StartsWith("Microsoft.ML", StringComparison.Ordinal) || file is "Newtonsoft.Json.dll" or "System.CodeDom.dll")
            return "tools: ML.NET (and its Newtonsoft.Json, CodeDom)";
        if (file.StartsWith("AutoKernel", StringComparison.Ordinal) || file.StartsWith("autokernel", StringComparison.Ordinal))
            return "tools: AutoKernel's own";
        return "tools: other managed";
    }
}
