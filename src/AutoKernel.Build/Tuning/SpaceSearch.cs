using AutoKernel.Generator.Schedules;

namespace AutoKernel.Build.Tuning;

/// <summary>Random access to a configuration space for tuners: sampling and neighbour moves.</summary>
public static class SpaceSearch
{
    /// <summary>A uniformly random valid point (rejection sampling); null when none was found in <paramref name="attempts"/> draws.</summary>
    public static Config? Sample(this ConfigSpace space, Random random, int attempts = 10_000)
    {
        var choices = new int[space.Knobs.Count];
        for (int a = 0; a < attempts; a++)
        {
            for (int i = 0; i < choices.Length; i++)
                choices[i] = random.Next(space.Knobs[i].Count);
            var config = space.FromChoices(choices);
            if (space.IsValid(config))
                return config;
        }
        return null;
    }

    /// <summary>A valid point that differs from <paramref name="config"/> in exactly one knob; null when none was found.</summary>
    public static Config? Neighbour(this ConfigSpace space, Config config, Random random, int attempts = 100)
    {
        int[] movable = [.. Enumerable.Range(0, space.Knobs.Count).Where(i => space.Knobs[i].Count > 1)];
        if (movable.Length == 0)
            return null;
        for (int a = 0; a < attempts; a++)
        {
            int knob = movable[random.Next(movable.Length)];
            int[] choices = [.. config.Choices];
            choices[knob] = (choices[knob] + 1 + random.Next(space.Knobs[knob].Count - 1)) % space.Knobs[knob].Count;
            var candidate = space.FromChoices(choices);
            if (space.IsValid(candidate))
                return candidate;
        }
        return null;
    }
}
