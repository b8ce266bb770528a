using System.Diagnostics;
using System.Text;

namespace AutoKernel.Integration.Tests.Support;

/// <summary>The result of one `dotnet` command: its exit code and its interleaved output.</summary>
public sealed record DotnetResult(string Command, int ExitCode, string Output, TimeSpan Elapsed)
{
    public DotnetResult EnsureSuccess()
    {
        if (ExitCode != 0)
            throw new Xunit.Sdk.XunitException($"`{Command}` exited with {ExitCode} after {Elapsed.TotalSeconds:F0} s:\n{Tail(Output)}");
        return this;
    }

    public IEnumerable<string> Lines => Output.Split('\n').Select(l => l.TrimEnd('\r'));

    /// <summary>
    /// The lines of the build itself, before MSBuild's summary ("Build succeeded." or "Build FAILED."
    /// and the diagnostics again): `dotnet build` asks for the summary, so -clp:NoSummary does not remove it.
    /// </summary>
    public IEnumerable<string> BuildLines => Lines.TakeWhile(l => l.Trim() is not ("Build succeeded." or "Build FAILED."));

    private static string Tail(string text) => text.Length <= 12000 ? text : "...\n" + text[^12000..];
}

/// <summary>
/// Runs the SDK's `dotnet` as a user would, in a clean environment: no MSBuild node reuse, no
/// build server and no shared compiler server (they would outlive the test and hold its output
/// pipes open), and none of the MSBuild variables of the `dotnet test` that runs these tests.
/// </summary>
public static class Dotnet
{
    public static string Host { get; } = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)
        ? host
        : "dotnet";

    public static DotnetResult Run(string workingDirectory, IReadOnlyList<string> args, TimeSpan? timeout = null,
        IReadOnlyDictionary<string, string>? environment = null, Action<string, Process>? onLine = null)
    {
        var info = new ProcessStartInfo(Host)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
            info.ArgumentList.Add(a);
        foreach (string key in info.Environment.Keys.ToList())
        {
            if (key.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || key.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("TESTINGPLATFORM", StringComparison.OrdinalIgnoreCase) || key is "DOTNET_HOST_PATH")
                info.Environment.Remove(key);
        }
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        info.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        info.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        info.Environment["UseSharedCompilation"] = "false";
        if (environment is not null)
        {
            foreach (var (k, v) in environment)
                info.Environment[k] = v;
        }

        string command = "dotnet " + string.Join(' ', args);
        var output = new StringBuilder();
        var clock = Stopwatch.StartNew();
        using var process = new Process { StartInfo = info };
        void Receive(object? _, DataReceivedEventArgs e)
        {
            if (e.Data is null)
                return;
            lock (output)
                output.Append(e.Data).Append('\n');
            onLine?.Invoke(e.Data, process);
        }
        process.OutputDataReceived += Receive;
        process.ErrorDataReceived += Receive;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout ?? TimeSpan.FromMinutes(10)))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new TimeoutException($"`{command}` did not finish within {(timeout ?? TimeSpan.FromMinutes(10)).TotalMinutes:F0} min:\n{output}");
        }
        process.WaitForExit();
        lock (output)
            return new DotnetResult(command, process.ExitCode, output.ToString(), clock.Elapsed);
    }
}
