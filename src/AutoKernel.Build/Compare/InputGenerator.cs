using AutoKernel.Build.Graph;

namespace AutoKernel.Build.Compare;

/// <summary>Seeded inputs for `autokernel run`: floats uniform in [-1, 1), integers zero, bools false.</summary>
public static class InputGenerator
{
    public static Dictionary<string, Tensor> Create(ModelGraph graph, int seed)
    {
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
