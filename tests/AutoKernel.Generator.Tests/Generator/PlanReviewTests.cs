using System.Text;
using System.Text.RegularExpressions;
using AutoKernel.Generator.Emit;
using AutoKernel.Generator.Plans;
using AutoKernel.Generator.Tests.Plans;

namespace AutoKernel.Generator.Tests.Generator;

/// <summary>Review of the plan format: JSON edge cases, validation gaps, and a fuzz of PlanReader.</summary>
public sealed class PlanReviewTests
{
    [Theory]
    [InlineData("\"\\u 12a\"")] // int.TryParse(HexNumber) took leading white space
    [InlineData("\"\\u12a \"")]
    [InlineData("\"\\u+12a\"")]
    [InlineData("01")]
    [InlineData("[-01]")]
    [InlineData("\u0663")] // ARABIC-INDIC DIGIT THREE: char.IsDigit, not a JSON digit
    [InlineData("[1\u0663]")]
    [InlineData("1.\u0663")]
    public void Json_that_RFC_8259_refuses_is_refused(string text)
    {
        Assert.Throws<PlanFormatException>(() => JsonParser.Parse(text));
    }

    [Fact]
    public void Json_escapes_and_surrogate_pairs_read_exactly()
    {
        var s = Assert.IsType<JsonString>(JsonParser.Parse("\"a\\u00e9\\ud83d\\ude00\\/\\b\\f\\n\\r\\t\\\"\\\\\""));
        Assert.Equal("a\u00e9\U0001F600/\b\f\n\r\t\"\\", s.Value);
        Assert.IsType<JsonNumber>(JsonParser.Parse("0"));
        Assert.IsType<JsonNumber>(JsonParser.Parse("-0.5e-3"));
    }

    [Fact]
    public void A_byte_order_mark_does_not_shift_the_columns_of_the_first_line()
    {
        var e = Assert.Throws<PlanFormatException>(() => JsonParser.Parse("\uFEFFx"));
        Assert.Equal((1, 1), (e.Line, e.Column));
        Assert.IsType<JsonObject>(JsonParser.Parse("\uFEFF{}"));
    }

    [Fact]
    public void Deep_nesting_and_duplicate_keys_are_format_errors()
    {
        Assert.Throws<PlanFormatException>(() => JsonParser.Parse(new string('[', 100_000)));
        Assert.Throws<PlanFormatException>(() => JsonParser.Parse("{\"a\": 1, \"a\": 2}"));
    }

