using System.Diagnostics;
using System.Globalization;
using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Schedules;
using AutoKernel.Generator.Workloads;

namespace AutoKernel.Build.Tuning;

/// <summary>
/// Fixed-length feature vectors of (template, workload, config, target) for the learned cost
/// model, from the loop nest the template emits (<see cref="KernelTemplate.DescribeLoops"/>) plus
/// the raw knob values. Sizes enter as log2, so records of other workloads and templates are on
/// one scale and a model trained on them transfers.
/// </summary>
/// <remarks>
/// <para>Layout, in order (<see cref="Names"/> names every element):</para>
/// <list type="number">
/// <item><b>Loops</b>: <see cref="LoopSlots"/> slots aligned from the innermost loop (slot 0 is the
/// innermost, slot 1 the one around it...), so the micro-kernel's lanes, register block and
/// reduction loops land in the same slots whatever the outer loops of a template are; absent
/// outer slots are zero, and loops beyond the last slot fold into it (extents multiplied, parallel
/// if any of them is). Per slot: <c>log_extent</c> (log2 of the extent), the one-hot annotation
/// (<c>serial</c>, <c>parallel</c>, <c>vectorized</c>, <c>unrolled</c>; all zero when the slot is
/// empty), <c>log_inner_iterations</c> (log2 of the iterations of one execution of the loop, the
/// loops inside included), and per buffer role (input, weight, output) <c>log_touched</c> (log2 of
/// 1 + the bytes one execution of the loop touches) and <c>log_reuse</c> (log2 of how often the loop
/// touches each of those bytes), then <c>log_working_set</c> (log2 of 1 + the bytes of all roles).</item>
/// <item><b>Buffers</b>, per role: <c>log_bytes</c> (what the buffers hold), <c>log_touched</c>
/// (what the whole nest touches), <c>log_reuse</c> (accesses per touched byte over the whole nest).</item>
/// <item><b>Totals</b>: nominal and workload FLOPs, their ratio (padding; winograd's is below 1),
/// other stages' FLOPs and bytes, the fraction of outputs in full register tiles, the loop count,
/// the parallel extent, per core and as load balance (extent / (ceil(extent / cores) * cores), with
/// a serial nest counted as extent 1), registers used and their share of the register file, the
/// innermost vectorized extent (log2 and as a share of the vector width), the register block's
/// size (unrolled and vectorized loops inside the innermost other loop), vector width, cores,
/// arithmetic intensity and total bytes.</item>
/// <item><b>Knobs</b>: <see cref="KnobSlots"/> slots of two values, knobs in declaration order:
/// a split knob's first two factors as log2, a reorder knob's permutation rank, else the raw value
/// (and 0); unused slots are zero.</item>
/// <item><b>Template</b>: one-hot of the template's index in <see cref="KernelTemplates.All"/>.</item>
/// </list>
/// <para>Every value is finite and depends only on the arguments. For many configurations of one
/// template, workload and target, <see cref="For"/> gives an extractor that writes into a span.</para>
/// </remarks>
public static class ScheduleFeatures
{
    /// <summary>Loop slots, innermost first: more than any template's nest (11 at most today).</summary>
    public const int LoopSlots = 12;

    /// <summary>Knob slots: at least the knobs of any template (7 at most today).</summary>
    public const int KnobSlots = 8;

    private static readonly BufferRole[] s_roles = [BufferRole.Input, BufferRole.Weight, BufferRole.Output];

    private static readonly string[] s_names = CreateNames();

    /// <summary>Elements of every vector, for every template and workload.</summary>
    public static int Length => s_names.Length;

    /// <summary>One name per element, e.g. "loop3.log_extent", "weight.log_bytes", "knob2.v0", "template.dense_packed" (a copy).</summary>
    public static string[] Names => (string[])s_names.Clone();

    /// <summary>The feature vector of one configuration of <paramref name="template"/> for <paramref name="workload"/> on <paramref name="target"/>.</summary>
    /// <remarks>Extracting many configurations of one template, workload and target: <see cref="For"/>.</remarks>
    public static float[] Extract(KernelTemplate template, Workload workload, Config config, CpuTarget target) =>
        For(template, workload, target).Extract(config);

