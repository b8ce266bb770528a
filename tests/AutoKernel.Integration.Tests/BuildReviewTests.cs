using AutoKernel.Integration.Tests.Support;

namespace AutoKernel.Integration.Tests;

/// <summary>
/// Cases found in a review of the targets and tasks, each short (tiny model, AutoKernelTuning=Off
/// or a build that stops before the tool): a class claimed by two models, metadata the tool would
/// reject without a code, Weights=File in builds that do not compile the model's project, and a
/// change of tool. Part of <see cref="BuildIntegrationTests"/>, so that its builds take turns with the others.
/// </summary>
public sealed partial class BuildIntegrationTests
{
    private static readonly string[] Off = ["-tl:off", "-p:AutoKernelTuning=Off"];

    [Fact]
    public void A_project_and_a_model_in_folders_with_spaces_and_accents_build_from_another_folder()
    {
        using var c = new Consumer(feed, "sp ace é");
        string model = c.AddZooModel("mödels #1/tiny net.onnx", Tiny, ImageSize, seed: 10);
        var item = new ConsumerModel("mödels #1/tiny net.onnx", "TinyNet", "Trials=\"2\"");
        c.Write([item]);

        var build = Dotnet.Run(Path.GetTempPath(), ["build", c.ProjectFile, "-c", "Release", "-nr:false", .. Plain]).EnsureSuccess();
        Assert.Contains(build.Lines, l => l.Contains("autokernel: tuning 3 of 3 tasks of tiny net.onnx", StringComparison.Ordinal));
        Assert.True(File.Exists(c.PathOf("autokernel/tiny net.cpu.jsonl")));
        c.RunAndCompare([(item, model)]);
    }