    [Fact]
    public void Names_with_lone_surrogates_survive_a_utf8_file()
    {
        var plan = PlanFormatTests.Sample() with { Model = "bad\uD800name\uDC00.onnx" };
        string text = PlanFormat.Write(plan);
        string onDisk = Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(text));
        Assert.Equal(plan, PlanFormat.Parse(onDisk));
    }

    private static string Good => TestPlans.Text();

    public static TheoryData<string, string> Gaps() => new()
    {
        // offset + floats overflowed a long, passing the bounds check.
        { "arena offset overflow", Good.Replace("\"kind\": \"arena\",\n      \"offset\": 0,", "\"kind\": \"arena\",\n      \"offset\": 9223372036854775807,", StringComparison.Ordinal) },
        { "weights offset overflow", Good.Replace("\"offset\": 512,", "\"offset\": 9223372036854775807,", StringComparison.Ordinal) },
        // ArenaBytes = floats * 4 overflowed into a negative constant.
        { "arena bytes overflow", Good.Replace("\"floats\": 16,", "\"floats\": 4611686018427387904,", StringComparison.Ordinal) },
        // InputLength is a const int: 2^32 elements did not compile.
        { "input with 2^32 elements", Good.Replace("\"shape\": [1, 8]", "\"shape\": [65536, 65536]", StringComparison.Ordinal)
            .Replace("\"kind\": \"input\",\n      \"offset\": 0,\n      \"floats\": 8", "\"kind\": \"input\",\n      \"offset\": 0,\n      \"floats\": 4294967296", StringComparison.Ordinal) },
        // Run checks the span against the shape, the kernels read the buffer: they must agree.
        { "input buffer smaller than its shape", Good.Replace("\"kind\": \"input\",\n      \"offset\": 0,\n      \"floats\": 8", "\"kind\": \"input\",\n      \"offset\": 0,\n      \"floats\": 2", StringComparison.Ordinal) },
    };

    [Theory]
    [MemberData(nameof(Gaps))]
    public void Plans_the_emitter_cannot_turn_into_valid_code_are_refused(string what, string text)
    {
        Assert.NotEqual(Good, text);
        var e = Record.Exception(() => PlanFormat.Parse(text));
        Assert.True(e is PlanFormatException, $"{what}: {e?.GetType().Name ?? "accepted"}");
    }

    [Fact]
    public void A_step_reading_an_input_the_plan_does_not_have_is_refused()
    {
        var plan = TestPlans.Plan();
        var buffers = plan.Buffers.Append(new PlanBuffer(5, PlanBuffer.Input, 1, 8)).ToEquatableArray();
        var steps = plan.Steps.Select((s, i) => i == 0 ? s with { Inputs = new[] { 5 }.ToEquatableArray() } : s).ToEquatableArray();
        string text = PlanFormat.Write(plan with { Buffers = buffers, Steps = steps });
        Assert.Throws<PlanFormatException>(() => PlanFormat.Parse(text));
        var output = PlanFormat.Write(plan with { Buffers = plan.Buffers.Append(new PlanBuffer(5, PlanBuffer.Output, 3, 5)).ToEquatableArray() });
        Assert.Throws<PlanFormatException>(() => PlanFormat.Parse(output));
    }

    private static readonly string[] Numbers =
    [
        "0", "-1", "1", "2", "3", "4", "5", "7", "8", "16", "63", "64", "128", "255", "256", "512", "1024", "4096", "65536",
        "2147483647", "2147483648", "-2147483648", "4294967296", "9223372036854775807", "-9223372036854775808", "99999999999999999999",
        "1e308", "0.5", "-0", "1e-50",
    ];

    private static readonly string[] Strings =
    [
        "", "x", "arena", "weights", "input", "output", "tuned", "fixed", "copy", "transform", "Copy", "Relu", "Clip", "Sigmoid", "Activation",
        "LayoutTransform", "Concat", "Add", "MaxPool", "Softmax", "Transpose", "dense_packed", "conv2d_nchwc", "conv2d_1x1_nchwc",
        "dense|data=1x8|weight=5x8|dtype=float32", "dense|data=0x8|weight=5x8|dtype=float32", "dense|data=1x8|weight=2147483647x8|dtype=float32",
        "conv2d|data=1x3x8x8|kernel=8x3x3x3|stride=1x1|pad=1x1x1x1|dilation=1x1|groups=1|dtype=float32",
        "a\\nb", "\\u2028", "{", "}", "\\\"", "class", "x y", "1abc", "\\ud800", "NaN", "Infinity", "-Infinity", "0", "16", "-1", "8",
        "from", "to", "axis", "activation", "perm", "record", "fallback",
    ];

    private static readonly Regex Token = new("\"(?:[^\"\\\\]|\\\\.)*\"|-?\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?", RegexOptions.Compiled);

    /// <summary>Replaces 1-3 random tokens (numbers by numbers, strings by strings, sometimes a number by a string or the reverse).</summary>
    private static string Mutate(string text, Random random)
    {
        var tokens = Token.Matches(text).ToList();
        int count = random.Next(1, 4);
        var sb = new StringBuilder(text);
        foreach (var m in tokens.OrderBy(_ => random.Next()).Take(count).OrderByDescending(m => m.Index))
        {
            bool isString = m.Value[0] == '"';
            string replacement = (isString ^ random.Next(10) == 0)
                ? "\"" + Strings[random.Next(Strings.Length)] + "\""
                : random.Next(4) == 0 ? random.Next(-2, 70).ToString(System.Globalization.CultureInfo.InvariantCulture) : Numbers[random.Next(Numbers.Length)];
            if (random.Next(25) == 0)
                replacement = random.Next(2) == 0 ? "[]" : "{}";
            sb.Remove(m.Index, m.Length).Insert(m.Index, replacement);
        }
        string result = sb.ToString();
        if (random.Next(30) == 0)
            result = result[..random.Next(result.Length)];
        return result;
    }

    public static TheoryData<string> Seeds() => new()
    {
        "tiny", "sample", "copies",
    };

    private static string Seed(string name) => name switch
    {
        "tiny" => TestPlans.Text(),
        "sample" => PlanFormat.Write(PlanFormatTests.Sample()),
        _ => PlanFormat.Write(ReviewPlans.CopyPlan(["a", "b"], ["c", "d", "e"])),
    };

    /// <summary>
    /// The generator must never throw: every mutated plan is read to a diagnostic or to a model whose
    /// model class and kernels emit, and a sample of the accepted ones compiles with warnings as errors.
    /// </summary>
    [Theory]
    [MemberData(nameof(Seeds))]
    public void Mutated_plans_give_diagnostics_or_code_that_compiles_never_exceptions(string seed)
    {
        string good = Seed(seed);
        var random = new Random(seed.Length * 7919 + 17);
        var accepted = new List<string>();
        var failures = new List<string>();
        for (int n = 0; n < 1500; n++)
        {
            string text = Mutate(good, random);
            try
            {
                var result = PlanReader.Read("/p/fuzz.akplan.json", text, null, "App", null);
                if (result.Model is { } model)
                {
                    ModelEmitter.Model(model);
                    foreach (var k in model.Kernels)
                        ModelEmitter.Kernel(k);
                    if (text != good)
                        accepted.Add(text);
                }
                else
                {
                    Assert.Single(result.Diagnostics);
                }
            }
            catch (Exception e)
            {
                failures.Add($"{e.GetType().Name}: {e.Message}\n{Diff(good, text)}");
            }
        }
        Assert.True(failures.Count == 0, $"{failures.Count} mutated plans threw; first:\n" + string.Join("\n----\n", failures.Take(3)));

        var compileFailures = new List<string>();
        foreach (string text in accepted.Distinct(StringComparer.Ordinal).Take(12))
        {
            var (result, diagnostics, output) = ReviewPlans.Generate([("/p/fuzz.akplan.json", text)]);
            Assert.Null(result.Exception);
            if (diagnostics.Count > 0)
                continue;
            var problems = ReviewPlans.Problems(output);
            if (problems.Count > 0)
                compileFailures.Add(string.Join("; ", problems.Take(2)) + "\n" + Diff(good, text));
        }
        Assert.True(compileFailures.Count == 0, "accepted plans whose code does not compile:\n" + string.Join("\n----\n", compileFailures.Take(3)));
    }

    private static string Diff(string a, string b)
    {
        var la = a.Split('\n');
        var lb = b.Split('\n');
        var lines = new List<string>();
        for (int i = 0; i < Math.Max(la.Length, lb.Length) && lines.Count < 6; i++)
        {
            string x = i < la.Length ? la[i] : "", y = i < lb.Length ? lb[i] : "";
            if (x != y)
                lines.Add($"  line {i + 1}: {x.Trim()} -> {y.Trim()}");
        }
        return string.Join("\n", lines);
    }
}
