using System;
using System.Collections.Generic;
using System.Linq;

namespace AutoKernel.Generator.Kernels;

/// <summary>What the emitted code does with a loop.</summary>
public enum LoopAnnotation
{
    /// <summary>An ordinary loop.</summary>
    Serial,

    /// <summary>The iterations are the work items of one <c>pool.For</c>.</summary>
    Parallel,

    /// <summary>The lanes of one vector instruction.</summary>
    Vectorized,

    /// <summary>Written out by the emitter: one copy of the body per iteration, with constant offsets.</summary>
    Unrolled,
}

/// <summary>What a buffer is to the computation of the described loop nest.</summary>
public enum BufferRole
{
    /// <summary>The data operand (broadcast or streamed): the activation, or winograd's transformed input tiles.</summary>
    Input,

    /// <summary>The constant operand, as packed by Prepare (winograd: the transformed filters).</summary>
    Weight,

    /// <summary>What the nest accumulates into (winograd: the per-ξ GEMM results).</summary>
    Output,
}

/// <summary>
/// One loop of a <see cref="LoopNest"/>. <paramref name="Extent"/> is nominal: where the emitter
/// clips a loop (kh taps at border rows), splits it into full and remainder tiles, or handles
/// border columns one at a time, the extent is that of the regular tiled loop, the tile count
/// rounded up. Fused loops (the work items of one pool.For over several axes) are one loop whose
/// name joins the axes with '.'.
/// </summary>
public sealed record Loop(string Name, long Extent, LoopAnnotation Annotation);

/// <summary>
/// A buffer the nest reads or writes, with its footprints.
/// <para><paramref name="Bytes"/>: the bytes the buffer holds, in the kernel's native layout
/// (padded channel blocks included).</para>
/// <para><paramref name="TouchedPerLevel"/> has <c>Loops.Count + 1</c> entries: entry 0 is the
/// distinct bytes the whole nest touches; entry <c>d + 1</c> the distinct bytes one iteration of
/// loop <c>d</c> touches (everything inside it). The last entry is one innermost iteration.
/// Touched data is logical (what the loop body indexes, register-resident accumulators included),
/// counted in elements from the index ranges each loop spans in every dimension of the buffer (exact
/// for contiguous or disjoint strided ranges, an approximation for overlapping strided ones, never
/// more than the dimension holds), so entry 0 is at most <paramref name="Bytes"/> and the entries
/// never grow with depth.</para>
/// <para>The reuse of loop <c>d</c> is <c>TouchedPerLevel[d + 1] * Extent / TouchedPerLevel[d]</c>:
/// 1 when each iteration touches new data, the extent when every iteration touches the same data
/// (see <see cref="LoopNest.Reuse"/>).</para>
/// </summary>
public sealed record BufferAccess(string Name, BufferRole Role, long Bytes, IReadOnlyList<long> TouchedPerLevel);

/// <summary>
/// The loop nest a template's Emit produces for one configuration, outermost loop first, for the
/// learned cost model. The nest is the main (vectorized, register-blocked) path; the portable
/// fallback is not described. Multi-stage kernels describe their dominant stage and summarize the
/// others in <see cref="AuxiliaryFlops"/> and <see cref="AuxiliaryBytes"/>.
/// </summary>
/// <param name="Loops">Outermost first; the product of the extents times <paramref name="FlopsPerInnermostIteration"/> is <see cref="Flops"/>.</param>
/// <param name="Buffers">Every buffer the nest touches.</param>
/// <param name="FlopsPerInnermostIteration">Floating-point operations of one innermost iteration (2 for one multiply-add lane).</param>
/// <param name="VectorRegisters">Registers the micro-kernel keeps live: accumulators plus operands (for a scalar nest, scalar floating-point registers).</param>
public sealed record LoopNest(IReadOnlyList<Loop> Loops, IReadOnlyList<BufferAccess> Buffers, long FlopsPerInnermostIteration, int VectorRegisters)
{
    /// <summary>
    /// Fraction of the outputs the nest's full register block computes (0..1); the rest runs in
    /// remainder tiles, border columns, or narrower vector or scalar tails, which the nominal
    /// extents fold into the full blocks.
    /// </summary>
    public double FullTileFraction { get; init; } = 1.0;

    /// <summary>Operations of stages outside <see cref="Loops"/> (winograd's input and output transforms); 0 for single-stage kernels.</summary>
    public long AuxiliaryFlops { get; init; }

    /// <summary>Bytes that stages outside <see cref="Loops"/> read and write; 0 for single-stage kernels.</summary>
    public long AuxiliaryBytes { get; init; }

    /// <summary>Iterations of the innermost body: the product of the extents.</summary>
    public long Iterations
    {
        get
        {
            long product = 1;
            for (int i = 0; i < Loops.Count; i++)
                product = checked(product * Loops[i].Extent);
            return product;
        }
    }

