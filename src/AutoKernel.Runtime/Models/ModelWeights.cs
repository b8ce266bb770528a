using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace AutoKernel.Runtime.Models;

/// <summary>
/// A model's weights in 64-byte-aligned native memory, loaded once per process and shared
/// read-only by every instance of the model: instances hold a reference, and the memory is freed
/// when the last one is disposed. Weights are identified by the payload's SHA-256, which the plan
/// recorded, and are checked against it when loaded.
/// </summary>
public sealed unsafe class ModelWeights : IDisposable
{
    private static readonly Dictionary<string, Entry> s_loaded = new(StringComparer.Ordinal);
    private static readonly object s_lock = new();
    private Entry? _entry;

    private ModelWeights(Entry entry) => _entry = entry;

    /// <summary>The payload; offsets in the plan are in floats from here.</summary>
    public float* Floats => _entry is { } e ? (float*)e.Memory : throw new ObjectDisposedException(nameof(ModelWeights));

    /// <summary>How many instances of all models in this process share loaded weights (for tests and diagnostics).</summary>
    public static int LoadedCount
    {
        get
        {
            lock (s_lock)
                return s_loaded.Count;
        }
    }

    /// <summary>
    /// The weights with this hash: already loaded ones, or else read from the options' path or
    /// stream, or from the embedded resource <paramref name="resourceName"/> of <paramref name="assembly"/>
    /// (a model built with <c>Weights=Embedded</c>, the default).
    /// </summary>
    public static ModelWeights Acquire(Assembly assembly, string resourceName, string sha256, long bytes, ModelOptions options, string model)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        ArgumentNullException.ThrowIfNull(resourceName);
        return Acquire(new Source(assembly, resourceName, null), sha256, bytes, options, model);
    }

    /// <summary>
    /// The weights with this hash: already loaded ones, or else read from the options' path or
    /// stream, or from the file <paramref name="defaultPath"/> (a model built with <c>Weights=File</c>,
    /// whose weights file the build copies next to the app; the generated class passes
    /// <c>Path.Combine(AppContext.BaseDirectory, WeightsResourceName)</c>). A missing file is a
    /// <see cref="FileNotFoundException"/> naming the model, the path and what to do.
    /// </summary>
    public static ModelWeights AcquireFile(string defaultPath, string sha256, long bytes, ModelOptions options, string model)
    {
        ArgumentNullException.ThrowIfNull(defaultPath);
        return Acquire(new Source(null, null, defaultPath), sha256, bytes, options, model);
    }

    private static ModelWeights Acquire(Source source, string sha256, long bytes, ModelOptions options, string model)
    {
        ArgumentNullException.ThrowIfNull(sha256);
        ArgumentNullException.ThrowIfNull(options);
        lock (s_lock)
        {
            if (s_loaded.TryGetValue(sha256, out var shared))
            {
                shared.References++;
                return new ModelWeights(shared);
            }
            var entry = Load(source, sha256, bytes, options, model);
            s_loaded.Add(sha256, entry);
            return new ModelWeights(entry);
        }
    }

    /// <summary>Where a model's weights are when the options name neither a file nor a stream.</summary>
    private readonly record struct Source(Assembly? Assembly, string? ResourceName, string? DefaultPath);

    private static Entry Load(Source from, string sha256, long bytes, ModelOptions options, string model)
    {
        string source;
        Stream? owned = null;
        Stream stream;
        if (options.WeightsStream is { } given)
        {
            stream = given;
            source = $"the weights stream given to {model}";
        }
        else if (options.WeightsPath is { } path)
        {
            source = path;
            try
            {
                stream = owned = OpenFile(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new FileNotFoundException($"cannot open the weights file of {model}: {path}: {e.Message}", path, e);
            }
        }
        else if (from.DefaultPath is { } file)
        {
            source = file;
            try
            {
                stream = owned = OpenFile(file);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                throw new FileNotFoundException(
                    $"{model}: the weights file {file} does not exist. {model} was built with Weights=File, so its weights are not in the assembly "
                    + $"but in the file {Path.GetFileName(file)} next to the app: copy it from the build output into {Path.GetDirectoryName(file)}, "
                    + "or pass the path of the weights file as ModelOptions.WeightsPath (or a stream as ModelOptions.WeightsStream)", file, e);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new FileNotFoundException(
                    $"{model}: cannot open the weights file {file}: {e.Message} (built with Weights=File, {model} reads its weights from that file next to the app unless ModelOptions.WeightsPath or WeightsStream is given)", file, e);
            }
        }
        else
        {
            string resourceName = from.ResourceName!;
            source = $"embedded resource '{resourceName}'";
            stream = owned = from.Assembly!.GetManifestResourceStream(resourceName)
                ?? throw new InvalidOperationException(
                    $"{model}: the assembly has no embedded resource '{resourceName}' with the model's weights; embed the weights file under that name, or pass ModelOptions.WeightsPath or WeightsStream");
        }
        try
        {
            return Read(stream, source, sha256, bytes, model);
        }
        finally
        {
            owned?.Dispose();
        }
    }

    private static FileStream OpenFile(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);

    private static Entry Read(Stream stream, string source, string sha256, long bytes, string model)
    {
        Span<byte> header = stackalloc byte[WeightsFile.HeaderSize];
        try
        {
            stream.ReadExactly(header);
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException($"{source}: not an AutoKernel weights file (shorter than its {WeightsFile.HeaderSize}-byte header)");
        }
        var (payload, fileSha) = WeightsFile.ReadHeader(header, source);
        if (payload != bytes || fileSha != sha256)
            throw new InvalidDataException($"{source}: these weights do not belong to this build of {model} (expected {bytes} bytes with SHA-256 {sha256[..12]}..., the file has {payload} bytes with {fileSha[..12]}...); rebuild so that the weights and the model class come from the same compile");
        void* memory = NativeMemory.AlignedAlloc((nuint)Math.Max(bytes, WeightsFile.Alignment), WeightsFile.Alignment);
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            byte* p = (byte*)memory;
            for (long done = 0; done < bytes;)
            {
                int chunk = (int)Math.Min(bytes - done, 1 << 24);
                var span = new Span<byte>(p + done, chunk);
                stream.ReadExactly(span);
                hash.AppendData(span);
                done += chunk;
            }
            string actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            if (actual != sha256)
                throw new InvalidDataException($"{source}: the weights payload is corrupt (its SHA-256 is {actual[..12]}..., the header says {sha256[..12]}...)");
            return new Entry(sha256, memory);
        }
        catch (EndOfStreamException)
        {
            NativeMemory.AlignedFree(memory);
            throw new InvalidDataException($"{source}: the weights file is truncated (expected {bytes} bytes of payload)");
        }
        catch
        {
            NativeMemory.AlignedFree(memory);
            throw;
        }
    }

    public void Dispose()
    {
        lock (s_lock)
        {
            if (_entry is not { } entry)
                return;
            _entry = null;
            if (--entry.References == 0)
            {
                s_loaded.Remove(entry.Sha256);
                NativeMemory.AlignedFree(entry.Memory);
            }
        }
    }

    private sealed class Entry(string sha256, void* memory)
    {
        public string Sha256 { get; } = sha256;

        public void* Memory { get; } = memory;

        public int References { get; set; } = 1;
    }
}
