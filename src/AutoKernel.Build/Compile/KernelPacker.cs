using System.Runtime.Loader;
using AutoKernel.Build.Measure;
using AutoKernel.Generator.Plans;
using AutoKernel.Runtime.Kernels;

namespace AutoKernel.Build.Compile;

/// <summary>A tuned kernel to pack: its emitted source and the ONNX-layout constants of one node.</summary>
public sealed record PackRequest(string ClassName, string Source, float[] Weights, float[]? Bias);

/// <summary>
/// Packs weights into the layouts tuned kernels read, by running each kernel's own Prepare: the
/// kernels are compiled (one Roslyn compilation for the batch) and loaded in a collectible context,
/// Prepare packs the ONNX-layout weights, and CopyPacked copies the result out. The packing code is
/// the emitted code, so the weights file holds exactly what the shipped kernel would have packed.
/// </summary>
public static class KernelPacker
{
    public static List<(float[] Weights, float[] Bias)> Pack(IReadOnlyList<PackRequest> requests)
    {
        var results = new List<(float[], float[])>();
        if (requests.Count == 0)
            return results;
        var distinct = requests.GroupBy(r => r.ClassName, StringComparer.Ordinal).Select(g => g.First()).ToList();
        using var build = new BatchBuilder().Build([.. distinct.Select(r => (KernelNames.Namespace + "." + r.ClassName, r.Source))]);
        var types = new Dictionary<string, Type>(StringComparer.Ordinal);
        var context = new AssemblyLoadContext("autokernel-pack", isCollectible: true);
        try
        {
            var loaded = new Dictionary<string, System.Reflection.Assembly>(StringComparer.Ordinal);
            for (int i = 0; i < distinct.Count; i++)
            {
                if (build.Errors[i] is { } error)
                    throw new InvalidOperationException($"kernel {distinct[i].ClassName} does not compile: {error}");
                string path = build.Assemblies[i]!;
                if (!loaded.TryGetValue(path, out var assembly))
                    loaded[path] = assembly = context.LoadFromAssemblyPath(path);
                types[distinct[i].ClassName] = assembly.GetType(KernelNames.Namespace + "." + distinct[i].ClassName, throwOnError: true)!;
            }
            foreach (var r in requests)
            {
                var kernel = (ITunedKernel)Activator.CreateInstance(types[r.ClassName])!;
                kernel.Prepare(r.Weights, r.Bias);
                var w = new float[kernel.PackedWeightsLength];
                var b = new float[kernel.PackedBiasLength];
                kernel.CopyPacked(w, b);
                results.Add((w, b));
            }
        }
        finally
        {
            context.Unload();
        }
        return results;
    }
}
