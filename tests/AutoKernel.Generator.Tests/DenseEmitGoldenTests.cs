using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Workloads;

namespace AutoKernel.Generator.Tests;

/// <summary>
/// The source dense_packed emits, held byte for byte: every valid config of a few workloads on
/// 512-, 256- and 128-bit targets, hashed. Tuning logs and measurements name configs, not source,
/// so a refactoring of the emitter must leave these hashes alone; a deliberate change to the
/// emitted code updates them (the failure message prints the new value) and says why in its commit.
/// </summary>
public sealed class DenseEmitGoldenTests
{
    /// <summary>
    /// Workloads that reach every branch of the emitter: M a multiple of tile_m or not, N a
    /// multiple of the panel width or a partial last vector, one panel or many, one K block or several.
    /// </summary>
    public static TheoryData<int, int, int, int, string, string> Cases() => new()
    {
        // M, N, K, vector bits, epilogue, SHA-256 of every valid config's source in index order.
        { 3, 17, 37, 512, "bias+residual+Relu", "faddd9f88687ebab56123c24a8bee4ac7dac898996611407bd15872e39d66e7a" },
        { 3, 17, 37, 256, "bias+residual+Relu", "75a09de78a664ce996ab7d75513ba3943d44a40e43175f9b0b54e264dec3b742" },
        { 3, 17, 37, 128, "bias+residual+Relu", "d86d5ada6ee9091c6086be14b31cb637dfe3cc2359c56b29ac284550c6a83847" },
        { 8, 64, 128, 512, "none", "04a2491bdc99a40f299cec2135a883f46932840e55d917345a8984baa8fe041f" },
        { 8, 64, 128, 256, "none", "120e0a85bc5714cd34b6e3a81616ac24c6aac271228a2b79493b71ce4a160844" },
        { 8, 64, 128, 128, "none", "f476236f87f59d76981109b25ab70bca7fb3fecbe88bbcc33ed2f2ea34518634" },
        { 5, 40, 300, 512, "bias+Clip", "8c7be53644d2e3094a674cc02132650ca5936c63394f71ea4bea6a0a3bbee031" },
        { 5, 40, 300, 256, "bias+Clip", "f0992318685240514b7270713ad683672896b12c536d07e58f2bcc5d798a98f9" },
        { 5, 40, 300, 128, "bias+Clip", "eb1061703a55355db6dd64c6108ddc9c66db2c11cc66ded02f5baa7b8065c4d9" },
    };

    private static Epilogue EpilogueNamed(string name) => name switch
    {
        "none" => Epilogue.None,
        "bias+residual+Relu" => new(true, true, "Relu", 0, 0),
        "bias+Clip" => new(true, false, "Clip", -1.5f, 6f),
        _ => throw new ArgumentException(name, nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_valid_config_emits_the_recorded_source(int m, int n, int k, int bits, string epilogue, string expected)
    {
        var template = new DenseTemplate();
        var workload = new DenseWorkload(m, n, k);
        var target = new CpuTarget(bits, 4, "golden");
        var e = EpilogueNamed(epilogue);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        int configs = 0;
        foreach (var config in template.CreateSpace(workload, target).EnumerateValid())
        {
            string source = template.Emit(workload, e, config, target, "Golden", "K");
            sha.AppendData(Encoding.UTF8.GetBytes(config.Index.ToString(CultureInfo.InvariantCulture) + "\n" + source + "\0"));
            configs++;
        }
        Assert.True(configs > 0);
        string actual = Convert.ToHexStringLower(sha.GetHashAndReset());
        Assert.True(expected == actual, $"dense {m}x{n}x{k} {bits}-bit {epilogue}: {configs} configs hash to {actual}, recorded {expected}");
    }
}
