using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using AutoKernel.Build.Graph;
using Microsoft.ML.OnnxRuntime;
using Tensor = AutoKernel.Build.Graph.Tensor;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;

namespace AutoKernel.Build.Compare;

/// <summary>Runs a model file in ONNX Runtime (CPU) on given inputs, for comparisons.</summary>
public static class OrtRunner
{
    /// <summary>What the comparison commands say when ONNX Runtime cannot be loaded.</summary>
    public const string UnavailableMessage =
        "ONNX Runtime is not available to this autokernel (the AutoKernel package leaves it out); run comparisons with the tool built from the repository";

    private static readonly Lazy<bool> s_available = new(Probe);

    /// <summary>
    /// Throws <see cref="ModelException"/> (one line, exit code 1) unless ONNX Runtime's native library
    /// loads. The AutoKernel NuGet package ships the tool without it: only comparisons use it.
    /// </summary>
    public static void EnsureAvailable()
    {
        if (!s_available.Value)
            throw new ModelException(UnavailableMessage);
    }

    private static bool Probe()
    {
        try
        {
            return NativeLoads();
        }
        catch (FileNotFoundException)
        {
            // The managed assembly itself is missing.
            return false;
        }
    }

    // Apart, so that a missing Microsoft.ML.OnnxRuntime.dll fails when this method is compiled, inside Probe's try.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool NativeLoads() =>
        // The name ONNX Runtime's DllImports use, probed as they probe (the deps.json native assets, then the app's folder).
        NativeLibrary.TryLoad("onnxruntime", typeof(InferenceSession).Assembly, searchPath: null, out _);

    public static IReadOnlyDictionary<string, Tensor> Run(string modelPath, IReadOnlyDictionary<string, Tensor> inputs, int threads = 0) =>
        Run(options => new InferenceSession(modelPath, options), modelPath, inputs, threads);

    /// <summary>Runs a serialized model held in memory.</summary>
    public static IReadOnlyDictionary<string, Tensor> Run(byte[] model, IReadOnlyDictionary<string, Tensor> inputs, int threads = 0) =>
        Run(options => new InferenceSession(model, options), "(in memory)", inputs, threads);

    private static IReadOnlyDictionary<string, Tensor> Run(Func<SessionOptions, InferenceSession> open, string modelPath, IReadOnlyDictionary<string, Tensor> inputs, int threads)
    {
        EnsureAvailable();
        using var options = new SessionOptions();
        if (threads > 0)
            options.IntraOpNumThreads = threads;
        options.LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR;
        InferenceSession session;
        try
        {
            session = open(options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ModelException($"ONNX Runtime cannot load the model: {FirstLine(e.Message)}") { File = modelPath };
        }
        using (session)
        {
            var values = new List<OrtValue>();
            try
            {
                var names = new List<string>();
                foreach (var (name, tensor) in inputs)
                {
                    names.Add(name);
                    values.Add(ToOrt(tensor));
                }
                var outputNames = session.OutputNames.ToArray();
                using var runOptions = new RunOptions();
                using var results = session.Run(runOptions, names, values, outputNames);
                var outputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
                for (int i = 0; i < outputNames.Length; i++)
                    outputs[outputNames[i]] = FromOrt(results[i], outputNames[i]);
                return outputs;
            }
            catch (OnnxRuntimeException e)
            {
                throw new ModelException($"ONNX Runtime failed to run the model: {FirstLine(e.Message)}") { File = modelPath };
            }
            finally
            {
                foreach (var v in values)
                    v.Dispose();
            }
        }
    }

    private static string FirstLine(string message) => message.Split('\n')[0].Trim();

    private static OrtValue ToOrt(Tensor t)
    {
        long[] shape = [.. t.Shape.Select(d => (long)d)];
        // By element type, not by array pattern: the runtime lets an sbyte[] match a byte[] pattern
        // (and the reverse), which handed int8 inputs to ONNX Runtime as uint8.
        return t.Type switch
        {
            DataType.Float => OrtValue.CreateTensorValueFromMemory(t.Floats, shape),
            DataType.Double => OrtValue.CreateTensorValueFromMemory(t.Doubles, shape),
            DataType.Int64 => OrtValue.CreateTensorValueFromMemory(t.Int64s, shape),
            DataType.Int32 => OrtValue.CreateTensorValueFromMemory(t.Int32s, shape),
            DataType.Bool => OrtValue.CreateTensorValueFromMemory(t.Bools, shape),
            DataType.UInt8 => OrtValue.CreateTensorValueFromMemory(t.UInt8s, shape),
            DataType.Int8 => OrtValue.CreateTensorValueFromMemory(t.Int8s, shape),
            _ => throw new InvalidOperationException("unknown storage"),
        };
    }

    private static Tensor FromOrt(OrtValue value, string name)
    {
        var info = value.GetTensorTypeAndShape();
        int[] shape = [.. info.Shape.Select(d => checked((int)d))];
        return info.ElementDataType switch
        {
            TensorElementType.Float => new Tensor(DataType.Float, shape, value.GetTensorDataAsSpan<float>().ToArray()),
            TensorElementType.Double => new Tensor(DataType.Double, shape, value.GetTensorDataAsSpan<double>().ToArray()),
            TensorElementType.Int64 => new Tensor(DataType.Int64, shape, value.GetTensorDataAsSpan<long>().ToArray()),
            TensorElementType.Int32 => new Tensor(DataType.Int32, shape, value.GetTensorDataAsSpan<int>().ToArray()),
            TensorElementType.Bool => new Tensor(DataType.Bool, shape, value.GetTensorDataAsSpan<bool>().ToArray()),
            TensorElementType.UInt8 => new Tensor(DataType.UInt8, shape, value.GetTensorDataAsSpan<byte>().ToArray()),
            TensorElementType.Int8 => new Tensor(DataType.Int8, shape, value.GetTensorDataAsSpan<sbyte>().ToArray()),
            var other => throw new ModelException($"ONNX Runtime output '{name}' has type {other}, which AutoKernel does not compare"),
        };
    }
}
