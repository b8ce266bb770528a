using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Tests.Support;

namespace AutoKernel.Generator.Tests;

/// <summary>
/// The epilogue tests' activation cases cover exactly what the generator emits, and each has a
/// reference that computes the definition: a new activation in the generator fails here until the
/// tests know how to check it.
/// </summary>
public sealed class ActivationCasesTests
{
    /// <summary>
    /// The reference at x = -2 and x = 1 with each activation's first parameter set, worked out by
    /// hand (e = 2.718281828...):
    /// Sigmoid 1/(1+e^2) = 0.1192029, 1/(1+e^-1) = 0.7310586; HardSigmoid(0.3, 0.4) clamp(-0.2) = 0,
    /// clamp(0.7) = 0.7; HardSwish -2·(-2/6+0.5) = -1/3, 1·(1/6+0.5) = 2/3; Elu(0.7) 0.7·(e^-2-1) =
    /// 0.7·-0.8646647 = -0.6052653; Selu(α=1.6732632, γ=1.0507010) γ·α·(e^-2-1) = 1.7580993·-0.8646647
    /// = -1.5201665, γ·1 = 1.0507010; Softplus ln(1+e^-2) = 0.1269280, ln(1+e) = 1.3132617;
    /// Swish(1) -2·0.1192029 = -0.2384058, 0.7310586.
    /// </summary>
    private static readonly Dictionary<string, (float AtMinus2, float AtOne)> HandValues = new(StringComparer.Ordinal)
    {
        [""] = (-2f, 1f),
        ["Relu"] = (0f, 1f),
        ["Clip"] = (-0.5f, 0.7f),
        ["LeakyRelu"] = (-0.4f, 1f),
        ["Sigmoid"] = (0.1192029f, 0.7310586f),
        ["HardSigmoid"] = (0f, 0.7f),
        ["HardSwish"] = (-1f / 3f, 2f / 3f),
        ["Tanh"] = (-0.9640276f, 0.7615942f),
        ["Elu"] = (-0.6052653f, 1f),
        ["Selu"] = (-1.5201665f, 1.0507010f),
        ["Softplus"] = (0.1269280f, 1.3132617f),
        ["Swish"] = (-0.2384058f, 0.7310586f),
    };

    [Fact]
    public void Every_activation_the_generator_emits_has_test_parameters()
    {
        Assert.Contains("", ActivationCases.Names);
        Assert.True(ActivationCases.WithoutParameters.Count == 0,
            "activations with no test parameters in Support/ActivationCases.cs: " + string.Join(", ", ActivationCases.WithoutParameters));
        Assert.True(ActivationCases.Unknown.Count == 0,
            "test parameters for activations the generator does not emit: " + string.Join(", ", ActivationCases.Unknown));
        Assert.Equal(ActivationCases.Names.Count, ActivationCases.All.Select(c => c.Activation).Distinct().Count());
    }

    [Fact]
    public void Every_activation_the_generator_emits_has_a_reference_that_matches_the_hand_values()
    {
        var failures = new List<string>();
        foreach (string name in ActivationCases.Names)
        {
            var (_, alpha, beta) = ActivationCases.All.First(c => c.Activation == name);
            var e = new Epilogue(false, false, name, alpha, beta);
            if (!HandValues.TryGetValue(name, out var hand))
            {
                failures.Add($"'{name}': no hand-computed reference values in {nameof(ActivationCasesTests)}");
                continue;
            }
            try
            {
                foreach (var (x, expected) in new[] { (-2f, hand.AtMinus2), (1f, hand.AtOne) })
                {
                    float actual = NaiveConvolution.Activate(e, x);
                    if (!Closeness.IsClose(expected, actual, atol: 1e-6f, rtol: 1e-6f))
                        failures.Add($"'{name}'({alpha}, {beta}) at {x}: the reference gives {actual}, by hand {expected}");
                }
            }
            catch (ArgumentException)
            {
                failures.Add($"'{name}': NaiveConvolution.Activate has no reference for it");
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void Every_activation_the_generator_emits_has_vector_and_scalar_code()
    {
        foreach (var (activation, alpha, beta) in ActivationCases.All)
        {
            var e = new Epilogue(false, false, activation, alpha, beta);
            Assert.False(string.IsNullOrEmpty(EpilogueCode.Vector(e, "acc", "Vector256")));
            Assert.False(string.IsNullOrEmpty(EpilogueCode.Scalar(e, "acc")));
        }
    }
}