    /// <summary>An extractor for the configurations of <paramref name="template"/> for <paramref name="workload"/> on <paramref name="target"/>, with what does not depend on the configuration computed once.</summary>
    public static ScheduleFeatureExtractor For(KernelTemplate template, Workload workload, CpuTarget target)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(workload);
        ArgumentNullException.ThrowIfNull(target);
        return new ScheduleFeatureExtractor(template, workload, target);
    }

    /// <summary>The names in layout order: <see cref="ScheduleFeatureExtractor.Extract(Config, Span{float})"/> writes the values in this order, so change them together.</summary>
    private static string[] CreateNames()
    {
        var names = new List<string>();
        string[] annotations = [.. ((LoopAnnotation[])Enum.GetValues(typeof(LoopAnnotation))).Select(a => a.ToString().ToLowerInvariant())];
        for (int slot = 0; slot < LoopSlots; slot++)
        {
            string p = "loop" + slot.ToString(CultureInfo.InvariantCulture) + ".";
            names.Add(p + "log_extent");
            foreach (string annotation in annotations)
                names.Add(p + annotation);
            names.Add(p + "log_inner_iterations");
            foreach (var role in s_roles)
            {
                names.Add(p + RoleName(role) + ".log_touched");
                names.Add(p + RoleName(role) + ".log_reuse");
            }
            names.Add(p + "log_working_set");
        }

        foreach (var role in s_roles)
        {
            string p = RoleName(role) + ".";
            names.Add(p + "log_bytes");
            names.Add(p + "log_touched");
            names.Add(p + "log_reuse");
        }

        names.AddRange(
        [
            "log_flops", "log_workload_flops", "padding", "log_auxiliary_flops", "log_auxiliary_bytes", "full_tile_fraction",
            "loop_count", "log_parallel_extent", "parallel_per_core", "load_balance", "vector_registers", "register_pressure",
            "log_vector_extent", "vector_fraction", "log_register_block", "log_vector_bits", "log_cores",
            "log_arithmetic_intensity", "log_total_bytes",
        ]);

        for (int knob = 0; knob < KnobSlots; knob++)
        {
            string p = "knob" + knob.ToString(CultureInfo.InvariantCulture) + ".";
            names.Add(p + "v0");
            names.Add(p + "v1");
        }

        foreach (var template in KernelTemplates.All)
            names.Add("template." + template.Name);
        return [.. names];
    }

    private static string RoleName(BufferRole role) => role.ToString().ToLowerInvariant();

    /// <summary>log2 of a positive value, 0 otherwise (absent or empty quantities).</summary>
    internal static double Log2(double value) => value > 0 ? Math.Log2(value) : 0;
}

/// <summary>
/// <see cref="ScheduleFeatures"/> of the configurations of one template for one workload on one
/// target (<see cref="ScheduleFeatures.For"/>): the template one-hot, workload and target features
/// are computed once, each configuration's loop nest per call. Immutable: threads may share one.
/// </summary>
public sealed class ScheduleFeatureExtractor
{
    private const int LoopSlots = ScheduleFeatures.LoopSlots;
    private const int KnobSlots = ScheduleFeatures.KnobSlots;

    /// <summary>Features per loop slot: log_extent, 4 annotations, log_inner_iterations, 2 per role, log_working_set.</summary>
    private const int SlotWidth = 13;

    private readonly int _templateIndex;
    private readonly long _workloadFlops;
    private readonly int _cores, _vectorFloats, _registerFile;
    private readonly float _logWorkloadFlops, _logVectorBits, _logCores;

    internal ScheduleFeatureExtractor(KernelTemplate template, Workload workload, CpuTarget target)
    {
        Template = template;
        Workload = workload;
        Target = target;
        _templateIndex = -1;
        for (int i = 0; i < KernelTemplates.All.Count; i++)
        {
            if (KernelTemplates.All[i].Name == template.Name)
                _templateIndex = i;
        }
        _workloadFlops = workload.Flops;
        _cores = target.Cores;
        _vectorFloats = target.VectorFloats;
        _registerFile = Conv2dNchwcTemplate.RegisterFile(target);
        _logWorkloadFlops = (float)Log2(_workloadFlops);
        _logVectorBits = (float)Log2(target.VectorBits);
        _logCores = (float)Log2(target.Cores);
    }

