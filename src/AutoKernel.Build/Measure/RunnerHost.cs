using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;
using System.Text;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Reference;
using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Workloads;
using AutoKernel.Runtime.Kernels;
using AutoKernel.Runtime.Threading;

namespace AutoKernel.Build.Measure;

/// <summary>
/// The child side of <see cref="Runner"/> (`autokernel runner`): reads requests from stdin, loads
/// candidates (one collectible load context per batch assembly), checks them against the reference
/// kernels and times them, and writes replies to stdout. Anything the candidate prints goes to stderr.
/// </summary>
internal static unsafe class RunnerHost
{
    public const double Rtol = 1e-3;
    public const double Atol = 1e-3;
    private const int ReferenceOpset = 17;
    private const long DefaultFlushBytes = 128L << 20;

    public static int Run()
    {
        using var input = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false));
        using var output = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = true };
        // Candidates that print must not corrupt the protocol.
        Console.SetOut(Console.Error);
        Console.SetIn(TextReader.Null);
        WatchParent();
        // A terminal's Ctrl+C reaches the whole process group: the parent decides when to stop
        // (after this candidate), so the child ignores the signals it would otherwise die of.
        using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => c.Cancel = true);
        using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => c.Cancel = true);
        using var host = new Host();
        string? line;
        while ((line = input.ReadLine()) is not null)
        {
            if (line.Length == 0)
                continue;
            var request = RunnerProtocol.Deserialize<RunnerRequest>(line);
            var reply = host.Measure(request, () => output.WriteLine(RunnerProtocol.Serialize(new RunnerReply { Id = request.Id, Ready = true })));
            output.WriteLine(RunnerProtocol.Serialize(reply with { Id = request.Id }));
        }
        return 0;
    }

    /// <summary>Environment variable through which <see cref="Runner"/> passes its process id.</summary>
    public const string ParentVariable = "AUTOKERNEL_RUNNER_PARENT";

    /// <summary>
    /// A candidate stuck in a loop never returns to read stdin's end, so a child whose parent died
    /// would spin on: a watchdog thread ends the process when the parent is gone.
    /// </summary>
    private static void WatchParent()
    {
        if (!int.TryParse(Environment.GetEnvironmentVariable(ParentVariable), NumberStyles.Integer, CultureInfo.InvariantCulture, out int pid))
            return;
        Process parent;
        try
        {
            parent = Process.GetProcessById(pid);
        }
        catch (ArgumentException)
        {
            Environment.Exit(3);
            return;
        }
        var watchdog = new Thread(() =>
        {
            while (true)
            {
                Thread.Sleep(1000);
                bool gone;
                try
                {
                    parent.Refresh();
                    gone = parent.HasExited;
                }
                catch (InvalidOperationException)
                {
                    gone = true;
                }
                if (gone)
                    Process.GetCurrentProcess().Kill();
            }
        })
        { IsBackground = true, Name = "AutoKernel runner watchdog" };
        watchdog.Start();
    }

    /// <summary>Standard-layout data and the reference output for one (workload, epilogue, seed).</summary>
    private sealed record Problem(float[] Input, float[] Weights, float[]? Bias, float[]? Residual, float[] Expected);

    private sealed class Host : IDisposable
    {
        private readonly Dictionary<string, Problem> _problems = new(StringComparer.Ordinal);
        private string? _assemblyPath;
        private AssemblyLoadContext? _context;
        private Assembly? _assembly;
        private WorkerPool? _pool;
        private byte* _flush;
        private long _flushBytes;

        public RunnerReply Measure(RunnerRequest request, Action ready)
        {
            Problem problem;
            Workload workload;
            Epilogue epilogue;
            try
            {
                workload = request.Workload.ToWorkload();
                epilogue = request.Epilogue.ToEpilogue();
                problem = GetProblem(workload, epilogue, request.Seed);
            }
            catch (Exception e)
            {
                ready();
                return Fail(MeasureError.RuntimeError, "reference failed: " + Describe(e));
            }
            if (request.FlushCache)
                EnsureFlushBuffer();
            ready();
            try
            {
                return MeasureKernel(request, problem);
            }
            catch (Exception e)
            {
                return Fail(MeasureError.RuntimeError, Describe(e));
            }
        }

        private RunnerReply MeasureKernel(RunnerRequest request, Problem problem)
        {
            var type = LoadAssembly(request.Assembly).GetType(request.ClassName, throwOnError: false)
                ?? throw new InvalidOperationException($"type {request.ClassName} is not in the batch assembly");
            object instance;
            try
            {
                instance = Activator.CreateInstance(type)!;
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                throw e.InnerException;
            }
            if (instance is not ITunedKernel kernel)
                throw new InvalidOperationException($"{request.ClassName} does not implement ITunedKernel");
            try
            {
                return MeasureInstance(request, problem, kernel);
            }
            finally
            {
                (instance as IDisposable)?.Dispose();
            }
        }

        private RunnerReply MeasureInstance(RunnerRequest request, Problem problem, ITunedKernel kernel)
        {
            int inputLength = kernel.InputLength, outputLength = kernel.OutputLength;
            if (inputLength < 0 || outputLength < 0)
                throw new InvalidOperationException($"negative buffer lengths {inputLength}, {outputLength}");
            var pool = Pool(request.Threads);
            float* x = null, y = null, r = null;
            try
            {
                x = Alloc(inputLength);
                y = Alloc(outputLength);
                if (problem.Residual is not null)
                    r = Alloc(outputLength);
                kernel.Prepare((float[])problem.Weights.Clone(), (float[]?)problem.Bias?.Clone());
                kernel.InputToNative(problem.Input, new Span<float>(x, inputLength));
                if (problem.Residual is not null)
                    kernel.OutputToNative(problem.Residual, new Span<float>(r, outputLength));
                new Span<float>(y, outputLength).Fill(float.NaN);

                kernel.Run(x, y, r, pool);
                var actual = new float[problem.Expected.Length];
                kernel.OutputFromNative(new ReadOnlySpan<float>(y, outputLength), actual);
                if (Compare(actual, problem.Expected) is { } mismatch)
                    return Fail(MeasureError.WrongAnswer, mismatch);

                for (int i = 1; i < request.Warmup; i++)
                    kernel.Run(x, y, r, pool);

                // Number: raised until one repeat lasts MinRepeatMs (AutoTVM's min_repeat_ms), within the time budget.
                double minSeconds = request.MinRepeatMs / 1000.0;
                double maxRepeatSeconds = Calibration.RepeatBudget(request.BudgetSeconds, request.Repeat, minSeconds);
                double Timed(int n) => Time(kernel, x, y, r, pool, n);
                int number = Calibration.Calibrate(Math.Max(1, request.Number), minSeconds, maxRepeatSeconds, Timed);

                var costs = new double[Math.Max(1, request.Repeat)];
                for (int i = 0; i < costs.Length; i++)
                {
                    (costs[i], number) = Calibration.Repeat(number, minSeconds, maxRepeatSeconds, n =>
                    {
                        if (request.FlushCache)
                            Flush();
                        return Timed(n);
                    });
                }
                return new RunnerReply { Error = MeasureError.None, Costs = costs, Number = number };
            }
            finally
            {
                NativeMemory.AlignedFree(x);
                NativeMemory.AlignedFree(y);
                NativeMemory.AlignedFree(r);
            }
        }

        private static double Time(ITunedKernel kernel, float* x, float* y, float* r, WorkerPool pool, int number)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < number; i++)
                kernel.Run(x, y, r, pool);
            return Stopwatch.GetElapsedTime(start).TotalSeconds;
        }

        /// <summary>Allocates and touches the flush buffer outside the candidate's time.</summary>
        private void EnsureFlushBuffer()
        {
            if (_flush is not null)
                return;
            _flushBytes = FlushSize();
            _flush = (byte*)NativeMemory.AlignedAlloc((nuint)_flushBytes, 64);
            new Span<byte>(_flush, checked((int)_flushBytes)).Clear();
        }

        private void Flush()
        {
            EnsureFlushBuffer();
            long* p = (long*)_flush;
            long n = _flushBytes / sizeof(long);
            for (long i = 0; i < n; i += 8)
                p[i] += 1;
        }

        private static float* Alloc(int floats)
        {
            var p = (float*)NativeMemory.AlignedAlloc((nuint)Math.Max(1, floats) * sizeof(float), 64);
            new Span<float>(p, floats).Clear();
            return p;
        }

        private WorkerPool Pool(int threads)
        {
            int n = threads <= 0 ? Environment.ProcessorCount : threads;
            if (_pool is null || _pool.Threads != n)
            {
                _pool?.Dispose();
                _pool = new WorkerPool(n);
            }
            return _pool;
        }

        private Assembly LoadAssembly(string path)
        {
            if (_assembly is not null && _assemblyPath == path)
                return _assembly;
            if (_context is not null)
            {
                _assembly = null;
                _context.Unload();
                _context = null;
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
            _assemblyPath = path;
            _context = new AssemblyLoadContext("autokernel-batch", isCollectible: true);
            // From bytes, so that the parent can delete the file while we hold the assembly.
            using var stream = new MemoryStream(File.ReadAllBytes(path));
            _assembly = _context.LoadFromStream(stream);
            return _assembly;
        }

        private Problem GetProblem(Workload workload, Epilogue epilogue, int seed)
        {
            string key = string.Create(CultureInfo.InvariantCulture,
                $"{workload.Key}|bias={epilogue.Bias}|residual={epilogue.Residual}|act={epilogue.Activation}({epilogue.Alpha:R},{epilogue.Beta:R})|seed={seed}");
            if (_problems.TryGetValue(key, out var problem))
                return problem;
            problem = CreateProblem(workload, epilogue, seed);
            if (_problems.Count > 64)
                _problems.Clear();
            _problems[key] = problem;
            return problem;
        }

        public void Dispose()
        {
            _pool?.Dispose();
            NativeMemory.AlignedFree(_flush);
            _flush = null;
        }
    }

    /// <summary>Seeded random standard-layout data and the reference output of the fused node.</summary>
    private static Problem CreateProblem(Workload workload, Epilogue epilogue, int seed)
    {
        var random = new Random(seed);
        Node node;
        int[] inputShape, weightShape, outputShape;
        switch (workload)
        {
            case Conv2dWorkload c:
                inputShape = [c.Batch, c.InChannels, c.InHeight, c.InWidth];
                weightShape = [c.OutChannels, c.InChannels / c.Groups, c.KernelHeight, c.KernelWidth];
                outputShape = [c.Batch, c.OutChannels, c.OutHeight, c.OutWidth];
                node = new Node("candidate", FusedOps.FusedConv, [], ["Y"], FusedOps.Domain)
                    .Set(NodeAttribute.IntList("kernel_shape", [c.KernelHeight, c.KernelWidth]))
                    .Set(NodeAttribute.IntList("strides", [c.StrideHeight, c.StrideWidth]))
                    .Set(NodeAttribute.IntList("pads", [c.PadTop, c.PadLeft, c.PadBottom, c.PadRight]))
                    .Set(NodeAttribute.IntList("dilations", [c.DilationHeight, c.DilationWidth]))
                    .Set(NodeAttribute.Int("group", c.Groups));
                break;
            case DenseWorkload d:
                inputShape = [d.M, d.K];
                weightShape = [d.N, d.K];
                outputShape = [d.M, d.N];
                // The dense kernel computes X[M,K]·W[N,K]ᵀ + bias[N]: the reference is a FusedGemm of
                // exactly that form. Extraction (DenseOperands) normalizes every tunable Gemm/MatMul
                // node to it (B transposed to [N,K], alpha folded into W, beta·C into the bias), so
                // checking this form checks what the node computes.
                node = new Node("candidate", FusedOps.FusedGemm, [], ["Y"], FusedOps.Domain)
                    .Set(NodeAttribute.Int("transA", 0))
                    .Set(NodeAttribute.Int("transB", 1))
                    .Set(NodeAttribute.Float("alpha", 1f))
                    .Set(NodeAttribute.Float("beta", 1f));
                break;
            default:
                throw new NotSupportedException($"the runner cannot check {workload.Kind} workloads");
        }
        node.Inputs.AddRange(["X", "W", epilogue.Bias ? "B" : "", epilogue.Residual ? "R" : ""]);
        if (epilogue.Activation.Length > 0)
        {
            node.Set(NodeAttribute.String(FusedOps.ActivationAttribute, epilogue.Activation))
                .Set(NodeAttribute.Float(FusedOps.AlphaAttribute, epilogue.Alpha))
                .Set(NodeAttribute.Float(FusedOps.BetaAttribute, epilogue.Beta));
        }
        var input = RandomFloats(random, Count(inputShape));
        var weights = RandomFloats(random, Count(weightShape));
        var bias = epilogue.Bias ? RandomFloats(random, weightShape[0]) : null;
        var residual = epilogue.Residual ? RandomFloats(random, Count(outputShape)) : null;
        var outputs = ReferenceKernels.Run(node, ReferenceOpset,
        [
            Tensor.FromFloats(inputShape, input),
            Tensor.FromFloats(weightShape, weights),
            bias is null ? null : Tensor.FromFloats([bias.Length], bias),
            residual is null ? null : Tensor.FromFloats(outputShape, residual),
        ]);
        var expected = outputs[0].Floats;
        if (expected.Length != Count(outputShape))
            throw new InvalidOperationException($"reference output has {expected.Length} values, expected {Count(outputShape)}");
        return new Problem(input, weights, bias, residual, expected);
    }

    /// <summary>Twice the largest CPU cache Linux reports (at least 32 MiB), else 128 MiB.</summary>
    private static long FlushSize()
    {
        long largest = 0;
        try
        {
            const string caches = "/sys/devices/system/cpu/cpu0/cache";
            if (Directory.Exists(caches))
            {
                foreach (var dir in Directory.EnumerateDirectories(caches, "index*"))
                {
                    string file = Path.Combine(dir, "size");
                    if (!File.Exists(file))
                        continue;
                    string text = File.ReadAllText(file).Trim();
                    long scale = text.EndsWith('K') ? 1L << 10 : text.EndsWith('M') ? 1L << 20 : 1;
                    if (long.TryParse(text.TrimEnd('K', 'M'), NumberStyles.Integer, CultureInfo.InvariantCulture, out long size))
                        largest = Math.Max(largest, size * scale);
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return largest > 0 ? Math.Clamp(2 * largest, 32L << 20, 1L << 30) : DefaultFlushBytes;
    }

    private static int Count(int[] shape) => checked(shape.Aggregate(1, (a, b) => a * b));

    private static float[] RandomFloats(Random random, int count)
    {
        var data = new float[count];
        for (int i = 0; i < data.Length; i++)
            data[i] = random.NextSingle() * 2f - 1f;
        return data;
    }

    /// <summary>
    /// Null when every output matches its reference value, else how many do not and the worst miss.
    /// An output matches when it lies within <see cref="Atol"/> + <see cref="Rtol"/>·|expected| of
    /// the reference (computed in double, the bound included) or equals it, so an infinite reference
    /// is matched by the same infinity and nothing else. NaN matches nothing, a NaN reference
    /// included: the output is filled with NaN before the run, so an output the kernel left unwritten
    /// is a wrong answer. The worst miss is the one furthest past its bound (NaN and infinities
    /// count as infinitely far; the first of equals).
    /// </summary>
    internal static string? Compare(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected)
    {
        if (actual.Length != expected.Length)
            return string.Create(CultureInfo.InvariantCulture, $"{actual.Length} outputs, the reference has {expected.Length}");
        int bad = 0, worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double a = actual[i], e = expected[i];
            double diff = Math.Abs(a - e), limit = Atol + Rtol * Math.Abs(e);
            if (a == e || (double.IsFinite(e) && diff <= limit))
                continue;
            bad++;
            double excess = double.IsFinite(e) && double.IsFinite(diff) ? diff - limit : double.PositiveInfinity;
            if (worst < 0 || excess > worstExcess)
            {
                worst = i;
                worstExcess = excess;
            }
        }
        return bad == 0 ? null : string.Create(CultureInfo.InvariantCulture,
            $"{bad} of {expected.Length} outputs differ from the reference (rtol {Rtol}, atol {Atol}); worst at {worst}: got {actual[worst]:G9}, expected {expected[worst]:G9}");
    }

    private static RunnerReply Fail(MeasureError error, string message) => new() { Error = error, Message = message, Costs = [] };

    private static string Describe(Exception e) => $"{e.GetType().FullName}: {e.Message}";
}
