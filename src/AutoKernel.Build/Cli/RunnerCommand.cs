using System.CommandLine;
using AutoKernel.Build.Measure;

namespace AutoKernel.Build.Cli;

/// <summary>`autokernel runner`: the hidden measurement child of <see cref="Runner"/> (JSON lines on stdin and stdout).</summary>
public static class RunnerCommand
{
    public static Command Create()
    {
        var command = new Command(Runner.CommandName, "Measurement child process (internal).") { Hidden = true };
        command.SetAction(_ => RunnerHost.Run());
        return command;
    }
}