    public KernelTemplate Template { get; }

    public Workload Workload { get; }

    public CpuTarget Target { get; }

    /// <summary>The feature vector of <paramref name="config"/> (<see cref="ScheduleFeatures.Length"/> elements).</summary>
    public float[] Extract(Config config)
    {
        var values = new float[ScheduleFeatures.Length];
        Extract(config, values);
        return values;
    }

    /// <summary>Writes the feature vector of <paramref name="config"/> to the first <see cref="ScheduleFeatures.Length"/> elements of <paramref name="destination"/>.</summary>
    /// <remarks>Writes the elements in the order of <see cref="ScheduleFeatures.Names"/> (ScheduleFeatures.CreateNames): change them together.</remarks>
    public void Extract(Config config, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (destination.Length < ScheduleFeatures.Length)
            throw new ArgumentException($"the destination holds {destination.Length} of {ScheduleFeatures.Length} features", nameof(destination));
        var nest = Template.DescribeLoops(Workload, config, Target);
        var f = destination[..ScheduleFeatures.Length];
        f.Clear();

        var loops = nest.Loops;
        int n = loops.Count;
        // Per loop, outermost first: extents and annotations, and the iterations of the loops from d inward (inner[n] = 1).
        Span<long> extents = n <= 64 ? stackalloc long[n] : new long[n];
        Span<long> inner = n <= 64 ? stackalloc long[n + 1] : new long[n + 1];
        Span<byte> annotations = n <= 64 ? stackalloc byte[n] : new byte[n];
        for (int d = 0; d < n; d++)
        {
            var loop = loops[d];
            extents[d] = loop.Extent;
            annotations[d] = (byte)loop.Annotation;
        }
        inner[n] = 1;
        for (int d = n - 1; d >= 0; d--)
            inner[d] = checked(inner[d + 1] * extents[d]);

        // Bytes touched per role (input, weight, output) and depth, summed over the role's buffers.
        Span<long> touched = 3 * (n + 1) <= 192 ? stackalloc long[3 * (n + 1)] : new long[3 * (n + 1)];
        touched.Clear();
        Span<long> bytes = stackalloc long[3];
        bytes.Clear();
        foreach (var b in nest.Buffers)
        {
            int r = RoleIndex(b.Role);
            if (r < 0)
                continue;
            bytes[r] += b.Bytes;
            var levels = b.TouchedPerLevel;
            var row = touched.Slice(r * (n + 1), n + 1);
            for (int d = 0; d <= n; d++)
                row[d] += levels[d];
        }

        // Loops: slot j is loop n-1-j; the last slot folds the outermost loops when there are more.
        int at = 0;
        for (int j = 0; j < LoopSlots && j < n; j++, at += SlotWidth)
        {
            bool fold = j == LoopSlots - 1 && n > LoopSlots;
            int innerLoop = n - 1 - j, outer = fold ? 0 : innerLoop;
            long extent = 1;
            bool parallel = false;
            for (int d = outer; d <= innerLoop; d++)
            {
                extent = checked(extent * extents[d]);
                parallel |= annotations[d] == (byte)LoopAnnotation.Parallel;
            }
            int annotation = parallel ? (int)LoopAnnotation.Parallel : annotations[innerLoop];
            f[at] = (float)Log2(extent);
            f[at + 1 + annotation] = 1;
            f[at + 5] = (float)Log2(inner[outer]);
            double workingSet = 0;
            for (int r = 0; r < 3; r++)
            {
                long whole = touched[r * (n + 1) + outer];
                long one = touched[r * (n + 1) + innerLoop + 1];
                f[at + 6 + 2 * r] = (float)Log2(1 + whole);
                f[at + 7 + 2 * r] = (float)Log2(whole > 0 ? (double)one * extent / whole : 0);
                workingSet += whole;
            }
            f[at + 12] = (float)Log2(1 + workingSet);
        }

        // Buffers, per role.
        at = LoopSlots * SlotWidth;
        long iterations = inner[0];
        for (int r = 0; r < 3; r++, at += 3)
        {
            long whole = touched[r * (n + 1)], one = touched[r * (n + 1) + n];
            f[at] = (float)Log2(1 + bytes[r]);
            f[at + 1] = (float)Log2(1 + whole);
            f[at + 2] = (float)(whole > 0 ? Log2(one * (double)iterations / whole) : 0);
        }

        // Totals.
        long flops = checked(iterations * nest.FlopsPerInnermostIteration);
        long parallelExtent = 1, vectorExtent = 0, registerBlock = 1;
        for (int d = 0; d < n; d++)
        {
            if (annotations[d] == (byte)LoopAnnotation.Parallel)
            {
                parallelExtent = extents[d];
                break;
            }
        }
        for (int d = n - 1; d >= 0; d--)
        {
            if (annotations[d] == (byte)LoopAnnotation.Vectorized)
            {
                vectorExtent = extents[d];
                break;
            }
        }
        for (int d = n - 1; d >= 0 && annotations[d] is (byte)LoopAnnotation.Unrolled or (byte)LoopAnnotation.Vectorized; d--)
            registerBlock = checked(registerBlock * extents[d]);
        double touchedTotal = 0, totalBytes = 0;
        for (int r = 0; r < 3; r++)
        {
            touchedTotal += touched[r * (n + 1)];
            totalBytes += bytes[r];
        }
        f[at++] = (float)Log2(flops);
        f[at++] = _logWorkloadFlops;
        f[at++] = (float)(_workloadFlops > 0 ? (double)flops / _workloadFlops : 0);
        f[at++] = (float)Log2(1 + nest.AuxiliaryFlops);
        f[at++] = (float)Log2(1 + nest.AuxiliaryBytes);
        f[at++] = (float)nest.FullTileFraction;
        f[at++] = (float)(double)n;
        f[at++] = (float)Log2(parallelExtent);
        f[at++] = (float)((double)parallelExtent / _cores);
        f[at++] = (float)((double)parallelExtent / ((parallelExtent + _cores - 1) / _cores * _cores));
        f[at++] = (float)(double)nest.VectorRegisters;
        f[at++] = (float)((double)nest.VectorRegisters / _registerFile);
        f[at++] = (float)Log2(vectorExtent);
        f[at++] = (float)((double)vectorExtent / _vectorFloats);
        f[at++] = (float)Log2(registerBlock);
        f[at++] = _logVectorBits;
        f[at++] = _logCores;
        f[at++] = (float)(touchedTotal > 0 ? Log2(flops / touchedTotal) : 0);
        f[at++] = (float)Log2(1 + totalBytes);

        // Knobs: a split's first two factors as log2, a reorder's permutation rank, else the raw value.
        var knobs = config.Space.Knobs;
        var choices = config.Choices;
        for (int k = 0; k < KnobSlots && k < knobs.Count; k++)
        {
            var knob = knobs[k];
            var values = knob[choices[k]];
            switch (knob.Kind)
            {
                case KnobKind.Split:
                    f[at + 2 * k] = values.Count > 0 ? (float)Log2(values[0]) : 0;
                    f[at + 2 * k + 1] = values.Count > 1 ? (float)Log2(values[1]) : 0;
                    break;
                case KnobKind.Reorder:
                    f[at + 2 * k] = (float)(double)PermutationRank(values);
                    break;
                default:
                    f[at + 2 * k] = (float)(double)values[0];
                    break;
            }
        }
        at += 2 * KnobSlots;

        // Template one-hot.
        if (_templateIndex >= 0)
            f[at + _templateIndex] = 1;
        Debug.Assert(at + KernelTemplates.All.Count == ScheduleFeatures.Length);
    }

    private static double Log2(double value) => ScheduleFeatures.Log2(value);

    private static int RoleIndex(BufferRole role) => role switch
    {
        BufferRole.Input => 0,
        BufferRole.Weight => 1,
        BufferRole.Output => 2,
        _ => -1,
    };

    /// <summary>The lexicographic rank of a permutation of 0..n-1 (0 for the identity).</summary>
    private static long PermutationRank(IReadOnlyList<int> permutation)
    {
        long rank = 0;
        for (int i = 0; i < permutation.Count; i++)
        {
            int smaller = 0;
            for (int j = i + 1; j < permutation.Count; j++)
            {
                if (permutation[j] < permutation[i])
                    smaller++;
            }
            rank = rank * (permutation.Count - i) + smaller;
        }
        return rank;
    }
}