    /// <summary>Operations of the nominal nest (at least the work it covers: nominal extents round tiles up).</summary>
    public long Flops => checked(Iterations * FlopsPerInnermostIteration);

    /// <summary>Index of the parallel loop, or -1 when the nest runs on the calling thread.</summary>
    public int ParallelLoop
    {
        get
        {
            for (int i = 0; i < Loops.Count; i++)
            {
                if (Loops[i].Annotation == LoopAnnotation.Parallel)
                    return i;
            }
            return -1;
        }
    }

    /// <summary>Index of the loop named <paramref name="name"/>.</summary>
    public int IndexOf(string name)
    {
        for (int i = 0; i < Loops.Count; i++)
        {
            if (Loops[i].Name == name)
                return i;
        }
        throw new KeyNotFoundException($"the nest has no loop '{name}': {this}");
    }

    /// <summary>The buffer named <paramref name="name"/>.</summary>
    public BufferAccess Buffer(string name) =>
        Buffers.FirstOrDefault(b => b.Name == name) ?? throw new KeyNotFoundException($"the nest has no buffer '{name}'");

    /// <summary>
    /// How many times loop <paramref name="loop"/> touches each byte of <paramref name="buffer"/> it
    /// touches: bytes touched by its iterations together over the distinct bytes it touches.
    /// </summary>
    public double Reuse(BufferAccess buffer, int loop)
    {
        long whole = buffer.TouchedPerLevel[loop];
        return whole == 0 ? 0 : (double)buffer.TouchedPerLevel[loop + 1] * Loops[loop].Extent / whole;
    }

    /// <summary>"par n.ocb.ohb=56 oh=1 ... vec oc.lane=16", for messages.</summary>
    public override string ToString() =>
        string.Join(" ", Loops.Select(l => (l.Annotation switch
        {
            LoopAnnotation.Parallel => "par ",
            LoopAnnotation.Vectorized => "vec ",
            LoopAnnotation.Unrolled => "unroll ",
            _ => "",
        }) + l.Name + "=" + l.Extent.ToString(System.Globalization.CultureInfo.InvariantCulture)));
}

/// <summary>
/// Builds a <see cref="LoopNest"/> from the loops an emitter writes and, per loop, the buffer
/// dimensions its index moves and by how much; the footprints follow from those.
/// </summary>
internal sealed class LoopNestBuilder
{
    private const int ElementBytes = sizeof(float);
    private readonly List<Buf> _buffers = [];
    private readonly List<(string Name, LoopAnnotation Annotation, Part[] Parts)> _loops = [];

    /// <summary>One index of a buffer: the dimension (by position) a loop moves and the step per iteration.</summary>
    public readonly struct Access(Buf buffer, int dim, long step)
    {
        public Buf Buffer { get; } = buffer;

        public int Dim { get; } = dim;

        public long Step { get; } = step;
    }

    /// <summary>One axis of a loop: a plain loop has one, a fused parallel loop several.</summary>
    public sealed class Part(string name, long extent, Access[] accesses)
    {
        public string Name { get; } = name;

        public long Extent { get; } = extent;

        public Access[] Accesses { get; } = accesses;
    }

    /// <summary>A buffer in its native layout, dimensions outermost first.</summary>
    public sealed class Buf(string name, BufferRole role, (string Name, long Size)[] dims)
    {
        public string Name { get; } = name;

        public BufferRole Role { get; } = role;

        public (string Name, long Size)[] Dims { get; } = dims;

        /// <summary>The index of dimension <paramref name="dim"/> moves by <paramref name="step"/> per iteration.</summary>
        public Access At(string dim, long step = 1)
        {
            for (int i = 0; i < Dims.Length; i++)
            {
                if (Dims[i].Name == dim)
                    return new Access(this, i, step);
            }
            throw new ArgumentException($"buffer {Name} has no dimension '{dim}'", nameof(dim));
        }
    }

    public Buf Buffer(string name, BufferRole role, params (string Name, long Size)[] dims)
    {
        var b = new Buf(name, role, dims);
        _buffers.Add(b);
        return b;
    }

    public static Part Axis(string name, long extent, params Access[] accesses) => new(name, extent, accesses);

    public LoopNestBuilder Loop(string name, long extent, LoopAnnotation annotation, params Access[] accesses)
    {
        _loops.Add((name, annotation, [Axis(name, extent, accesses)]));
        return this;
    }

    public LoopNestBuilder Loop(string name, long extent, params Access[] accesses) => Loop(name, extent, LoopAnnotation.Serial, accesses);

