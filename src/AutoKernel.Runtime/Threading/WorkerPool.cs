using System.Runtime.CompilerServices;

namespace AutoKernel.Runtime.Threading;

/// <summary>
/// A fixed set of worker threads for kernel loops. <see cref="For"/> hands out iterations through
/// one atomic counter; the calling thread works too. Idle workers spin for a short while before
/// blocking, so back-to-back layers (tens of microseconds apart) do not pay a thread wake-up each,
/// which is what makes Parallel.For slow for sub-millisecond layers.
/// </summary>
public sealed class WorkerPool : IDisposable
{
    private static readonly Lazy<WorkerPool> s_shared = new(() => new WorkerPool(Environment.ProcessorCount));

    private readonly Thread[] _threads;
    private readonly SemaphoreSlim _wake = new(0);
    private readonly object _runLock = new();
    private readonly int _spinIterations;

    // The job in flight. Workers read these after observing a new _generation.
    private Job? _job;
    private int _generation;
    private int _sleeping;
    private volatile bool _disposed;

    // Set while this thread runs iterations of some pool's job: a nested For runs inline.
    [ThreadStatic]
    private static bool t_insideJob;

    /// <param name="threads">Threads that run iterations, the caller included (at least 1).</param>
    /// <param name="spinIterations">SpinWait rounds an idle worker spends before blocking.</param>
    public WorkerPool(int threads, int spinIterations = 2000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        Threads = threads;
        _spinIterations = spinIterations;
        _threads = new Thread[threads - 1];
        for (int i = 0; i < _threads.Length; i++)
        {
            _threads[i] = new Thread(WorkerLoop) { IsBackground = true, Name = $"AutoKernel worker {i + 1}" };
            _threads[i].Start();
        }
    }

    /// <summary>A pool with one thread per logical processor.</summary>
    public static WorkerPool Shared => s_shared.Value;

    public int Threads { get; }

    /// <summary>Runs <paramref name="body"/>(state, i) for i in [0, count), spread over the pool. Rethrows the first exception.</summary>
    public void For<TState>(int count, TState state, Action<TState, int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (count <= 0)
            return;
        if (count == 1 || _threads.Length == 0 || t_insideJob)
        {
            for (int i = 0; i < count; i++)
                body(state, i);
            return;
        }
        // One job at a time: a nested or concurrent For runs on the pool after the current one.
        lock (_runLock)
        {
            var job = new Job<TState>(count, state, body, Math.Min(_threads.Length, count - 1));
            Volatile.Write(ref _job, job);
            Interlocked.Increment(ref _generation);
            int sleeping = Volatile.Read(ref _sleeping);
            if (sleeping > 0)
                _wake.Release(Math.Min(sleeping, job.Helpers));
            job.Work();
            job.WaitForHelpers();
            Volatile.Write(ref _job, null);
            job.ThrowIfFailed();
        }
    }

    /// <summary>Runs <paramref name="body"/>(i) for i in [0, count).</summary>
    public void For(int count, Action<int> body) => For(count, body, static (b, i) => b(i));

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        Interlocked.Increment(ref _generation);
        if (_threads.Length > 0)
            _wake.Release(_threads.Length);
        foreach (var t in _threads)
            t.Join();
        _wake.Dispose();
    }

    private void WorkerLoop()
    {
        int seen = Volatile.Read(ref _generation);
        while (true)
        {
            int generation = WaitForGeneration(seen);
            if (_disposed)
                return;
            seen = generation;
            var job = Volatile.Read(ref _job);
            if (job is not null && job.TryJoin())
            {
                job.Work();
                job.Leave();
            }
        }
    }

    private int WaitForGeneration(int seen)
    {
        var spinner = new SpinWait();
        for (int i = 0; i < _spinIterations; i++)
        {
            int g = Volatile.Read(ref _generation);
            if (g != seen)
                return g;
            spinner.SpinOnce(sleep1Threshold: -1);
        }
        while (true)
        {
            Interlocked.Increment(ref _sleeping);
            int g = Volatile.Read(ref _generation);
            if (g != seen)
            {
                Interlocked.Decrement(ref _sleeping);
                return g;
            }
            _wake.Wait();
            Interlocked.Decrement(ref _sleeping);
            g = Volatile.Read(ref _generation);
            if (g != seen)
                return g;
        }
    }

    private abstract class Job(int count, int helpers)
    {
        private int _next = -1;
        private int _joined;
        private int _active;
        private Exception? _error;

        public int Count { get; } = count;

        /// <summary>How many workers may join; more would only contend for the counter.</summary>
        public int Helpers { get; } = helpers;

        public bool TryJoin()
        {
            if (Interlocked.Increment(ref _joined) > Helpers)
                return false;
            Interlocked.Increment(ref _active);
            return true;
        }

        public void Leave() => Interlocked.Decrement(ref _active);

        public void Work()
        {
            t_insideJob = true;
            try
            {
                int i;
                while ((i = Interlocked.Increment(ref _next)) < Count && _error is null)
                    Run(i);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _error, e, null);
            }
            finally
            {
                t_insideJob = false;
            }
        }

        public void WaitForHelpers()
        {
            // Late workers that never joined are excluded by closing the door first.
            Interlocked.Add(ref _joined, Helpers + 1);
            var spinner = new SpinWait();
            while (Volatile.Read(ref _active) > 0)
                spinner.SpinOnce(sleep1Threshold: -1);
        }

        public void ThrowIfFailed()
        {
            if (_error is not null)
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(_error);
        }

        protected abstract void Run(int i);
    }

    private sealed class Job<TState>(int count, TState state, Action<TState, int> body, int helpers) : Job(count, helpers)
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        protected override void Run(int i) => body(state, i);
    }
}
