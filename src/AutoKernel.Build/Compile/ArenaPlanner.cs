namespace AutoKernel.Build.Compile;

/// <summary>A buffer to place: its size and the steps between which it is live (inclusive).</summary>
public sealed record ArenaRequest(int Id, long Floats, int FirstStep, int LastStep);

/// <summary>
/// Static memory planning for the intermediate tensors, as TVM's unified static memory planner and
/// TFLite's greedy-by-size planner: buffers are placed largest first, each at the lowest
/// 64-byte-aligned offset where it overlaps no already placed buffer whose lifetime overlaps its own.
/// Deterministic: ties are broken by first use, then id.
/// </summary>
public static class ArenaPlanner
{
    /// <summary>Alignment of every offset, in floats (64 bytes).</summary>
    public const int AlignFloats = 16;

    public static (Dictionary<int, long> Offsets, long ArenaFloats) Plan(IReadOnlyList<ArenaRequest> requests)
    {
        var offsets = new Dictionary<int, long>();
        var placed = new List<(ArenaRequest Request, long Offset)>();
        long arena = 0;
        foreach (var r in requests.OrderByDescending(r => r.Floats).ThenBy(r => r.FirstStep).ThenBy(r => r.Id))
        {
            long size = Align(r.Floats);
            var conflicts = placed
                .Where(p => p.Request.FirstStep <= r.LastStep && r.FirstStep <= p.Request.LastStep)
                .OrderBy(p => p.Offset)
                .ToList();
            long offset = 0;
            foreach (var (other, otherOffset) in conflicts)
            {
                long otherEnd = otherOffset + Align(other.Floats);
                if (offset + size <= otherOffset)
                    break;
                offset = Math.Max(offset, otherEnd);
            }
            offsets[r.Id] = offset;
            placed.Add((r, offset));
            arena = Math.Max(arena, offset + size);
        }
        return (offsets, arena);
    }

    public static long Align(long floats) => (floats + AlignFloats - 1) / AlignFloats * AlignFloats;
}
