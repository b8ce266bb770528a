using AutoKernel.Generator.Kernels;

namespace AutoKernel.Generator.Tests.Support;

/// <summary>
/// The activations the epilogue tests run, derived from the generator's own list of the
/// activations it emits (<see cref="EpilogueCode.Activations"/>, "" for none), not copied by
/// hand: a new activation there is tested by every epilogue test at once, and fails them until it
/// has a reference (<see cref="NaiveConvolution.Activate"/>) and parameters here
/// (<c>ActivationCasesTests</c>).
/// </summary>
public static class ActivationCases
{
    /// <summary>Every activation the generator emits, "" (none) first.</summary>
    public static IReadOnlyList<string> Names => EpilogueCode.Activations;

    /// <summary>The parameter sets tested per activation (non-default values where the operator has parameters).</summary>
    private static readonly Dictionary<string, (float Alpha, float Beta)[]> s_parameters = new(StringComparer.Ordinal)
    {
        [""] = [(0f, 0f)],
        ["Relu"] = [(0f, 0f)],
        ["Clip"] = [(-0.5f, 0.7f), (0.1f, 0.7f) /* zero is clipped up: padded channels need the mask */],
        ["LeakyRelu"] = [(0.2f, 0f)],
        ["Sigmoid"] = [(0f, 0f)],
        ["HardSigmoid"] = [(0.3f, 0.4f)],
        ["HardSwish"] = [(0f, 0f)],
        ["Tanh"] = [(0f, 0f)],
        ["Elu"] = [(0.7f, 0f)],
        ["Selu"] = [(1.67326319217681884765625f, 1.05070102214813232421875f)],
        ["Softplus"] = [(0f, 0f)],
        ["Swish"] = [(1f, 0f), (1.7f, 0f)],
    };

    /// <summary>
    /// Every activation of <see cref="Names"/> with each of its parameter sets; an activation with
    /// none listed comes with (0, 0), so that it is still compiled and run (and
    /// <see cref="WithoutParameters"/> names it).
    /// </summary>
    public static IReadOnlyList<(string Activation, float Alpha, float Beta)> All =>
    [
        .. Names.SelectMany(name => (s_parameters.TryGetValue(name, out var sets) ? sets : [(0f, 0f)]).Select(p => (name, p.Alpha, p.Beta))),
    ];

    /// <summary>Activations the generator emits that have no parameter sets here.</summary>
    public static IReadOnlyList<string> WithoutParameters => [.. Names.Where(n => !s_parameters.ContainsKey(n))];

    /// <summary>Parameter sets for names the generator no longer emits (stale entries).</summary>
    public static IReadOnlyList<string> Unknown => [.. s_parameters.Keys.Where(n => !Names.Contains(n))];
}
