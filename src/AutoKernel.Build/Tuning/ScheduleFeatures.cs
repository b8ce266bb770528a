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
/// <para>Every value is finite and depends only on the arguments.</para>
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
    public static float[] Extract(KernelTemplate template, Workload workload, Config config, CpuTarget target)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(workload);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(target);
        var context = new Context(template, workload, config, target, template.DescribeLoops(workload, config, target));
        var values = new float[s_names.Length];
        int i = 0;
        Layout(context, (_, value) => values[i++] = (float)value());
        Debug.Assert(i == values.Length);
        return values;
    }

    private static string[] CreateNames()
    {
        var names = new List<string>();
        Layout(null, (name, _) => names.Add(name));
        return [.. names];
    }

    private static string RoleName(BufferRole role) => role.ToString().ToLowerInvariant();

    /// <summary>Writes the features in order; with no context only the names are wanted and no value is evaluated.</summary>
    private static void Layout(Context? context, Action<string, Func<double>> add)
    {
        var c = context!;
        for (int j = 0; j < LoopSlots; j++)
        {
            int slot = j;
            string p = "loop" + slot.ToString(CultureInfo.InvariantCulture) + ".";
            add(p + "log_extent", () => c.Slot(slot) is { } s ? Log2(s.Extent) : 0);
            foreach (var annotation in (LoopAnnotation[])Enum.GetValues(typeof(LoopAnnotation)))
                add(p + annotation.ToString().ToLowerInvariant(), () => c.Slot(slot) is { } s && s.Annotation == annotation ? 1 : 0);
            add(p + "log_inner_iterations", () => c.Slot(slot) is { } s ? Log2(c.InnerIterations(s.Outer)) : 0);
            foreach (var role in s_roles)
            {
                add(p + RoleName(role) + ".log_touched", () => c.Slot(slot) is { } s ? Log2(1 + c.Touched(role, s.Outer)) : 0);
                add(p + RoleName(role) + ".log_reuse", () => c.Slot(slot) is { } s ? Log2(c.Reuse(role, s)) : 0);
            }
            add(p + "log_working_set", () => c.Slot(slot) is { } s ? Log2(1 + s_roles.Sum(r => (double)c.Touched(r, s.Outer))) : 0);
        }

        foreach (var role in s_roles)
        {
            string p = RoleName(role) + ".";
            add(p + "log_bytes", () => Log2(1 + c.Bytes(role)));
            add(p + "log_touched", () => Log2(1 + c.Touched(role, 0)));
            add(p + "log_reuse", () => c.Touched(role, 0) > 0 ? Log2(c.Touched(role, c.Nest.Loops.Count) * (double)c.Nest.Iterations / c.Touched(role, 0)) : 0);
        }

        add("log_flops", () => Log2(c.Nest.Flops));
        add("log_workload_flops", () => Log2(c.Workload.Flops));
        add("padding", () => c.Workload.Flops > 0 ? (double)c.Nest.Flops / c.Workload.Flops : 0);
        add("log_auxiliary_flops", () => Log2(1 + c.Nest.AuxiliaryFlops));
        add("log_auxiliary_bytes", () => Log2(1 + c.Nest.AuxiliaryBytes));
        add("full_tile_fraction", () => c.Nest.FullTileFraction);
        add("loop_count", () => c.Nest.Loops.Count);
        add("log_parallel_extent", () => Log2(c.ParallelExtent));
        add("parallel_per_core", () => (double)c.ParallelExtent / c.Target.Cores);
        add("load_balance", () => (double)c.ParallelExtent / ((c.ParallelExtent + c.Target.Cores - 1) / c.Target.Cores * c.Target.Cores));
        add("vector_registers", () => c.Nest.VectorRegisters);
        add("register_pressure", () => (double)c.Nest.VectorRegisters / Conv2dNchwcTemplate.RegisterFile(c.Target));
        add("log_vector_extent", () => Log2(c.VectorExtent));
        add("vector_fraction", () => (double)c.VectorExtent / c.Target.VectorFloats);
        add("log_register_block", () => Log2(c.RegisterBlock));
        add("log_vector_bits", () => Log2(c.Target.VectorBits));
        add("log_cores", () => Log2(c.Target.Cores));
        add("log_arithmetic_intensity", () => c.TouchedTotal > 0 ? Log2(c.Nest.Flops / c.TouchedTotal) : 0);
        add("log_total_bytes", () => Log2(1 + s_roles.Sum(r => (double)c.Bytes(r))));

        for (int k = 0; k < KnobSlots; k++)
        {
            int knob = k;
            string p = "knob" + knob.ToString(CultureInfo.InvariantCulture) + ".";
            add(p + "v0", () => c.KnobValue(knob, 0));
            add(p + "v1", () => c.KnobValue(knob, 1));
        }

        for (int t = 0; t < KernelTemplates.All.Count; t++)
        {
            int index = t;
            add("template." + KernelTemplates.All[index].Name, () => c.TemplateIndex == index ? 1 : 0);
        }
    }

    /// <summary>log2 of a positive value, 0 otherwise (absent or empty quantities).</summary>
    private static double Log2(double value) => value > 0 ? Math.Log2(value) : 0;

    /// <summary>A feature slot: loops [Outer, Inner] of the nest (one loop, or the folded outermost ones).</summary>
    private sealed record SlotLoops(int Outer, int Inner, long Extent, LoopAnnotation Annotation);

    private sealed class Context
    {
        private readonly SlotLoops?[] _slots = new SlotLoops?[LoopSlots];
        private readonly Dictionary<BufferRole, long[]> _touched = [];
        private readonly Dictionary<BufferRole, long> _bytes = [];

        public Context(KernelTemplate template, Workload workload, Config config, CpuTarget target, LoopNest nest)
        {
            Workload = workload;
            Config = config;
            Target = target;
            Nest = nest;
            TemplateIndex = -1;
            for (int i = 0; i < KernelTemplates.All.Count; i++)
            {
                if (KernelTemplates.All[i].Name == template.Name)
                    TemplateIndex = i;
            }

            var loops = nest.Loops;
            int n = loops.Count;
            for (int j = 0; j < LoopSlots && j < n; j++)
            {
                bool fold = j == LoopSlots - 1 && n > LoopSlots;
                int inner = n - 1 - j, outer = fold ? 0 : inner;
                long extent = 1;
                bool parallel = false;
                for (int d = outer; d <= inner; d++)
                {
                    extent = checked(extent * loops[d].Extent);
                    parallel |= loops[d].Annotation == LoopAnnotation.Parallel;
                }
                _slots[j] = new SlotLoops(outer, inner, extent, parallel ? LoopAnnotation.Parallel : loops[inner].Annotation);
            }

            foreach (var role in s_roles)
            {
                var sum = new long[n + 1];
                long bytes = 0;
                foreach (var b in nest.Buffers.Where(b => b.Role == role))
                {
                    bytes += b.Bytes;
                    for (int d = 0; d <= n; d++)
                        sum[d] += b.TouchedPerLevel[d];
                }
                _touched[role] = sum;
                _bytes[role] = bytes;
            }
            TouchedTotal = s_roles.Sum(r => (double)_touched[r][0]);

            int parallelLoop = nest.ParallelLoop;
            ParallelExtent = parallelLoop < 0 ? 1 : loops[parallelLoop].Extent;
            var vectorized = loops.LastOrDefault(l => l.Annotation == LoopAnnotation.Vectorized);
            VectorExtent = vectorized?.Extent ?? 0;
            RegisterBlock = 1;
            for (int d = n - 1; d >= 0 && loops[d].Annotation is LoopAnnotation.Unrolled or LoopAnnotation.Vectorized; d--)
                RegisterBlock = checked(RegisterBlock * loops[d].Extent);
        }

        public Workload Workload { get; }

        public Config Config { get; }

        public CpuTarget Target { get; }

        public LoopNest Nest { get; }

        public int TemplateIndex { get; }

        public long ParallelExtent { get; }

        public long VectorExtent { get; }

        public long RegisterBlock { get; }

        public double TouchedTotal { get; }

        public SlotLoops? Slot(int slot) => _slots[slot];

        /// <summary>Bytes of buffers of <paramref name="role"/> that one execution of the loop at <paramref name="depth"/> touches (depth = loop count: one innermost iteration).</summary>
        public long Touched(BufferRole role, int depth) => _touched[role][depth];

        public long Bytes(BufferRole role) => _bytes[role];

        public long InnerIterations(int depth)
        {
            long product = 1;
            for (int d = depth; d < Nest.Loops.Count; d++)
                product = checked(product * Nest.Loops[d].Extent);
            return product;
        }

        /// <summary>Bytes touched by the slot's iterations together over the distinct bytes it touches (0 when it touches none).</summary>
        public double Reuse(BufferRole role, SlotLoops slot)
        {
            long whole = Touched(role, slot.Outer);
            return whole > 0 ? (double)Touched(role, slot.Inner + 1) * slot.Extent / whole : 0;
        }

        /// <summary>Value <paramref name="which"/> (0 or 1) of knob slot <paramref name="knob"/>.</summary>
        public double KnobValue(int knob, int which)
        {
            var knobs = Config.Space.Knobs;
            if (knob >= knobs.Count)
                return 0;
            var values = knobs[knob][Config.Choices[knob]];
            switch (knobs[knob].Kind)
            {
                case KnobKind.Split:
                    return which < values.Count ? Log2(values[which]) : 0;
                case KnobKind.Reorder:
                    return which == 0 ? PermutationRank(values) : 0;
                default:
                    return which == 0 ? values[0] : 0;
            }
        }

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
}
