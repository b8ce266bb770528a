using System.IO.Compression;
using System.Xml.Linq;

namespace AutoKernel.Integration.Tests.Support;

/// <summary>
/// The AutoKernel package, packed once per test run into a temporary feed, and a packages folder
/// of its own: a package of the same version restored earlier into the machine's global folder
/// must not stand in for the one just packed. The global folder is a fallback for everything else.
/// </summary>
public sealed class PackageFeed : IDisposable
{
    private readonly TempFolder _root = new("feed");

    public PackageFeed()
    {
        Folder = Path.Combine(_root.Path, "feed");
        Packages = Path.Combine(_root.Path, "packages");
        Directory.CreateDirectory(Packages);
        Pack = Dotnet.Run(Repo.Root, ["pack", Path.Combine("src", "AutoKernel.Package", "AutoKernel.Package.csproj"), "-c", "Release", "-o", Folder, "-nr:false"],
            TimeSpan.FromMinutes(10)).EnsureSuccess();
        string package = Directory.GetFiles(Folder, "AutoKernel.*.nupkg").Single(p => !p.EndsWith(".symbols.nupkg", StringComparison.Ordinal));
        PackagePath = package;
        using var zip = ZipFile.OpenRead(package);
        var nuspec = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
        using var stream = nuspec.Open();
        var doc = XDocument.Load(stream);
        Version = doc.Descendants().Single(e => e.Name.LocalName == "version").Value;
    }

    /// <summary>The `dotnet pack` run, for its time.</summary>
    public DotnetResult Pack { get; }

    public string Folder { get; }

    public string Packages { get; }

    public string PackagePath { get; }

    public string Version { get; }

    /// <summary>The machine's global packages folder, a read-only fallback for the consumers' restores.</summary>
    public static string GlobalPackages =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p
            ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    public void Dispose() => _root.Dispose();
}
