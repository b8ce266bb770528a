using AutoKernel.Build.Measure;
using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Workloads;

namespace AutoKernel.Build.Tests.Measure;

/// <summary>Hand-written candidates: correct, broken in each way the runner must survive.</summary>
internal static class PlantedKernels
{
    public static readonly DenseWorkload Dense = new(2, 8, 4);

    /// <summary>Bias, residual and Relu: every epilogue part is checked.</summary>
    public static readonly Epilogue DenseEpilogue = new(true, true, "Relu", 0, 0);

    public const string CorrectDenseBody = """
        for (int m = 0; m < M; m++)
        {
            for (int n = 0; n < N; n++)
            {
                float acc = _b is null ? 0f : _b[n];
                for (int k = 0; k < K; k++)
                    acc += input[m * K + k] * _w[n * K + k];
                if (residual != null)
                    acc += residual[m * N + n];
                output[m * N + n] = acc > 0 ? acc : 0;
            }
        }
        """;

    public static Candidate DenseCandidate(string name, string runBody, string extraMembers = "")
    {
        string source = $$"""
            using System;
            using AutoKernel.Runtime.Kernels;
            using AutoKernel.Runtime.Threading;

            namespace Planted.{{name}};

            public sealed unsafe class Kernel : ITunedKernel
            {
                private const int M = 2, N = 8, K = 4;
                private float[] _w = new float[N * K];
                private float[]? _b;

                public int InputLength => M * K;
                public int OutputLength => M * N;

                public void Prepare(float[] weights, float[]? bias)
                {
                    _w = weights;
                    _b = bias;
                }

                public void Run(float* input, float* output, float* residual, WorkerPool pool)
                {
            {{runBody}}
                }

                // The runner measures through Prepare only; binding external packed storage is not exercised here.
                public int PackedWeightsLength => _w.Length;
                public int PackedBiasLength => _b?.Length ?? 0;
                public void CopyPacked(Span<float> weights, Span<float> bias) { _w.CopyTo(weights); _b?.CopyTo(bias); }
                public void Bind(float* weights, float* bias) => throw new NotSupportedException("planted kernels run on Prepare's arrays");

                public void InputToNative(ReadOnlySpan<float> standard, Span<float> native) => standard.CopyTo(native);
                public void OutputToNative(ReadOnlySpan<float> standard, Span<float> native) => standard.CopyTo(native);
                public void OutputFromNative(ReadOnlySpan<float> native, Span<float> standard) => native.CopyTo(standard);
            {{extraMembers}}
            }
            """;
        return new Candidate(Dense, DenseEpilogue, "planted", 0, source, $"Planted.{name}.Kernel");
    }

    public static Candidate Correct(string name) => DenseCandidate(name, CorrectDenseBody);

    public static Candidate Throws(string name) => DenseCandidate(name, """throw new InvalidOperationException("planted failure 4711");""");

    public static Candidate FailFast(string name) => DenseCandidate(name, """Environment.FailFast("planted fail-fast");""");

    public static Candidate Hangs(string name) => DenseCandidate(name, "while (true) { }");

    public static Candidate Wrong(string name) => DenseCandidate(name, CorrectDenseBody + "\noutput[3] += 0.5f;");

    public static Candidate SyntaxError(string name) => DenseCandidate(name, "int x = ;");

    public static Candidate StackOverflow(string name) => DenseCandidate(name, "Recurse(1);", "    private static int Recurse(int n) => n == 0 ? 0 : Recurse(n + 1) + 1;");

    /// <summary>Padded, strided NCHW convolution with bias and LeakyRelu, naive loops.</summary>
    public static readonly Conv2dWorkload Conv = new(1, 3, 7, 6, 4, 3, 3, 2, 1, 1, 1, 1, 0, 1, 1, 1);

    public static readonly Epilogue ConvEpilogue = new(true, false, "LeakyRelu", 0.1f, 0);

    /// <summary>Depthwise, dilated convolution with a residual and Clip.</summary>
    public static readonly Conv2dWorkload Depthwise = new(2, 4, 5, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 2, 2, 4);

