using System.Runtime.InteropServices;

namespace AutoKernel.Build.Cli;

/// <summary>
/// Ctrl+C (SIGINT) and SIGTERM (a CI job or a build being cancelled) while tuning: the first one
/// cancels <see cref="Token"/>, so the candidate being measured finishes and the batch so far is
/// logged; a second one terminates the process. The runner child ignores both, so a Ctrl+C sent to
/// the whole process group does not kill the candidate being measured.
/// </summary>
internal sealed class Interruption : IDisposable
{
    /// <summary>Exit code after Ctrl+C (128 + SIGINT, as shells report it).</summary>
    public const int Interrupted = 130;

    /// <summary>Exit code after SIGTERM (128 + 15).</summary>
    public const int Terminated = 143;

    private readonly CancellationTokenSource _cancel = new();
    private readonly PosixSignalRegistration _interrupt;
    private readonly PosixSignalRegistration _terminate;

    public Interruption()
    {
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    public CancellationToken Token => _cancel.Token;

    /// <summary><see cref="Interrupted"/> or <see cref="Terminated"/>, whichever signal came first.</summary>
    public int ExitCode { get; private set; } = Interrupted;

    private void OnSignal(PosixSignalContext context)
    {
        if (_cancel.IsCancellationRequested)
            return;
        context.Cancel = true;
        ExitCode = context.Signal == PosixSignal.SIGTERM ? Terminated : Interrupted;
        _cancel.Cancel();
    }

    public void Dispose()
    {
        _interrupt.Dispose();
        _terminate.Dispose();
        _cancel.Dispose();
    }
}
