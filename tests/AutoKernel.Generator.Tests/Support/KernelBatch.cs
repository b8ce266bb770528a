using System.Reflection;
using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Schedules;
using AutoKernel.Generator.Workloads;
using AutoKernel.Runtime.Kernels;
using AutoKernel.Runtime.Threading;

namespace AutoKernel.Generator.Tests.Support;

/// <summary>One emitted kernel of a batch: what it was emitted from, and (after compiling) its type.</summary>
public sealed record KernelCase(Workload Workload, Epilogue Epilogue, Config Config, CpuTarget Target, string ClassName, string Source)
{
    public Type? Type { get; set; }

    /// <summary>Whether kernels from <see cref="Create"/> run their portable path (see <see cref="SetPortable"/>).</summary>
    public bool Portable { get; private set; }

    private bool _portableSet;

    /// <summary>
    /// A new instance of the emitted class; after <see cref="SetPortable"/>, with its ForcePortable
    /// switch set to <see cref="Portable"/> (otherwise untouched: construction then allocates only the object).
    /// </summary>
    public ITunedKernel Create()
    {
        var kernel = (ITunedKernel)Activator.CreateInstance(Type!)!;
        if (_portableSet)
            KernelBatch.SetPortable(kernel, Portable);
        return kernel;
    }

    /// <summary>
    /// Makes the kernels <see cref="Create"/> returns from now on run their portable path (or not),
    /// whether the emitted class has ForcePortable per instance or static.
    /// </summary>
    public void SetPortable(bool value)
    {
        Portable = value;
        _portableSet = true;
    }

    public override string ToString() => $"{Workload.Shape} {Target.VectorClass} [{Config}] bias={Epilogue.Bias} res={Epilogue.Residual} act={Epilogue.Activation}";
}

/// <summary>Compiles many emitted kernels in one Roslyn compilation (one per kernel is too slow for sampled tests).</summary>
public static class KernelBatch
{
    public const string Namespace = "AutoKernel.Tests.Emitted";

    public static void Compile(IReadOnlyList<KernelCase> cases)
    {
        var assembly = KernelCompiler.CompileAssembly(cases.Select(c => c.Source));
        foreach (var c in cases)
            c.Type = assembly.GetType(Namespace + "." + c.ClassName, throwOnError: true);
    }

    /// <summary>
    /// Sets a kernel's ForcePortable switch, whether the emitted class has it per instance or static
    /// (static: it applies to every instance of that class), and checks that it took.
    /// </summary>
    public static void SetPortable(ITunedKernel kernel, bool value)
    {
        var property = kernel.GetType().GetProperty("ForcePortable", BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static)
            ?? throw new InvalidOperationException($"{kernel.GetType()} has no public ForcePortable property");
        object? target = property.GetMethod!.IsStatic ? null : kernel;
        property.SetValue(target, value);
        if ((bool)property.GetValue(target)! != value)
            throw new InvalidOperationException($"{kernel.GetType()}.ForcePortable did not take the value {value}");
    }

    public static readonly Epilogue[] Epilogues =
    [
        Epilogue.None,
        new(true, false, "Relu", 0, 0),
        new(true, true, "Clip", 0, 6),
        new(false, true, "Sigmoid", 0, 0),
        new(true, true, "", 0, 0),
        new(true, false, "Sigmoid", 0, 0),
    ];

    /// <summary>Runs a kernel on standard-layout data, converting through its native layouts.</summary>
    public static unsafe float[] Run(ITunedKernel kernel, float[] input, float[] weights, float[]? bias, float[]? residual, int outputLength, WorkerPool pool)
    {
        kernel.Prepare(weights, bias);
        var xin = new float[kernel.InputLength];
        kernel.InputToNative(input, xin);
        var yout = new float[kernel.OutputLength];
        Array.Fill(yout, float.NaN);
        var rn = new float[kernel.OutputLength];
        if (residual is not null)
            kernel.OutputToNative(residual, rn);
        fixed (float* px = xin, py = yout, pr = rn)
            kernel.Run(px, py, residual is null ? null : pr, pool);
        var result = new float[outputLength];
        kernel.OutputFromNative(yout, result);
        return result;
    }
}
