using System.Globalization;
using System.Text;
using AutoKernel.Build.Tests.Support;
using AutoKernel.Build.Tuning;
using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Schedules;
using AutoKernel.Generator.Workloads;

namespace AutoKernel.Build.Tests.Tuning;

/// <summary>
/// The full named feature vector of one fixed configuration per template, held to a checked-in
/// file (Data/features-golden.txt): a change to the layout, a name or a value shows as a diff to
/// review. Cost models trained on the old vectors rank the new ones wrongly, so a change here is
/// never incidental. After an intended change, refresh it with AUTOKERNEL_UPDATE_BASELINES=1 and
/// review the diff.
/// </summary>
public sealed class FeaturesGoldenTests
{
    private static readonly string GoldenPath = Path.Combine(TestPaths.RepoRoot, "tests", "AutoKernel.Build.Tests", "Tuning", "Data", "features-golden.txt");

    /// <summary>One workload per template, on two targets; the config is the first valid one from a third of the way into the space.</summary>
    private static readonly (string Template, Workload Workload, CpuTarget Target)[] Cases =
    [
        ("conv2d_nchwc", new Conv2dWorkload(1, 32, 14, 14, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1), new CpuTarget(512, 8, "golden AVX-512")),
        ("conv2d_1x1_nchwc", new Conv2dWorkload(1, 64, 14, 14, 128, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1), new CpuTarget(256, 4, "golden AVX2")),
        ("conv2d_winograd_nchwc", new Conv2dWorkload(1, 32, 14, 14, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), new CpuTarget(512, 8, "golden AVX-512")),
        ("depthwise_conv2d_nchwc", new Conv2dWorkload(1, 48, 28, 28, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 48), new CpuTarget(256, 4, "golden AVX2")),
        ("group_conv2d_nchw", new Conv2dWorkload(1, 64, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 8), new CpuTarget(512, 8, "golden AVX-512")),
        ("dense_packed", new DenseWorkload(5, 200, 96), new CpuTarget(256, 4, "golden AVX2")),
    ];

    private static Config ConfigOf(ConfigSpace space)
    {
        for (long i = space.Size / 3; i < space.Size; i++)
        {
            var config = space.Decode(i);
            if (space.IsValid(config))
                return config;
        }
        throw new InvalidOperationException($"no valid config in the last two thirds of {space}");
    }

    /// <summary>The golden text: per case a header line, then one "name value" line per feature (values round-trip).</summary>
    private static string Render()
    {
        var text = new StringBuilder();
        text.Append("# ScheduleFeatures of one configuration per template (FeaturesGoldenTests); refresh with AUTOKERNEL_UPDATE_BASELINES=1 and review the diff.\n");
        string[] names = ScheduleFeatures.Names;
        foreach (var (name, workload, target) in Cases)
        {
            var template = KernelTemplates.All.Single(t => t.Name == name);
            var config = ConfigOf(template.CreateSpace(workload, target));
            float[] features = ScheduleFeatures.Extract(template, workload, config, target);
            text.Append(CultureInfo.InvariantCulture, $"\n[{name} {workload.Key} on {target.VectorBits}-bit x{target.Cores}: #{config.Index} {config}]\n");
            for (int i = 0; i < names.Length; i++)
                text.Append(CultureInfo.InvariantCulture, $"{names[i]} {features[i].ToString("R", CultureInfo.InvariantCulture)}\n");
        }
        return text.ToString();
    }

    [Fact]
    public void Feature_vectors_match_the_golden_file()
    {
        Assert.Equal(KernelTemplates.All.Select(t => t.Name).Order(), Cases.Select(c => c.Template).Order());
        string actual = Render();
        if (Environment.GetEnvironmentVariable("AUTOKERNEL_UPDATE_BASELINES") == "1")
        {
            File.WriteAllText(GoldenPath, actual);
            Assert.Skip($"refreshed {GoldenPath}: review the diff");
        }
        Assert.True(File.Exists(GoldenPath), $"no golden file {GoldenPath}; run with AUTOKERNEL_UPDATE_BASELINES=1 to create it");
        string[] expected = File.ReadAllText(GoldenPath).Split('\n');
        string[] lines = actual.Split('\n');
        // The first lines that differ, with the case they belong to, rather than one long string diff.
        var differences = new List<string>();
        string section = "";
        for (int i = 0; i < Math.Max(expected.Length, lines.Length); i++)
        {
            string e = i < expected.Length ? expected[i] : "(none)", a = i < lines.Length ? lines[i] : "(none)";
            if (a.StartsWith('['))
                section = a;
            if (e != a && differences.Count < 20)
                differences.Add($"{section} line {i + 1}: expected '{e}', got '{a}'");
        }
        Assert.True(differences.Count == 0, "feature vectors differ from the golden file (AUTOKERNEL_UPDATE_BASELINES=1 refreshes it):\n" + string.Join("\n", differences));
    }
}