    public static readonly Epilogue DepthwiseEpilogue = new(false, true, "Clip", -0.2f, 0.3f);

    public static Candidate ConvCandidate(string name) => ConvCandidate(name, Conv, ConvEpilogue, "acc >= 0 ? acc : 0.1f * acc");

    public static Candidate DepthwiseCandidate(string name) => ConvCandidate(name, Depthwise, DepthwiseEpilogue, "Math.Clamp(acc, -0.2f, 0.3f)");

    /// <summary>Naive NCHW loops for any batch, padding, stride, dilation and groups; <paramref name="activation"/> is an expression of acc.</summary>
    public static Candidate ConvCandidate(string name, Conv2dWorkload w, Epilogue epilogue, string activation)
    {
        string source = $$"""
            using System;
            using AutoKernel.Runtime.Kernels;
            using AutoKernel.Runtime.Threading;

            namespace Planted.{{name}};

            public sealed unsafe class ConvKernel : ITunedKernel
            {
                private const int B = {{w.Batch}}, C = {{w.InChannels}}, H = {{w.InHeight}}, W = {{w.InWidth}}, O = {{w.OutChannels}}, G = {{w.Groups}};
                private const int KH = {{w.KernelHeight}}, KW = {{w.KernelWidth}}, SH = {{w.StrideHeight}}, SW = {{w.StrideWidth}};
                private const int DH = {{w.DilationHeight}}, DW = {{w.DilationWidth}};
                private const int PT = {{w.PadTop}}, PL = {{w.PadLeft}}, OH = {{w.OutHeight}}, OW = {{w.OutWidth}};
                private const int CG = C / G, OG = O / G;
                private float[] _w = [];
                private float[]? _b;

                public int InputLength => B * C * H * W;
                public int OutputLength => B * O * OH * OW;

                public void Prepare(float[] weights, float[]? bias)
                {
                    _w = weights;
                    _b = bias;
                }

                public void Run(float* input, float* output, float* residual, WorkerPool pool)
                {
                    nint pin = (nint)input, pout = (nint)output, pres = (nint)residual;
                    pool.For(B * O, bo =>
                    {
                        float* x = (float*)pin, y = (float*)pout, r = (float*)pres;
                        int n = bo / O, o = bo % O, g = o / OG;
                        for (int oy = 0; oy < OH; oy++)
                        for (int ox = 0; ox < OW; ox++)
                        {
                            float acc = _b is null ? 0f : _b[o];
                            for (int c = 0; c < CG; c++)
                            for (int ky = 0; ky < KH; ky++)
                            for (int kx = 0; kx < KW; kx++)
                            {
                                int iy = oy * SH - PT + ky * DH, ix = ox * SW - PL + kx * DW;
                                if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                                    acc += x[((n * C + g * CG + c) * H + iy) * W + ix] * _w[((o * CG + c) * KH + ky) * KW + kx];
                            }
                            int at = ((n * O + o) * OH + oy) * OW + ox;
                            if (r != null)
                                acc += r[at];
                            y[at] = {{activation}};
                        }
                    });
                }

                // The runner measures through Prepare only; binding external packed storage is not exercised here.
                public int PackedWeightsLength => _w.Length;
                public int PackedBiasLength => _b?.Length ?? 0;
                public void CopyPacked(Span<float> weights, Span<float> bias) { _w.CopyTo(weights); _b?.CopyTo(bias); }
                public void Bind(float* weights, float* bias) => throw new NotSupportedException("planted kernels run on Prepare's arrays");

                public void InputToNative(ReadOnlySpan<float> standard, Span<float> native) => standard.CopyTo(native);
                public void OutputToNative(ReadOnlySpan<float> standard, Span<float> native) => standard.CopyTo(native);
                public void OutputFromNative(ReadOnlySpan<float> native, Span<float> standard) => native.CopyTo(standard);
            }
            """;
        return new Candidate(w, epilogue, "planted", 0, source, $"Planted.{name}.ConvKernel");
    }
}