    /// <summary>One loop over the product of several axes (the work items of one pool.For).</summary>
    public LoopNestBuilder Fused(LoopAnnotation annotation, params Part[] parts)
    {
        string name;
        if (parts.Length == 1)
        {
            name = parts[0].Name;
        }
        else
        {
            var names = new string[parts.Length];
            for (int i = 0; i < parts.Length; i++)
                names[i] = parts[i].Name;
            name = string.Join(".", names);
        }
        _loops.Add((name, annotation, parts));
        return this;
    }

    public LoopNest Build(long flopsPerIteration, int vectorRegisters, double fullTileFraction = 1.0, long auxiliaryFlops = 0, long auxiliaryBytes = 0)
    {
        int n = _loops.Count;
        var loops = new Loop[n];
        int accesses = 0;
        for (int l = 0; l < n; l++)
        {
            var (name, annotation, parts) = _loops[l];
            long extent = 1;
            foreach (var p in parts)
            {
                if (p.Extent < 1)
                    throw new InvalidOperationException($"loop {name}: axis {p.Name} has extent {p.Extent}");
                extent = checked(extent * p.Extent);
                accesses += p.Accesses.Length;
            }
            loops[l] = new Loop(name, extent, annotation);
        }
        // Scratch for the footprints: a buffer's moves in loop order, and those of the loops at the
        // current depth and deeper sorted by (dimension, step, extent).
        var moves = new Move[accesses];
        var sorted = new Move[accesses];
        var buffers = new BufferAccess[_buffers.Count];
        for (int i = 0; i < buffers.Length; i++)
        {
            var b = _buffers[i];
            int count = 0;
            for (int l = 0; l < n; l++)
            {
                foreach (var part in _loops[l].Parts)
                {
                    if (part.Extent <= 1)
                        continue;
                    foreach (var a in part.Accesses)
                    {
                        if (ReferenceEquals(a.Buffer, b))
                            moves[count++] = new Move(l, a.Dim, part.Extent, a.Step);
                    }
                }
            }
            var touched = new long[n + 1];
            int next = count, active = 0;
            for (int depth = n; depth >= 0; depth--)
            {
                while (next > 0 && moves[next - 1].Loop >= depth)
                    Insert(sorted, ref active, moves[--next]);
                long bytes = Footprint(b, sorted, active);
                // A loop touches at least what one of its iterations touches.
                touched[depth] = depth == n ? bytes : Math.Max(bytes, touched[depth + 1]);
            }
            long size = ElementBytes;
            foreach (var d in b.Dims)
                size = checked(size * d.Size);
            buffers[i] = new BufferAccess(b.Name, b.Role, size, touched);
        }
        return new LoopNest(loops, buffers, flopsPerIteration, vectorRegisters)
        {
            FullTileFraction = Math.Max(0, Math.Min(1, fullTileFraction)),
            AuxiliaryFlops = auxiliaryFlops,
            AuxiliaryBytes = auxiliaryBytes,
        };
    }

    /// <summary>A loop's axis moving one dimension of a buffer: <see cref="Extent"/> iterations of <see cref="Step"/> each.</summary>
    private readonly struct Move(int loop, int dim, long extent, long step)
    {
        public int Loop { get; } = loop;

        public int Dim { get; } = dim;

        public long Extent { get; } = extent;

        public long Step { get; } = step;

        public bool Before(Move other) =>
            Dim != other.Dim ? Dim < other.Dim : Step != other.Step ? Step < other.Step : Extent < other.Extent;
    }

    /// <summary>Inserts <paramref name="move"/> into <paramref name="sorted"/>[0, <paramref name="count"/>), keeping the (dimension, step, extent) order.</summary>
    private static void Insert(Move[] sorted, ref int count, Move move)
    {
        int at = count++;
        while (at > 0 && move.Before(sorted[at - 1]))
        {
            sorted[at] = sorted[at - 1];
            at--;
        }
        sorted[at] = move;
    }

    /// <summary>
    /// Distinct bytes of <paramref name="b"/> that one execution of the loops whose moves are
    /// <paramref name="sorted"/>[0, <paramref name="count"/>) touches (the loops at one depth and deeper).
    /// </summary>
    private static long Footprint(Buf b, Move[] sorted, int count)
    {
        long elements = 1;
        int i = 0;
        for (int dim = 0; dim < b.Dims.Length; dim++)
        {
            long size = b.Dims[dim].Size;
            // Distinct indices of sum(i_k * step_k), 0 <= i_k < extent_k, smallest steps first:
            // a step within the range covered so far extends it contiguously, a larger one repeats
            // the covered set at disjoint offsets.
            long covered = 1;
            for (; i < count && sorted[i].Dim == dim; i++)
            {
                long extent = sorted[i].Extent, step = sorted[i].Step;
                covered = Math.Min(Math.Min(checked(covered * extent), checked(covered + (extent - 1) * step)), size);
            }
            elements = checked(elements * Math.Min(covered, size));
        }
        return checked(elements * ElementBytes);
    }
}
