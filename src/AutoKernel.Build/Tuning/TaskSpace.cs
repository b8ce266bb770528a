using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Schedules;
using AutoKernel.Generator.Workloads;

namespace AutoKernel.Build.Tuning;

/// <summary>A point of a <see cref="TaskSpace"/>: a configuration of one of the task's templates.</summary>
public sealed record Point(int Space, Config Config)
{
    public long Index => Config.Index;

    public override string ToString() => $"{Config.Space.Template} #{Config.Index}";
}

/// <summary>
/// Everything the tuner may try for one workload: the union of the configuration spaces of the
/// templates that support it (a 3x3 convolution has direct and Winograd schedules, a 1x1 one has
/// the general and the 1x1 schedule). Sampling picks a template uniformly, then a configuration,
/// so that a small space is not drowned by a large one.
/// </summary>
public sealed class TaskSpace
{
    public TaskSpace(Workload workload, CpuTarget target, IEnumerable<KernelTemplate>? templates = null)
        : this(workload, target, (templates ?? KernelTemplates.All).Where(t => t.Supports(workload)).ToList())
    {
    }

    private TaskSpace(Workload workload, CpuTarget target, List<KernelTemplate> templates)
    {
        Workload = workload;
        Target = target;
        Templates = templates;
        Spaces = [.. templates.Select(t => t.CreateSpace(workload, target))];
    }

    /// <summary>A task space over given spaces, without templates (synthetic spaces in tests).</summary>
    public TaskSpace(IReadOnlyList<ConfigSpace> spaces)
    {
        Workload = null;
        Target = null;
        Templates = [];
        Spaces = spaces;
    }

    public Workload? Workload { get; }

    public CpuTarget? Target { get; }

    /// <summary>The templates, parallel to <see cref="Spaces"/> (empty for a synthetic space).</summary>
    public IReadOnlyList<KernelTemplate> Templates { get; }

    public IReadOnlyList<ConfigSpace> Spaces { get; }

    /// <summary>Points in all spaces, valid or not.</summary>
    public long Size => Spaces.Sum(s => s.Size);

    /// <summary>
    /// The number of valid points, counted when the spaces hold at most <paramref name="limit"/>
    /// points in all; null for larger spaces (a budget of a few hundred trials never exhausts them).
    /// </summary>
    public long? CountValid(long limit = 100_000)
    {
        if (Size > limit)
            return null;
        long valid = 0;
        foreach (var space in Spaces)
        {
            for (long i = 0; i < space.Size; i++)
            {
                if (space.IsValid(space.Decode(i)))
                    valid++;
            }
        }
        return valid;
    }

    public int SpaceOf(string template)
    {
        for (int i = 0; i < Spaces.Count; i++)
        {
            if (Spaces[i].Template == template)
                return i;
        }
        return -1;
    }

    /// <summary>The point a record names, or null when the template is not in this space or the index is out of range.</summary>
    public Point? Find(string template, long index)
    {
        int s = SpaceOf(template);
        if (s < 0 || index < 0 || index >= Spaces[s].Size)
            return null;
        return new Point(s, Spaces[s].Decode(index));
    }

    /// <summary>
    /// A random valid point: a uniformly chosen template, then a uniformly chosen valid
    /// configuration of it. A template whose space yields no valid point is left out of the draw
    /// and another is chosen, so the result is null only when no template yields one.
    /// </summary>
    public Point? Sample(Random random)
    {
        if (Spaces.Count == 0)
            return null;
        // The usual case, allocation-free: the first template drawn has a valid point.
        int first = random.Next(Spaces.Count);
        if (Spaces[first].Sample(random) is { } found)
            return new Point(first, found);
        var left = Enumerable.Range(0, Spaces.Count).Where(s => s != first).ToList();
        while (left.Count > 0)
        {
            int pick = random.Next(left.Count);
            int s = left[pick];
            if (Spaces[s].Sample(random) is { } config)
                return new Point(s, config);
            left.RemoveAt(pick);
        }
        return null;
    }

    /// <summary>A valid point that differs in one knob of the same template.</summary>
    public Point? Neighbour(Point point, Random random) =>
        Spaces[point.Space].Neighbour(point.Config, random) is { } config ? new Point(point.Space, config) : null;

    /// <summary>A stable key of a point across spaces, for visited sets.</summary>
    public static (int, long) KeyOf(Point point) => (point.Space, point.Index);
}
