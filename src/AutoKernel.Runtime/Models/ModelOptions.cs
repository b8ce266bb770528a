using AutoKernel.Runtime.Threading;

namespace AutoKernel.Runtime.Models;

/// <summary>How a generated model is constructed.</summary>
public sealed class ModelOptions
{
    public static ModelOptions Default { get; } = new();

    /// <summary>
    /// Threads of the model's own worker pool; 0 (the default) uses the thread count the kernels were
    /// tuned for. Ignored when <see cref="Pool"/> is given.
    /// </summary>
    public int Threads
    {
        get => _threads;
        init
        {
            // A negative count used to fall back to the tuned count silently.
            ArgumentOutOfRangeException.ThrowIfNegative(value, nameof(Threads));
            _threads = value;
        }
    }

    private readonly int _threads;

    /// <summary>A pool to share between models (not disposed by the model); null for a pool of the model's own.</summary>
    public WorkerPool? Pool { get; init; }

    /// <summary>
    /// Read the weights from this file instead of the assembly's embedded resource (or, for a model
    /// built with <c>Weights=File</c>, instead of the weights file next to the app).
    /// </summary>
    public string? WeightsPath { get; init; }

    /// <summary>
    /// Read the weights from this stream instead (read once, from its current position, and not
    /// disposed). Weights already loaded by another instance of the same model are shared and the
    /// stream is not read.
    /// </summary>
    public Stream? WeightsStream { get; init; }
}
