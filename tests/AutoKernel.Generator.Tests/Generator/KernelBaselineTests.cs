using System.Globalization;
using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Tests.Support;
using AutoKernel.Generator.Workloads;

namespace AutoKernel.Generator.Tests.Generator;

/// <summary>
/// The emitted source of one small kernel per template (fixed workload, epilogue, config and
/// target), held to golden files under Baselines/Kernels/ (see <see cref="Baselines"/>), and the
/// same source under cultures that write numbers and letters differently: an emitter whose output
/// depends on the culture, on hash order or on the process fails here, where a comparison of two
/// calls in one process passes.
/// </summary>
public sealed class KernelBaselineTests
{
    private static string Folder => Baselines.Folder("Kernels");

    /// <summary>
    /// One kernel per template: channel counts off the vector width, and an epilogue with float
    /// parameters (culture-sensitive if formatted carelessly: 0.1 is "0,1" in de-DE, -0.5 is "−0,5" in sv-SE).
    /// </summary>
    internal static readonly (string Template, Workload Workload, Epilogue Epilogue, int Bits)[] Kernels =
    [
        ("conv2d_nchwc", new Conv2dWorkload(1, 5, 7, 9, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), new Epilogue(true, true, "LeakyRelu", 0.1f, 0f), 512),
        ("conv2d_1x1_nchwc", new Conv2dWorkload(1, 6, 5, 7, 20, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1), new Epilogue(true, false, "HardSigmoid", 0.3f, 0.4f), 512),
        ("conv2d_winograd_nchwc", new Conv2dWorkload(1, 5, 6, 8, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), new Epilogue(false, true, "Clip", -0.5f, 0.7f), 256),
        ("depthwise_conv2d_nchwc", new Conv2dWorkload(1, 20, 6, 8, 20, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 20), new Epilogue(true, false, "Elu", 0.7f, 0f), 512),
        ("group_conv2d_nchw", new Conv2dWorkload(1, 8, 6, 9, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2), new Epilogue(true, true, "Selu", 1.67326319217681884765625f, 1.05070102214813232421875f), 256),
        ("dense_packed", new DenseWorkload(5, 37, 19), new Epilogue(true, false, "Swish", 1.7f, 0f), 512),
    ];

    private static string FileName(string template, int bits) => $"{template}_{bits}.cs.txt";

    /// <summary>The kernel's source: the first valid config of its space (a small, fixed schedule).</summary>
    private static string Emit((string Template, Workload Workload, Epilogue Epilogue, int Bits) k)
    {
        var template = KernelTemplates.All.Single(t => t.Name == k.Template);
        var target = KernelPaths.Target(k.Bits);
        var config = template.CreateSpace(k.Workload, target).EnumerateValid().First();
        return template.Emit(k.Workload, k.Epilogue, config, target, "AutoKernel.Baselines", "Kernel");
    }

    [Fact]
    public void Every_template_has_a_baseline_kernel()
    {
        Assert.Equal(KernelTemplates.All.Select(t => t.Name).Order(StringComparer.Ordinal), Kernels.Select(k => k.Template).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Emitted_kernels_match_the_baselines()
    {
        foreach (var k in Kernels)
            Baselines.Check(Path.Combine(Folder, FileName(k.Template, k.Bits)), Emit(k));
        Baselines.CheckNoneStale(Folder, Kernels.Select(k => FileName(k.Template, k.Bits)));
    }

    /// <summary>
    /// de-DE writes a decimal comma, tr-TR has the dotted and dotless i (ToUpper("i") is "İ"),
    /// sv-SE writes the minus sign as U+2212: every template emits the same bytes under each as
    /// under the invariant culture.
    /// </summary>
    [Theory]
    [InlineData("de-DE")]
    [InlineData("tr-TR")]
    [InlineData("sv-SE")]
    public void Emitted_kernels_do_not_depend_on_the_culture(string cultureName)
    {
        var culture = CultureInfo.GetCultureInfo(cultureName);
        // Without ICU (invariant globalization) every culture formats like the invariant one: nothing would be tested.
        Assert.SkipWhen((0.5f).ToString(culture) == "0.5" && "i".ToUpper(culture) == "I",
            $"culture {cultureName} formats like the invariant culture here (no ICU data?)");
        var invariant = Kernels.Select(k => Run(CultureInfo.InvariantCulture, () => Emit(k))).ToList();
        var underCulture = Kernels.Select(k => Run(culture, () => Emit(k))).ToList();
        var failures = new List<string>();
        for (int i = 0; i < Kernels.Length; i++)
        {
            if (invariant[i] != underCulture[i])
                failures.Add($"{Kernels[i].Template} emits different source under {cultureName}:\n" + FirstDifference(invariant[i], underCulture[i]));
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    private static T Run<T>(CultureInfo culture, Func<T> action)
    {
        var (culture0, ui0) = (CultureInfo.CurrentCulture, CultureInfo.CurrentUICulture);
        try
        {
            CultureInfo.CurrentCulture = culture;
            CultureInfo.CurrentUICulture = culture;
            return action();
        }
        finally
        {
            CultureInfo.CurrentCulture = culture0;
            CultureInfo.CurrentUICulture = ui0;
        }
    }

    private static string FirstDifference(string expected, string actual)
    {
        var e = expected.Split('\n');
        var a = actual.Split('\n');
        for (int i = 0; i < Math.Min(e.Length, a.Length); i++)
        {
            if (e[i] != a[i])
                return $"line {i + 1}:\n  invariant: {e[i]}\n  culture:   {a[i]}";
        }
        return $"{e.Length} lines invariant, {a.Length} under the culture";
    }
}
