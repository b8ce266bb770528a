using System.Security.Cryptography;
using AutoKernel.Runtime.Models;

namespace AutoKernel.Runtime.Tests;

/// <summary>
/// Tests that load and free process-wide shared weights and count them (<see cref="ModelWeights.LoadedCount"/>):
/// run one class at a time.
/// </summary>
[CollectionDefinition(nameof(SharedWeights))]
public sealed class SharedWeights;

/// <summary><see cref="ModelWeights.AcquireFile"/>: the weights of a model built with Weights=File, read from a file next to the app.</summary>
[Collection(nameof(SharedWeights))]
public sealed class ModelWeightsFileTests
{
    private static (byte[] File, string Sha, long Bytes) Weights(int floats, float value)
    {
        var payload = new byte[floats * 4];
        for (int i = 0; i < floats; i++)
            BitConverter.TryWriteBytes(payload.AsSpan(i * 4), value + i);
        var file = WeightsFile.Header(payload.Length, SHA256.HashData(payload)).Concat(payload).ToArray();
        return (file, WeightsFile.Sha256(payload), payload.Length);
    }

    private static string TempPath() => Path.Combine(Path.GetTempPath(), "autokernel-" + Guid.NewGuid().ToString("N"), "My.Model.weights");

    [Fact]
    public unsafe void Reads_the_default_path_and_shares_the_weights_by_hash_with_embedded_loads()
    {
        var (file, sha, bytes) = Weights(64, 11);
        string path = TempPath();
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, file);
        try
        {
            using var first = ModelWeights.AcquireFile(path, sha, bytes, ModelOptions.Default, "Model");
            Assert.Equal(14, first.Floats[3]);
            File.Delete(path);
            // Loaded: another instance, by either entry point, shares the memory and reads nothing.
            using var second = ModelWeights.AcquireFile(path, sha, bytes, ModelOptions.Default, "Model");
            using var third = ModelWeights.Acquire(typeof(ModelWeightsFileTests).Assembly, "none", sha, bytes, ModelOptions.Default, "Model");
            Assert.True(first.Floats == second.Floats && second.Floats == third.Floats);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }

    [Fact]
    public void A_missing_file_names_the_model_the_full_path_and_what_to_do()
    {
        var (_, sha, bytes) = Weights(16, 12);
        string path = TempPath();
        int before = ModelWeights.LoadedCount;
        var e = Assert.Throws<FileNotFoundException>(() => ModelWeights.AcquireFile(path, sha, bytes, ModelOptions.Default, "Classifier"));
        Assert.Equal(path, e.FileName);
        Assert.StartsWith("Classifier: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("copy it", e.Message, StringComparison.Ordinal);
        Assert.Contains("ModelOptions.WeightsPath", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, ModelWeights.LoadedCount);
    }

    [Fact]
    public unsafe void WeightsPath_and_WeightsStream_override_the_default_path()
    {
        var (file, sha, bytes) = Weights(32, 13);
        string missing = TempPath();
        string given = Path.Combine(Path.GetTempPath(), "autokernel-" + Guid.NewGuid().ToString("N") + ".weights");
        File.WriteAllBytes(given, file);
        try
        {
            using (var w = ModelWeights.AcquireFile(missing, sha, bytes, new ModelOptions { WeightsPath = given }, "Model"))
                Assert.Equal(15, w.Floats[2]);
        }
        finally
        {
            File.Delete(given);
        }
        using (var w = ModelWeights.AcquireFile(missing, sha, bytes, new ModelOptions { WeightsStream = new MemoryStream(file) }, "Model"))
            Assert.Equal(13, w.Floats[0]);
        // A WeightsPath that does not exist is reported as that path, not the default one.
        var e = Assert.Throws<FileNotFoundException>(() => ModelWeights.AcquireFile(missing, sha, bytes, new ModelOptions { WeightsPath = given }, "Model"));
        Assert.Equal(given, e.FileName);
    }

    [Fact]
    public void A_file_of_other_weights_is_refused_naming_the_file()
    {
        var (file, _, _) = Weights(16, 14);
        var (_, otherSha, otherBytes) = Weights(16, 15);
        string path = Path.Combine(Path.GetTempPath(), "autokernel-" + Guid.NewGuid().ToString("N") + ".weights");
        File.WriteAllBytes(path, file);
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => ModelWeights.AcquireFile(path, otherSha, otherBytes, ModelOptions.Default, "Model"));
            Assert.Contains(path, e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