    [Fact]
    public void Renaming_the_class_and_switching_weights_follow_without_stale_outputs()
    {
        using var c = new Consumer(feed, "options");
        string model = c.AddZooModel("tiny.onnx", Tiny, ImageSize, seed: 21);
        c.Write([new ConsumerModel("tiny.onnx", "First", "ClassName=\"First\"")]);
        c.Build(Off).EnsureSuccess();
        string obj = c.PathOf("obj/Release/net10.0/autokernel");
        Assert.True(File.Exists(Path.Combine(obj, "Consumer.First.akplan.json")));

        // A new class name: new outputs, and the old plan is neither kept nor given to the generator.
        var renamed = new ConsumerModel("tiny.onnx", "Second", "ClassName=\"Second\" Weights=\"File\"");
        c.Write([renamed]);
        var second = c.Build(Off).EnsureSuccess();
        Assert.Contains(second.Lines, l => l.Contains("autokernel: tiny.onnx: ", StringComparison.Ordinal));
        Assert.Equal(["Consumer.Second.akplan.json", "Consumer.Second.options", "Consumer.Second.weights"],
            Directory.GetFiles(obj).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.True(File.Exists(c.PathOf("bin/Release/net10.0/Consumer.Second.weights")));
        c.RunAndCompare([(renamed, model)]);

        // Where the weights live changes nothing the tool writes: it does not run, the file leaves the output.
        var embedded = new ConsumerModel("tiny.onnx", "Second", "ClassName=\"Second\"");
        c.Write([embedded]);
        var third = c.Build(Off).EnsureSuccess();
        Assert.DoesNotContain(third.Lines, l => l.Contains("autokernel: ", StringComparison.Ordinal));
        Assert.False(File.Exists(c.PathOf("bin/Release/net10.0/Consumer.Second.weights")));
        c.RunAndCompare([(embedded, model)]);
    }

    [Fact]
    public void Two_models_that_generate_one_class_are_one_error_naming_both_files()
    {
        // Same file name in two folders: the same default class, plan and weights file names.
        using var c = new Consumer(feed, "clash");
        c.AddZooModel("a/tiny.onnx", Tiny, ImageSize, seed: 11);
        c.AddZooModel("b/tiny.onnx", Tiny, ImageSize, seed: 12);
        c.Write([new ConsumerModel("a/tiny.onnx", "Tiny"), new ConsumerModel("b/tiny.onnx", "Tiny")]);

        var build = c.Build(Off);
        Assert.NotEqual(0, build.ExitCode);
        var error = Assert.Single(build.BuildLines, l => l.Contains(": error ", StringComparison.Ordinal));
        Assert.Contains("error AK1014:", error);
        Assert.Contains(c.PathOf("a/tiny.onnx"), error);
        Assert.Contains(c.PathOf("b/tiny.onnx"), error);
        Assert.Contains("Consumer.Tiny", error);
        Assert.DoesNotContain(build.Lines, l => l.Contains("autokernel: ", StringComparison.Ordinal));
    }

    [Fact]
    public void A_model_listed_twice_is_one_error_that_says_so()
    {
        // The usual slip: a wildcard, then the same file again to give it metadata (Update was meant).
        using var c = new Consumer(feed, "twice");
        c.AddZooModel("tiny.onnx", Tiny, ImageSize, seed: 17);
        c.Write([new ConsumerModel("*.onnx", "Tiny"), new ConsumerModel("tiny.onnx", "Tiny", "Weights=\"File\"")]);

        var build = c.Build(Off);
        Assert.NotEqual(0, build.ExitCode);
        var error = Assert.Single(build.BuildLines, l => l.Contains(": error ", StringComparison.Ordinal));
        Assert.Contains("error AK1014:", error);
        Assert.Contains("listed twice", error);
        Assert.Contains(c.PathOf("tiny.onnx"), error);
    }

    [Fact]
    public void Models_with_different_threads_are_one_error_before_any_tuning()
    {
        // The generator would reject the plans (one kernel set per assembly), but only after both were tuned.
        using var c = new Consumer(feed, "threads");
        c.AddZooModel("a.onnx", Tiny, ImageSize, seed: 18);
        c.AddZooModel("b.onnx", Tiny, ImageSize, seed: 19);
        c.Write([new ConsumerModel("a.onnx", "A", "Threads=\"1\" Trials=\"2\""), new ConsumerModel("b.onnx", "B", "Trials=\"2\"")]);

        var build = c.Build(Plain);
        Assert.NotEqual(0, build.ExitCode);
        var error = Assert.Single(build.BuildLines, l => l.Contains(": error ", StringComparison.Ordinal));
        Assert.Contains("error AK1015:", error);
        Assert.StartsWith(c.PathOf("b.onnx") + " : error", error.TrimStart());
        Assert.Contains(c.PathOf("a.onnx"), error);
        Assert.DoesNotContain(build.Lines, l => l.Contains("autokernel: ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Weights=\"Files\"", "AK1012", "Weights='Files'")]
    [InlineData("Tuning=\"sometimes\"", "AK1012", "'sometimes'")]
    [InlineData("Trials=\"abc\"", "AK1012", "Trials='abc'")]
    [InlineData("Threads=\"2.5\"", "AK1012", "Threads='2.5'")]
    [InlineData("ClassName=\"my-model\"", "AK1012", "ClassName='my-model'")]
    [InlineData("Namespace=\"Acme.3d\"", "AK1012", "Namespace='Acme.3d'")]
    [InlineData("Device=\"gpu\"", "AK1005", "'gpu'")]
    [InlineData("InputShapes=\"x=1,a\"", "AK1003", "'a'")]
    public void Bad_metadata_is_one_error_with_a_code_naming_the_model(string metadata, string code, string detail)
    {
        using var c = new Consumer(feed, "metadata");
        c.AddZooModel("models/tiny.onnx", Tiny, ImageSize, seed: 13);
        c.Write([new ConsumerModel("models/tiny.onnx", "Tiny", metadata)]);

        var build = c.Build(Off);
        Assert.NotEqual(0, build.ExitCode);
        var error = Assert.Single(build.BuildLines, l => l.Contains(": error ", StringComparison.Ordinal));
        Assert.StartsWith(c.PathOf("models/tiny.onnx") + " : error " + code + ":", error.TrimStart());
        Assert.Contains(detail, error);
    }

    [Fact]
    public void A_double_quote_in_the_model_path_is_one_error_not_a_garbled_command_line()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Windows file names cannot hold a double quote");
        using var c = new Consumer(feed, "quote");
        c.AddZooModel("ti\"ny.onnx", Tiny, ImageSize, seed: 14);
        c.Write([new ConsumerModel("ti\"ny.onnx", "Tiny", "ClassName=\"Tiny\"")]);

        var build = c.Build(Off);
        Assert.NotEqual(0, build.ExitCode);
        var error = Assert.Single(build.BuildLines, l => l.Contains(": error ", StringComparison.Ordinal));
        Assert.Contains("error AK1012:", error);
        Assert.Contains("double quote", error);
        Assert.Contains(c.PathOf("ti\"ny.onnx"), error);
    }

    [Fact]
    public void Weights_in_a_file_reach_an_app_that_references_the_library_also_without_building_it()
    {
        using var c = new Consumer(feed, "library");
        string model = c.AddZooModel("models/tiny.onnx", Tiny, ImageSize, seed: 15);
        // The library references the package; the app gets the targets (buildTransitive) and the class through it.
        Directory.CreateDirectory(c.PathOf("models"));
        File.WriteAllText(c.PathOf("models/Models.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <RootNamespace>{Consumer.Namespace}</RootNamespace>
                <AssemblyName>Consumer.Models</AssemblyName>
                <EnableDefaultCompileItems>false</EnableDefaultCompileItems>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="AutoKernel" Version="{feed.Version}" />
                <AutoKernelModel Include="tiny.onnx" Weights="File" />
              </ItemGroup>
            </Project>
            """);
        var item = new ConsumerModel("models/tiny.onnx", "Tiny");
        c.Write([item], items: "<ProjectReference Include=\"models/Models.csproj\" />\n    <Compile Remove=\"models/**\" />");

        c.Build(Off).EnsureSuccess();
        Assert.True(File.Exists(c.PathOf("bin/Release/net10.0/Consumer.Tiny.weights")), "the library's weights file is copied to the app's output");
        c.RunAndCompare([(item, model)]);

        // A build of the app alone (the library already built) and a publish without a build ask the
        // library for its files without compiling it.
        Directory.Delete(c.PathOf("bin"), recursive: true);
        c.Build([.. Off, "--no-dependencies"]).EnsureSuccess();
        Assert.True(File.Exists(c.PathOf("bin/Release/net10.0/Consumer.Tiny.weights")), "--no-dependencies");
        c.Dotnet(["publish", "-c", "Release", "--no-build", "-o", c.PathOf("published"), "-nr:false", .. Off]).EnsureSuccess();
        Assert.True(File.Exists(c.PathOf("published/Consumer.Tiny.weights")), "publish --no-build");
        c.Dotnet(["exec", c.PathOf("published/Consumer.dll"), c.PathOf("input.bin"), c.PathOf("published.bin")]).EnsureSuccess();
        Assert.Equal(File.ReadAllBytes(c.PathOf("output0.bin")), File.ReadAllBytes(c.PathOf("published.bin")));
    }

    [Fact]
    public void Weights_in_a_file_are_packed_with_a_library_and_reach_the_app_that_uses_its_package()
    {
        using var c = new Consumer(feed, "packed");
        string model = c.AddZooModel("models/tiny.onnx", Tiny, ImageSize, seed: 20);
        File.WriteAllText(c.PathOf("models/Models.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <RootNamespace>{Consumer.Namespace}</RootNamespace>
                <PackageId>Consumer.Models</PackageId>
                <Version>1.0.0</Version>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="AutoKernel" Version="{feed.Version}" />
                <AutoKernelModel Include="tiny.onnx" Weights="File" />
              </ItemGroup>
            </Project>
            """);
        c.Dotnet(["pack", c.PathOf("models/Models.csproj"), "-c", "Release", "-o", c.PathOf("library-feed"), "-nr:false", .. Off]).EnsureSuccess();

        // The app references the library's package, from a second source.
        string config = File.ReadAllText(c.PathOf("nuget.config"));
        File.WriteAllText(c.PathOf("nuget.config"), config.Replace("<packageSources>",
            $"<packageSources>\n    <add key=\"library\" value=\"{System.Security.SecurityElement.Escape(c.PathOf("library-feed"))}\" />", StringComparison.Ordinal));
        var item = new ConsumerModel("models/tiny.onnx", "Tiny");
        c.Write([item], items: "<PackageReference Include=\"Consumer.Models\" Version=\"1.0.0\" />\n    <Compile Remove=\"models/**\" />");

        c.Build(Plain).EnsureSuccess();
        Assert.True(File.Exists(c.PathOf("bin/Release/net10.0/Consumer.Tiny.weights")), "the packed weights are copied to the app's output");
        c.RunAndCompare([(item, model)]);
    }

    [Fact]
    public void Another_tool_reruns_the_build_even_when_its_files_are_older_than_the_plan()
    {
        using var c = new Consumer(feed, "tool");
        c.AddZooModel("tiny.onnx", Tiny, ImageSize, seed: 16);
        // Metadata values are not case-sensitive: the tool gets cpu and random.
        c.Write([new ConsumerModel("tiny.onnx", "Tiny", "Device=\"CPU\" Tuner=\"Random\"")]);
        var first = c.Build(Off).EnsureSuccess();
        Assert.Contains(first.Lines, l => l.Contains("autokernel: tiny.onnx: ", StringComparison.Ordinal));
        Assert.True(File.Exists(c.PathOf("obj/Release/net10.0/autokernel/Consumer.Tiny.akplan.json")));

        // Another version of the package, say an older one restored with the timestamps of its files.
        string tools = Path.Combine(feed.Packages, "autokernel", feed.Version, "tools", "net10.0");
        string other = c.PathOf("other-tool");
        foreach (string file in Directory.GetFiles(tools, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(other, Path.GetRelativePath(tools, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
            File.SetLastWriteTimeUtc(target, new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        }
        var second = c.Build([.. Off, $"-p:AutoKernelToolPath={Path.Combine(other, "autokernel.dll")}"]).EnsureSuccess();
        Assert.Contains(second.Lines, l => l.Contains("autokernel: tiny.onnx: ", StringComparison.Ordinal));
    }
}
