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
/// <remarks>
/// History: recorded before dense_packed had a plan object, and unchanged by that refactoring (the
/// loop nests too). The source hashes changed once since, when ForcePortable became an instance
/// property: the new source with "public bool ForcePortable" put back to "public static bool"
/// hashed to the old values, so that line is the whole difference.
/// </remarks>
public sealed class DenseEmitGoldenTests
{
    /// <summary>
    /// Workloads that reach every branch of the emitter: M a multiple of tile_m or not, N a
    /// multiple of the panel width or a partial last vector, one panel or many, one K block or several.
    /// </summary>
    public static TheoryData<int, int, int, int, string, string, string> Cases() => new()
    {
        // M, N, K, vector bits, epilogue, SHA-256 of every valid config's source in index order, and of its loop nest.
        { 3, 17, 37, 512, "bias+residual+Relu", "f77badc180859ee6267cc13f7ed6a360f722003c20afb9513997920639b190d6", "35fe4fb74883bb5a027059e165ba38b55d43d07e8d889cde62175063ded62d8f" },
        { 3, 17, 37, 256, "bias+residual+Relu", "32dcd2d28483e8044193b97e18e84b477d7ff7e5d81825a6f5b1daeeee2cbb76", "f44d1f2e82cdd6ca10283c8fe6a72751397b69932c54f5de61a4d32ef2ef0b86" },
        { 3, 17, 37, 128, "bias+residual+Relu", "d22b23033ffe0194aa97b8a095826b28db7b745fbec4c4aab0a10315626ecaaf", "6f2e21822f63f4f13db4d7f43b4e6e010b2d51db40a461a64b2bea961a16b63b" },
        { 8, 64, 128, 512, "none", "6bde3b2e216a2450cc6b43f74adf89717f5f6e658bda57604e39dd0ea1cd5e54", "fe081bcefb2272b0f7b54782bd9ec961d45ebf339b890fa6c677e922dd3edead" },
        { 8, 64, 128, 256, "none", "f34dbc032b3dd7c52d7b06b35dcc8fea988f2f004b96b77da1c9c34063c06851", "04de43180c80d62f33d7bcbb59dcb7bf7692b8c30fc9b95bf3c2998d17069fce" },
        { 8, 64, 128, 128, "none", "f904b613749508f3cec0a390f0299f4c040ba13d86a367a5918d76dbae691d67", "3ff80a592d6dc04cadfa9fc7a11c15b72a2f0f99538a70ee3b1f9c95828add40" },
        { 5, 40, 300, 512, "bias+Clip", "181e18d355ab5f72fcb340e025007f1009a6afb2a123c23e9db54beb79374f4e", "1ad66ca7d2c6fd45e37b6be33fa5e29bc459c9351bc63fbd548160ee4efa9f4e" },
        { 5, 40, 300, 256, "bias+Clip", "8f8a4e180c7f9b952e498de05254519a03f678186263c8281b915e00029d2ea2", "8949bcf883826bb7c40ffe27ff6710408da630ec12a73a39c0b116521ffb9303" },
        { 5, 40, 300, 128, "bias+Clip", "9237a1cb73caf8775de60fe8b6068535c3834042ba7d038485e46946927294e1", "392f7dadb958c1bf4f5a418eb9682ff72010a7a8caca111d626f9326471c4650" },
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
    public void Every_valid_config_emits_the_recorded_source(int m, int n, int k, int bits, string epilogue, string expected, string expectedLoops)
    {
        var template = new DenseTemplate();
        var workload = new DenseWorkload(m, n, k);
        var target = new CpuTarget(bits, 4, "golden");
        var e = EpilogueNamed(epilogue);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var loops = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        int configs = 0;
        foreach (var config in template.CreateSpace(workload, target).EnumerateValid())
        {
            string source = template.Emit(workload, e, config, target, "Golden", "K");
            sha.AppendData(Encoding.UTF8.GetBytes(config.Index.ToString(CultureInfo.InvariantCulture) + "\n" + source + "\0"));
            loops.AppendData(Encoding.UTF8.GetBytes(Describe(template.DescribeLoops(workload, config, target)) + "\0"));
            configs++;
        }
        Assert.True(configs > 0);
        string actual = Convert.ToHexStringLower(sha.GetHashAndReset());
        string actualLoops = Convert.ToHexStringLower(loops.GetHashAndReset());
        Assert.True(expected == actual, $"dense {m}x{n}x{k} {bits}-bit {epilogue}: {configs} configs' source hashes to {actual}, recorded {expected}");
        Assert.True(expectedLoops == actualLoops, $"dense {m}x{n}x{k} {bits}-bit {epilogue}: {configs} configs' loop nests hash to {actualLoops}, recorded {expectedLoops}");
    }

    /// <summary>Everything a <see cref="LoopNest"/> holds, as invariant text.</summary>
    private static string Describe(LoopNest nest)
    {
        var s = new StringBuilder();
        foreach (var loop in nest.Loops)
            s.Append(CultureInfo.InvariantCulture, $"{loop.Name}={loop.Extent}:{loop.Annotation};");
        foreach (var buffer in nest.Buffers)
            s.Append(CultureInfo.InvariantCulture, $"{buffer.Name}:{buffer.Role}:{buffer.Bytes}:[{string.Join(",", buffer.TouchedPerLevel)}];");
        s.Append(CultureInfo.InvariantCulture, $"flops={nest.FlopsPerInnermostIteration} regs={nest.VectorRegisters} full={nest.FullTileFraction:R} aux={nest.AuxiliaryFlops},{nest.AuxiliaryBytes}");
        return s.ToString();
    }
}
