using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Schedules;
using AutoKernel.Generator.Workloads;

namespace AutoKernel.Build.Compile;

/// <summary>
/// The configuration an untuned task is compiled with: a rule, not index 0 of the space. The
/// specialised template is preferred (1x1, depthwise), Winograd never (its accuracy and speed depend
/// on the shape); within the template, each tiling knob is brought as close as the space's
/// constraints allow to a register tile that is sound on any x86 or Arm core (about 8 output
/// pixels by 16 channels for convolutions, 4 rows by two vectors for dense), and the annotation and
/// order knobs take their first, plainest choice.
/// </summary>
public static class FallbackConfig
{
    private const int MaxEnumerated = 400_000;

    /// <param name="inputBlock">The layout the node's input arrives in: a channel block the template can read is preferred.</param>
    public static ChosenConfig Choose(Workload workload, CpuTarget target, int inputBlock = 0)
    {
        var templates = KernelTemplates.All.Where(t => t.Supports(workload)).ToList();
        if (templates.Count == 0)
            throw new ArgumentException($"no template supports {workload.Key}", nameof(workload));
        var template = templates.FirstOrDefault(t => t.Name is "conv2d_1x1_nchwc" or "depthwise_conv2d_nchwc")
            ?? templates.FirstOrDefault(t => t.Name != "conv2d_winograd_nchwc")
            ?? templates[0];
        var space = template.CreateSpace(workload, target);
        var preferred = Preferences(template.Name, target);
        if (inputBlock > 1 && preferred.ContainsKey("tile_ic"))
            preferred["tile_ic"] = inputBlock;
        Config? best = null;
        double bestScore = double.PositiveInfinity;
        int seen = 0;
        foreach (var config in space.EnumerateValid())
        {
            double score = Score(space, config, preferred);
            if (score < bestScore)
            {
                (best, bestScore) = (config, score);
            }
            if (++seen >= MaxEnumerated)
                break;
        }
        if (best is null)
            throw new ArgumentException($"{template.Name} has no valid configuration for {workload.Key}", nameof(workload));
        return new ChosenConfig(template, best, Generator.Plans.TunedStep.FromFallback, null);
    }

    /// <summary>Preferred inner tile size per knob; knobs not listed prefer their first choice.</summary>
    private static Dictionary<string, double> Preferences(string template, CpuTarget target)
    {
        int vf = target.VectorFloats;
        return template switch
        {
            "conv2d_nchwc" => new() { ["tile_ic"] = 16, ["tile_oc"] = Math.Max(16, vf), ["tile_ow"] = 8, ["tile_oh"] = 1 },
            "conv2d_1x1_nchwc" => new() { ["tile_ic"] = 16, ["tile_oc"] = Math.Max(16, vf), ["tile_p"] = 8, ["tile_pt"] = 1 },
            "conv2d_winograd_nchwc" => new() { ["tile_t"] = 4, ["tile_k"] = 2 * vf },
            "depthwise_conv2d_nchwc" => new() { ["cb"] = vf, ["tile_ow"] = 4 },
            "group_conv2d_nchw" => new() { ["tile_k"] = 4, ["tile_ow"] = 4 },
            "dense_packed" => new() { ["tile_n"] = 2 * vf, ["tile_m"] = 4, ["tile_k"] = 256, ["unroll_k"] = 1 },
            _ => [],
        };
    }

    /// <summary>Distance from the preferred tiles in octaves, plus a small cost per step away from the first choice of the other knobs.</summary>
    private static double Score(ConfigSpace space, Config config, Dictionary<string, double> preferred)
    {
        double score = 0;
        for (int k = 0; k < space.Knobs.Count; k++)
        {
            var knob = space.Knobs[k];
            int choice = config.Choices[k];
            if (preferred.TryGetValue(knob.Name, out double want))
            {
                var values = knob[choice];
                score += Math.Abs(Math.Log2(values[^1] / want));
            }
            else
            {
                score += 0.01 * choice;
            }
        }
        return score;
    }
}
