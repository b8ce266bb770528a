using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using AutoKernel.Build.Measure;

namespace AutoKernel.Build.Bench;

/// <summary>
/// Runs a hidden `autokernel` subcommand in a process of its own (the same executable as the
/// tuner's runner child) and returns the JSON line it printed last. Used by the timing commands so
/// that each side of a comparison runs alone.
/// </summary>
internal static class ChildProcess
{
    /// <summary>
    /// Runs `autokernel <paramref name="arguments"/>`. <paramref name="what"/> names the job in
    /// messages ("ONNX Runtime timing"). Throws a one-line <see cref="ModelException"/> when the child
    /// fails (its own "error: ..." line if it printed one), prints no JSON line or times out.
    /// </summary>
    public static string RunForJsonLine(IReadOnlyList<string> arguments, TimeSpan timeout, string what, string file)
    {
        var ci = CultureInfo.InvariantCulture;
        // The same executable as the runner child: this app host, the one beside this assembly, or `dotnet autokernel.dll`.
        var (fileName, runnerArguments) = Runner.DefaultCommand();
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            CreateNoWindow = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (string a in runnerArguments[..^1])
            info.ArgumentList.Add(a);
        foreach (string a in arguments)
            info.ArgumentList.Add(a);
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOTNET_ROOT")) && DotnetRoot() is { } root)
            info.Environment["DOTNET_ROOT"] = root;
        info.Environment["DOTNET_DbgEnableMiniDump"] = "0";

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {fileName}");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }
            process.WaitForExit();
            throw new ModelException($"{what} did not finish within {timeout.TotalSeconds.ToString("F0", ci)} s") { File = file };
        }
        process.WaitForExit();
        string output = stdout.Result, errors = stderr.Result;
        if (process.ExitCode != 0)
            throw new ModelException(ChildError(errors, process.ExitCode, what));
        string? line = output.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith('{'));
        if (line is null)
            throw new ModelException($"{what} printed no result (exit code 0): {OneLine(errors)}") { File = file };
        return line;
    }

    /// <summary>The child's own "error: ..." line, else its stderr's first line with the exit code.</summary>
    private static string ChildError(string stderr, int exitCode, string what)
    {
        const string prefix = "error: ";
        var lines = stderr.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        string? reported = lines.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        if (reported is not null)
            return reported[prefix.Length..];
        return string.Create(CultureInfo.InvariantCulture, $"{what} failed (exit code {exitCode}): {OneLine(stderr)}");
    }

    private static string OneLine(string text)
    {
        string first = text.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0) ?? "(no output)";
        return first.Length <= 300 ? first : first[..300] + " ...";
    }

    /// <summary>The dotnet installation this process runs on, for a child started through an app host.</summary>
    private static string? DotnetRoot()
    {
        string runtime = RuntimeEnvironment.GetRuntimeDirectory().TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        var root = Directory.GetParent(runtime)?.Parent?.Parent;
        return root is not null && Directory.Exists(Path.Combine(root.FullName, "shared")) ? root.FullName : null;
    }

    /// <summary>This process's private bytes now.</summary>
    public static long PrivateBytes()
    {
        using var self = Process.GetCurrentProcess();
        return self.PrivateMemorySize64;
    }
}
