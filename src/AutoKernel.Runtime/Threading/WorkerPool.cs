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

    /// <summary>Workers that have stopped spinning and block (or are about to) until the next job: for tests.</summary>
    internal int SleepingWorkers => Volatile.Read(ref _sleeping);

    /// <summary>
    /// Runs <paramref name="body"/>(state, i) for i in [0, count), spread over the pool. Rethrows the
    /// first exception. Allocates nothing in steady state: the job object for each
    /// <typeparamref name="TState"/> is reused from call to call (pass a static lambda, which the
    /// compiler caches, and a struct or an existing object as the state).
    /// </summary>
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
        // One job at a time: a concurrent For runs on the pool after the current one (a nested one runs inline, above).
        lock (_runLock)
        {
            // Take this state type's idle job (another pool may hold it right now: then make a second one).
            var job = Interlocked.Exchange(ref JobSlot<TState>.Idle, null) ?? new Job<TState>();
            job.Start(count, state, body, Math.Min(_threads.Length, count - 1));
            Volatile.Write(ref _job, job);
            Interlocked.Increment(ref _generation);
            int sleeping = Volatile.Read(ref _sleeping);
            if (sleeping > 0)
                _wake.Release(Math.Min(sleeping, job.Helpers));
            job.Work();
            job.WaitForHelpers();
            Volatile.Write(ref _job, null);
            var error = job.Finish();
            Volatile.Write(ref JobSlot<TState>.Idle, job);
            if (error is not null)
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
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
        // The generation the pool was built with, not the current one: a worker that first runs
        // after a For or a Dispose has already advanced it must still see that change (reading it
        // here instead, a worker started late waited for a newer generation that never came, and
        // Dispose's join hung).
        int seen = 0;
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

    /// <summary>
    /// One For call's shared counters. A job object is reused by later calls with the same state
    /// type, possibly on another pool; a worker may therefore hold a stale reference to it. Joining
    /// is safe anyway: the door (<c>_joined</c>) is closed between runs and opened only after the
    /// run's fields are written, and a joiner counts itself active before it passes the door, so
    /// the owner's wait for <c>_active == 0</c> covers every thread that runs an iteration. (A
    /// stale worker that joins a later run of the same object runs that run's iterations, counted
    /// like any helper.)
    /// </summary>
    private abstract class Job
    {
        private const int Closed = 1 << 30;

        private int _next;
        private int _joined = Closed;
        private int _active;
        private Exception? _error;

        protected int Count { get; private set; }

        /// <summary>How many workers may join; more would only contend for the counter.</summary>
        public int Helpers { get; private set; }

        /// <summary>Sets up a run; the door opens last, so a joiner sees this run's fields.</summary>
        protected void Open(int count, int helpers)
        {
            Count = count;
            Helpers = helpers;
            _next = -1;
            _error = null;
            Interlocked.Exchange(ref _joined, 0);
        }

        public bool TryJoin()
        {
            Interlocked.Increment(ref _active);
            if (Interlocked.Increment(ref _joined) <= Helpers)
                return true;
            Interlocked.Decrement(ref _active);
            return false;
        }

        public void Leave() => Interlocked.Decrement(ref _active);

        public void Work()
        {
            t_insideJob = true;
            try
            {
                Iterate();
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

        /// <summary>The next iteration to run, or -1 when none is left (or one has failed).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        protected int Next()
        {
            int i = Interlocked.Increment(ref _next);
            return i < Count && Volatile.Read(ref _error) is null ? i : -1;
        }

        public void WaitForHelpers()
        {
            // Close the door first: workers that have not joined yet now fail to, and leave at once.
            Interlocked.Exchange(ref _joined, Closed);
            var spinner = new SpinWait();
            while (Volatile.Read(ref _active) > 0)
                spinner.SpinOnce(sleep1Threshold: -1);
        }

        /// <summary>After <see cref="WaitForHelpers"/>: the run's first exception (or null); drops the run's state and body.</summary>
        public Exception? Finish()
        {
            var error = _error;
            _error = null;
            Clear();
            return error;
        }

        protected abstract void Iterate();

        protected abstract void Clear();
    }

    private sealed class Job<TState> : Job
    {
        private TState _state = default!;
        private Action<TState, int>? _body;

        public void Start(int count, TState state, Action<TState, int> body, int helpers)
        {
            _state = state;
            _body = body;
            Open(count, helpers);
        }

        protected override void Iterate()
        {
            var body = _body!;
            var state = _state;
            int i;
            while ((i = Next()) >= 0)
                body(state, i);
        }

        protected override void Clear()
        {
            _state = default!;
            _body = null;
        }
    }

    /// <summary>The idle job of each state type, shared by every pool.</summary>
    private static class JobSlot<TState>
    {
        public static Job<TState>? Idle;
    }
}
