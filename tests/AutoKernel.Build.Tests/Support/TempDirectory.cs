namespace AutoKernel.Build.Tests.Support;

/// <summary>A fresh folder under the system temp folder, deleted on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "autokernel-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Locations in the repository and beside it.</summary>
public static class TestPaths
{
    /// <summary>The folder holding AutoKernel.sln.</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>ONNX's backend test cases, shared beside the checkout (may be absent).</summary>
    public static string OnnxTests => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "onnx-tests"));

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AutoKernel.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException("cannot find AutoKernel.sln above " + AppContext.BaseDirectory);
    }
}
