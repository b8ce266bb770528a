using AutoKernel.Build.Cli;

namespace AutoKernel.Build.Tests.Support;

public sealed record CliResult(int ExitCode, string Out, string Error);

/// <summary>Runs the `autokernel` command line in process.</summary>
public static class Cli
{
    public static CliResult Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CommandLine.Run(args, stdout, stderr);
        return new CliResult(code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>
    /// Asserts the tool's promise for bad input: exit 1, exactly one stderr line starting
    /// "error: " that holds every fragment, and no stack trace. Returns the line.
    /// </summary>
    public static string AssertOneLineError(CliResult r, params string[] fragments)
    {
        Assert.Equal(1, r.ExitCode);
        string[] lines = r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0]);
        Assert.DoesNotContain("   at ", r.Error);
        foreach (string f in fragments)
            Assert.True(lines[0].Contains(f, StringComparison.Ordinal), $"\"{f}\" not in: {lines[0]}");
        return lines[0];
    }
}
