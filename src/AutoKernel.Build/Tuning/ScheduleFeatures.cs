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
/// <para>Layout, in order (<see cref="Names"/> names every element; one method writes each value
/// with its name, and the names are that method's pass over an empty nest):</para>
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

    /// <summary>The names, from a pass of the writer that emits the values (<see cref="ScheduleFeatureExtractor.Write"/>), so the two cannot drift apart.</summary>
    private static readonly string[] s_names = ScheduleFeatureExtractor.LayoutNames();

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

    /// <summary>Prefixes of the loop slots' names: "loop0.", "loop1."...</summary>
    private static readonly string[] s_loopSlots = [.. Enumerable.Range(0, LoopSlots).Select(i => "loop" + i.ToString(CultureInfo.InvariantCulture) + ".")];

    /// <summary>Prefixes of the knob slots' names: "knob0.", "knob1."...</summary>
    private static readonly string[] s_knobSlots = [.. Enumerable.Range(0, KnobSlots).Select(i => "knob" + i.ToString(CultureInfo.InvariantCulture) + ".")];

    /// <summary>The one-hot annotation's names, by the value of <see cref="LoopAnnotation"/>: serial, parallel, vectorized, unrolled.</summary>
    private static readonly string[] s_annotations = [.. Enum.GetValues<LoopAnnotation>().Select(a => a.ToString().ToLowerInvariant())];

    /// <summary>The buffer roles' names, by <see cref="RoleIndex"/>.</summary>
    private static readonly string[] s_roles = ["input", "weight", "output"];

    private readonly TargetFacts _facts;

    internal ScheduleFeatureExtractor(KernelTemplate template, Workload workload, CpuTarget target)
    {
        Template = template;
        Workload = workload;
        Target = target;
        int templateIndex = -1;
        for (int i = 0; i < KernelTemplates.All.Count; i++)
        {
            if (KernelTemplates.All[i].Name == template.Name)
                templateIndex = i;
        }
        _facts = new TargetFacts(templateIndex, workload.Flops, target.Cores, target.VectorFloats, Conv2dNchwcTemplate.RegisterFile(target),
            (float)Log2(workload.Flops), (float)Log2(target.VectorBits), (float)Log2(target.Cores));
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
    public void Extract(Config config, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (destination.Length < ScheduleFeatures.Length)
            throw new ArgumentException($"the destination holds {destination.Length} of {ScheduleFeatures.Length} features", nameof(destination));
        var writer = new FeatureWriter(destination[..ScheduleFeatures.Length]);
        Write(ref writer, Template.DescribeLoops(Workload, config, Target), config, _facts);
        if (writer.Count != ScheduleFeatures.Length)
            throw new InvalidOperationException($"wrote {writer.Count} of {ScheduleFeatures.Length} features");
    }

    /// <summary>The name of every feature in layout order: the writer's pass over an empty nest, recording names instead of values.</summary>
    internal static string[] LayoutNames()
    {
        var names = new List<string>();
        var writer = new FeatureWriter(names);
        Write(ref writer, new LoopNest([], [], 0, 0), config: null, new TargetFacts(TemplateIndex: -1, WorkloadFlops: 0, Cores: 1, VectorFloats: 1, RegisterFile: 1, LogWorkloadFlops: 0, LogVectorBits: 0, LogCores: 0));
        return [.. names];
    }

    /// <summary>What the vector takes from the template, workload and target, computed once per extractor.</summary>
    private readonly record struct TargetFacts(int TemplateIndex, long WorkloadFlops, int Cores, int VectorFloats, int RegisterFile, float LogWorkloadFlops, float LogVectorBits, float LogCores);

    /// <summary>
    /// Writes the whole vector, in layout order, each value under its name: the one place that
    /// defines the layout (see <see cref="ScheduleFeatures"/>). Every section writes a fixed number
    /// of elements whatever the nest (absent loops and knobs as zeros), so a pass over an empty nest
    /// names them all.
    /// </summary>
    private static void Write(ref FeatureWriter w, LoopNest nest, Config? config, in TargetFacts facts)
    {
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
        // An absent slot (j >= n) is extent 1, no annotation, nothing touched: all its features are 0.
        Span<long> whole = stackalloc long[3], one = stackalloc long[3];
        for (int j = 0; j < LoopSlots; j++)
        {
            w.Slot(s_loopSlots[j]);
            long extent = 1, iterations = 1;
            int annotation = -1;
            whole.Clear();
            one.Clear();
            if (j < n)
            {
                bool fold = j == LoopSlots - 1 && n > LoopSlots;
                int innerLoop = n - 1 - j, outer = fold ? 0 : innerLoop;
                bool parallel = false;
                for (int d = outer; d <= innerLoop; d++)
                {
                    extent = checked(extent * extents[d]);
                    parallel |= annotations[d] == (byte)LoopAnnotation.Parallel;
                }
                annotation = parallel ? (int)LoopAnnotation.Parallel : annotations[innerLoop];
                iterations = inner[outer];
                for (int r = 0; r < 3; r++)
                {
                    whole[r] = touched[r * (n + 1) + outer];
                    one[r] = touched[r * (n + 1) + innerLoop + 1];
                }
            }
            w.Add("log_extent", Log2(extent));
            for (int a = 0; a < s_annotations.Length; a++)
                w.Add(s_annotations[a], a == annotation ? 1 : 0);
            w.Add("log_inner_iterations", Log2(iterations));
            double workingSet = 0;
            for (int r = 0; r < 3; r++)
            {
                w.Add(s_roles[r], "log_touched", Log2(1 + whole[r]));
                w.Add(s_roles[r], "log_reuse", Log2(whole[r] > 0 ? (double)one[r] * extent / whole[r] : 0));
                workingSet += whole[r];
            }
            w.Add("log_working_set", Log2(1 + workingSet));
        }
        w.EndSlot();

        // Buffers, per role, over the whole nest.
        long total = inner[0];
        for (int r = 0; r < 3; r++)
        {
            long all = touched[r * (n + 1)], innermost = touched[r * (n + 1) + n];
            w.Add(s_roles[r], "log_bytes", Log2(1 + bytes[r]));
            w.Add(s_roles[r], "log_touched", Log2(1 + all));
            w.Add(s_roles[r], "log_reuse", all > 0 ? Log2(innermost * (double)total / all) : 0);
        }

        // Totals.
        long flops = checked(total * nest.FlopsPerInnermostIteration);
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
        int cores = facts.Cores;
        w.Add("log_flops", Log2(flops));
        w.Add("log_workload_flops", facts.LogWorkloadFlops);
        w.Add("padding", facts.WorkloadFlops > 0 ? (double)flops / facts.WorkloadFlops : 0);
        w.Add("log_auxiliary_flops", Log2(1 + nest.AuxiliaryFlops));
        w.Add("log_auxiliary_bytes", Log2(1 + nest.AuxiliaryBytes));
        w.Add("full_tile_fraction", nest.FullTileFraction);
        w.Add("loop_count", n);
        w.Add("log_parallel_extent", Log2(parallelExtent));
        w.Add("parallel_per_core", (double)parallelExtent / cores);
        w.Add("load_balance", (double)parallelExtent / ((parallelExtent + cores - 1) / cores * cores));
        w.Add("vector_registers", nest.VectorRegisters);
        w.Add("register_pressure", (double)nest.VectorRegisters / facts.RegisterFile);
        w.Add("log_vector_extent", Log2(vectorExtent));
        w.Add("vector_fraction", (double)vectorExtent / facts.VectorFloats);
        w.Add("log_register_block", Log2(registerBlock));
        w.Add("log_vector_bits", facts.LogVectorBits);
        w.Add("log_cores", facts.LogCores);
        w.Add("log_arithmetic_intensity", touchedTotal > 0 ? Log2(flops / touchedTotal) : 0);
        w.Add("log_total_bytes", Log2(1 + totalBytes));

        // Knobs: a split's first two factors as log2, a reorder's permutation rank, else the raw value; unused slots 0.
        var knobs = config?.Space.Knobs;
        for (int k = 0; k < KnobSlots; k++)
        {
            double v0 = 0, v1 = 0;
            if (knobs is not null && k < knobs.Count)
            {
                var knob = knobs[k];
                var values = knob[config!.Choices[k]];
                switch (knob.Kind)
                {
                    case KnobKind.Split:
                        v0 = values.Count > 0 ? Log2(values[0]) : 0;
                        v1 = values.Count > 1 ? Log2(values[1]) : 0;
                        break;
                    case KnobKind.Reorder:
                        v0 = PermutationRank(values);
                        break;
                    default:
                        v0 = values[0];
                        break;
                }
            }
            w.Slot(s_knobSlots[k]);
            w.Add("v0", v0);
            w.Add("v1", v1);
        }
        w.EndSlot();

        // Template one-hot.
        var templates = KernelTemplates.All;
        for (int t = 0; t < templates.Count; t++)
            w.Add("template", templates[t].Name, t == facts.TemplateIndex ? 1 : 0);
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

/// <summary>
/// Writes a feature vector element by element, each value with its name: into a span (the hot
/// path: no allocation, the names are constants or precomputed prefixes and go unused), or, for
/// the layout, into a list of names (the values go unused). <see cref="ScheduleFeatureExtractor"/>
/// runs the same code both ways, so the names and the values cannot drift apart.
/// </summary>
internal ref struct FeatureWriter
{
    private readonly Span<float> _values;
    private readonly List<string>? _names;
    private string _prefix = "";

    /// <summary>A writer of values into <paramref name="values"/>.</summary>
    public FeatureWriter(Span<float> values)
    {
        _values = values;
        _names = null;
    }

    /// <summary>A writer of names into <paramref name="names"/>.</summary>
    public FeatureWriter(List<string> names)
    {
        _values = default;
        _names = names;
    }

    /// <summary>Elements written so far.</summary>
    public int Count { get; private set; }

    /// <summary>Names from here on start with <paramref name="prefix"/> ("loop3.", "knob0."), until <see cref="EndSlot"/>.</summary>
    public void Slot(string prefix) => _prefix = prefix;

    public void EndSlot() => _prefix = "";

    /// <summary>The next element: <paramref name="value"/> (as float) named <paramref name="name"/> after the slot's prefix.</summary>
    public void Add(string name, double value)
    {
        if (_names is null)
            _values[Count] = (float)value;
        else
            _names.Add(_prefix + name);
        Count++;
    }

    /// <summary>The next element, named "<paramref name="group"/>.<paramref name="name"/>" after the slot's prefix ("loop0.input.log_touched", "template.dense_packed").</summary>
    public void Add(string group, string name, double value)
    {
        if (_names is null)
            _values[Count] = (float)value;
        else
            _names.Add(_prefix + group + "." + name);
        Count++;
    }
}
