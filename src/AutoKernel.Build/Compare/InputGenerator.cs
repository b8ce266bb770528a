using AutoKernel.Build.Graph;
using AutoKernel.Build.Limits;

namespace AutoKernel.Build.Compare;

/// <summary>Seeded inputs for `autokernel run`: floats uniform in [-1, 1), integers zero, bools false.</summary>
public static class InputGenerator
{
    /// <summary>
    /// Makes one input per graph input. The inputs and the initializers they run with must fit in
    /// <paramref name="budget"/> (default: <see cref="MemoryBudget.Current"/>); that is checked before anything is allocated.
    /// </summary>
    public static Dictionary<string, Tensor> Create(ModelGraph graph, int seed, MemoryBudget? budget = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        budget ??= MemoryBudget.Current;
        long inputBytes = 0, weightBytes = 0;
        foreach (var input in graph.Inputs)
        {
            try
            {
                budget.CheckValue($"input '{input.Name}'", input.Type);
            }
            catch (ModelException e)
            {
                throw e.At(graph.SourcePath);
            }
            inputBytes += MemoryBudget.BytesOf(input.Type);
        }
        foreach (var t in graph.Initializers.Values)
            weightBytes += MemoryBudget.BytesOf(t);
        if (inputBytes + weightBytes > budget.LimitBytes)
            throw new ModelException($"the generated inputs ({MemoryBudget.Format(inputBytes)}) and the initializers ({MemoryBudget.Format(weightBytes)}) need {MemoryBudget.Format(inputBytes + weightBytes)}, more than {budget.Describe()}")
            { File = graph.SourcePath, Kind = ModelErrorKind.MemoryLimit };

        var random = new Random(seed);
        var inputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var input in graph.Inputs)
        {
            var tensor = Tensor.Zeros(input.Type.ElementType, input.Type.Shape);
            if (tensor.Data is float[] f)
            {
                for (int i = 0; i < f.Length; i++)
                    f[i] = (float)(random.NextDouble() * 2 - 1);
            }
            else if (tensor.Data is double[] d)
            {
                for (int i = 0; i < d.Length; i++)
                    d[i] = random.NextDouble() * 2 - 1;
            }
            inputs[input.Name] = tensor;
        }
        return inputs;
    }
}
