namespace AutoKernel.Generator.Tests.Support;

/// <summary>
/// Checked-in expected outputs (golden files) under tests/AutoKernel.Generator.Tests/Baselines.
/// After an intended change to the emitters, refresh them with AUTOKERNEL_UPDATE_BASELINES=1 and
/// review the diff. They hold the output across processes, machines and cultures, which a
/// comparison of two calls in one process cannot (string hashes are randomized per process).
/// </summary>
public static class Baselines
{
    /// <summary>Whether this run writes the baselines instead of checking them.</summary>
    public static bool Update => Environment.GetEnvironmentVariable("AUTOKERNEL_UPDATE_BASELINES") == "1";

    /// <summary>The folder of baselines, or a subfolder of it.</summary>
    public static string Folder(string? subfolder = null)
    {
        string root = Path.Combine(RepoRoot(), "tests", "AutoKernel.Generator.Tests", "Baselines");
        return subfolder is null ? root : Path.Combine(root, subfolder);
    }

    /// <summary>
    /// Checks <paramref name="actual"/> against the baseline file <paramref name="path"/>, byte for
    /// byte (as UTF-8), or writes it there when <see cref="Update"/> is set.
    /// </summary>
    public static void Check(string path, string actual)
    {
        if (Update)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, actual);
            return;
        }
        Assert.True(File.Exists(path), $"no baseline {path}; run with AUTOKERNEL_UPDATE_BASELINES=1 to create it");
        Assert.Equal(File.ReadAllText(path), actual);
    }

    /// <summary>
    /// Fails (unless updating) when <paramref name="folder"/> holds *.txt baselines other than
    /// <paramref name="produced"/> (file names): a baseline nothing produces any more is stale.
    /// </summary>
    public static void CheckNoneStale(string folder, IEnumerable<string> produced)
    {
        if (Update)
            return;
        var stale = (Directory.Exists(folder) ? Directory.GetFiles(folder, "*.txt").Select(f => Path.GetFileName(f)!) : [])
            .Except(produced).Order(StringComparer.Ordinal).ToList();
        Assert.True(stale.Count == 0, "baselines no longer generated: " + string.Join(", ", stale));
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AutoKernel.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException("cannot find the repository root (AutoKernel.sln) above " + AppContext.BaseDirectory);
    }
}
