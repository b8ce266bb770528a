using System.CommandLine;
using System.Globalization;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Zoo;

namespace AutoKernel.Build.Cli;

/// <summary>`autokernel zoo NAME -o FILE`: writes a torchvision-shaped network with seeded random weights.</summary>
public static class ZooCommand
{
    public static Command Create(TextWriter stdout)
    {
        var name = new Argument<string>("name") { Description = "Network: " + string.Join(", ", ModelZoo.Names) + "." };
        name.AcceptOnlyFromAmong([.. ModelZoo.Names]);
        name.HelpName = "name";
        var output = new Option<string>("--output", "-o") { Description = "The .onnx file to write.", Required = true };
        var batch = new Option<int>("--batch") { Description = "Batch size.", DefaultValueFactory = _ => 1 };
        var imageSize = new Option<int>("--image-size") { Description = "Input height and width.", DefaultValueFactory = _ => 224 };
        var seed = new Option<int>("--seed") { Description = "Seed of the random weights.", DefaultValueFactory = _ => 0 };
        var command = new Command("zoo", "Write a torchvision-shaped network with seeded random weights.") { name, output, batch, imageSize, seed };
        command.SetAction(parse =>
        {
            string path = parse.GetValue(output)!;
            Onnx.Proto.ModelProto model;
            try
            {
                model = ModelZoo.Create(parse.GetValue(name)!, parse.GetValue(batch), parse.GetValue(imageSize), parse.GetValue(seed));
            }
            catch (ArgumentException e)
            {
                throw new ModelException(e.Message);
            }
            ModelFiles.SaveAtomically(model, path);
            long bytes = new FileInfo(path).Length;
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {path}: {parse.GetValue(name)}, {ModelZoo.CountParameters(model):N0} parameters, {bytes / 1e6:F1} MB"));
            return 0;
        });
        return command;
    }
}
