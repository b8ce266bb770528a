using System.Globalization;
using System.Security;
using System.Text;
using AutoKernel.Build;
using AutoKernel.Build.Compare;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Reference;
using AutoKernel.Build.Zoo;
using Google.Protobuf;

namespace AutoKernel.Integration.Tests.Support;

/// <summary>One model of a consumer project: its item and the class the program runs.</summary>
public sealed record ConsumerModel(string File, string ClassName, string ItemAttributes = "")
{
    public string Item => $"<AutoKernelModel Include=\"{SecurityElement.Escape(File)}\" {ItemAttributes} />";
}

/// <summary>
/// A console project in a temporary folder that references the packed AutoKernel package and
/// lists models; its program reads one input (raw float32), runs every model on it and writes
/// each output next to it. Builds and runs through the real `dotnet`.
/// </summary>
public sealed class Consumer : IDisposable
{
    public const string Namespace = "Consumer";
    private readonly PackageFeed _feed;
    private readonly TempFolder _folder;

    public Consumer(PackageFeed feed, string name)
    {
        _feed = feed;
        _folder = new TempFolder(name);
        File.WriteAllText(Path.Combine(Folder, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config>
                <add key="globalPackagesFolder" value="{SecurityElement.Escape(feed.Packages)}" />
              </config>
              <packageSources>
                <add key="autokernel-local" value="{SecurityElement.Escape(feed.Folder)}" />
              </packageSources>
              <fallbackPackageFolders>
                <add key="machine" value="{SecurityElement.Escape(PackageFeed.GlobalPackages)}" />
              </fallbackPackageFolders>
            </configuration>
            """);
    }

    public string Folder => _folder.Path;

    public string PathOf(string relative) => Path.Combine(Folder, relative);

    public string ProjectFile => PathOf("Consumer.csproj");

    /// <summary>A zoo network with seeded weights, written into the project folder.</summary>
    public string AddZooModel(string file, string network, int imageSize, int seed)
    {
        string path = PathOf(file);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, ModelZoo.Create(network, imageSize: imageSize, seed: seed).ToByteArray());
        return path;
    }

    /// <summary>
    /// Writes the project and the program for these models (every model must have one float input and output).
    /// <paramref name="items"/>, when given, replaces the project's items (the package reference and the
    /// models): for a project that gets its models through a project reference.
    /// </summary>
    public void Write(IReadOnlyList<ConsumerModel> models, string properties = "", string? items = null)
    {
        items ??= $"<PackageReference Include=\"AutoKernel\" Version=\"{_feed.Version}\" />\n    " + string.Join("\n    ", models.Select(m => m.Item));
        File.WriteAllText(ProjectFile, $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                <RootNamespace>{Namespace}</RootNamespace>
                <AssemblyName>Consumer</AssemblyName>
                {properties}
              </PropertyGroup>
              <ItemGroup>
                {items}
              </ItemGroup>
            </Project>
            """);
        var program = new StringBuilder();
        program.AppendLine("""
            static float[] Read(string path)
            {
                byte[] bytes = File.ReadAllBytes(path);
                var floats = new float[bytes.Length / 4];
                Buffer.BlockCopy(bytes, 0, floats, 0, bytes.Length);
                return floats;
            }

            static void Write(string path, float[] floats)
            {
                var bytes = new byte[floats.Length * 4];
                Buffer.BlockCopy(floats, 0, bytes, 0, bytes.Length);
                File.WriteAllBytes(path, bytes);
            }

            float[] input = Read(args[0]);
            """);
        for (int i = 0; i < models.Count; i++)
        {
            string type = $"global::{Namespace}.{models[i].ClassName}";
            program.AppendLine(CultureInfo.InvariantCulture, $$"""
                using (var model = new {{type}}())
                {
                    var output = new float[{{type}}.OutputLength];
                    model.Run(input, output);
                    Write(args[{{i + 1}}], output);
                    Console.WriteLine("{{models[i].ClassName}}: " + output.Length + " outputs");
                }
                """);
        }
        File.WriteAllText(PathOf("Program.cs"), program.ToString());
    }

    public DotnetResult Dotnet(params string[] args) => Support.Dotnet.Run(Folder, args);

    public DotnetResult Build(params string[] extra) => Dotnet(["build", "-c", "Release", "-nr:false", .. extra]);

    /// <summary>
    /// Runs the built program (or <paramref name="executable"/>, e.g. a native publish) on a seeded
    /// input for <paramref name="models"/> and checks each output against the reference executor.
    /// </summary>
    public void RunAndCompare(IReadOnlyList<(ConsumerModel Model, string Path)> models, string? executable = null)
    {
        var first = ModelPipeline.Load(models[0].Path);
        var inputs = InputGenerator.Create(first.Optimized, seed: 5);
        var input = inputs.Values.Single();
        string inputFile = PathOf("input.bin");
        WriteFloats(inputFile, input.Floats);
        var outputs = models.Select((m, i) => PathOf($"output{i}.bin")).ToArray();
        DotnetResult run = executable is null
            ? Dotnet(["exec", PathOf(Path.Combine("bin", "Release", "net10.0", "Consumer.dll")), inputFile, .. outputs])
            : Process(executable, [inputFile, .. outputs]);
        run.EnsureSuccess();
        for (int i = 0; i < models.Count; i++)
        {
            var loaded = ModelPipeline.Load(models[i].Path);
            var expected = new Interpreter(loaded.Optimized).Run(new Dictionary<string, Tensor> { [loaded.Optimized.Inputs[0].Name] = input }).Values.Single();
            var actual = Tensor.FromFloats(expected.Shape, ReadFloats(outputs[i]));
            var comparison = TensorComparison.Compare(actual, expected);
            Assert.True(comparison.Passed, $"{models[i].Model.ClassName}: {comparison}");
        }
    }

    private static DotnetResult Process(string executable, IReadOnlyList<string> args)
    {
        var info = new System.Diagnostics.ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
            info.ArgumentList.Add(a);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var p = System.Diagnostics.Process.Start(info)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return new DotnetResult(executable, p.ExitCode, stdout + stderr.Result, clock.Elapsed);
    }

    private static void WriteFloats(string path, float[] floats)
    {
        var bytes = new byte[floats.Length * 4];
        Buffer.BlockCopy(floats, 0, bytes, 0, bytes.Length);
        File.WriteAllBytes(path, bytes);
    }

    private static float[] ReadFloats(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        var floats = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, floats, 0, bytes.Length);
        return floats;
    }

    public void Dispose() => _folder.Dispose();
}
