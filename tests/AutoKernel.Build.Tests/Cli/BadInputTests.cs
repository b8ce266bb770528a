using AutoKernel.Build.Graph;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Onnx.Proto;
using AutoKernel.Build.Tests.Support;
using Google.Protobuf;

namespace AutoKernel.Build.Tests.Cli;

/// <summary>
/// One test per class of bad input: each must give exit code 1 and a single line on stderr naming
/// the file (and the node, operator and opset where one applies), with no stack trace.
/// </summary>
public sealed class BadInputTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static ModelBuilder ConvModel(out string x, out string w, int opset = 17)
    {
        var b = new ModelBuilder("bad", opset);
        x = b.Input("x", DataType.Float, 1, 3, 8, 8);
        w = b.Initializer("w", Graphs.RandomFloats(1, 4, 3, 3, 3));
        return b;
    }

    private string Save(ModelBuilder b, string name = "model.onnx")
    {
        string path = _dir.File(name);
        b.Save(path);
        return path;
    }

    private static string AssertOneLineError(CliResult r, params string[] fragments) => Support.Cli.AssertOneLineError(r, fragments);

    [Fact]
    public void Truncated_protobuf()
    {
        var b = ConvModel(out var x, out var w);
        b.Output(b.Node("Conv", [x, w], name: "conv"));
        byte[] bytes = b.ToBytes();
        string path = _dir.File("truncated.onnx");
        File.WriteAllBytes(path, bytes[..(bytes.Length - 7)]);
        AssertOneLineError(Support.Cli.Run("inspect", path), path, "not a valid ONNX model");
    }

    [Fact]
    public void Graph_input_listed_twice()
    {
        var b = ConvModel(out var x, out var w);
        b.Output(b.Node("Conv", [x, w], name: "conv"));
        var model = b.Build();
        model.Graph.Input.Add(model.Graph.Input[0].Clone());
        string path = _dir.File("twice.onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        AssertOneLineError(Support.Cli.Run("inspect", path), path, "graph input 'x' is listed more than once");
    }

    [Fact]
    public void Garbage_file()
    {
        string path = _dir.File("garbage.onnx");
        File.WriteAllBytes(path, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]);
        AssertOneLineError(Support.Cli.Run("inspect", path), path, "not a valid ONNX model");
    }

    [Fact]
    public void Empty_file()
    {
        string path = _dir.File("empty.onnx");
        File.WriteAllBytes(path, []);
        AssertOneLineError(Support.Cli.Run("inspect", path), path, "empty");
    }

    [Fact]
    public void Unknown_operator()
    {
        var b = ConvModel(out var x, out _);
        b.Output(b.Node("FancyOp", [x], name: "mystery"));
        string path = Save(b);
        AssertOneLineError(Support.Cli.Run("inspect", path), path, "node 'mystery' (FancyOp, opset 17)", "not supported");
    }

    [Fact]
    public void Unknown_domain()
    {
        var model = ConvModel(out var x, out _);
        model.Output(model.Node("Relu", [x], name: "custom"));
        var proto = model.Build();
        proto.Graph.Node[0].Domain = "com.example";
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.example", Version = 1 });
        string path = _dir.File("domain.onnx");
        File.WriteAllBytes(path, proto.ToByteArray());
        AssertOneLineError(Support.Cli.Run("inspect", path), path, "node 'custom' (Relu", "domain 'com.example'");
    }

    [Fact]
    public void Unsupported_attribute_value()
    {
        var b = ConvModel(out var x, out var w);
        b.Output(b.Node("Conv", [x, w], a => a.String("auto_pad", "SOMETIMES"), name: "conv"));
        string path = Save(b);
        AssertOneLineError(Support.Cli.Run("inspect", path), path, "node 'conv' (Conv, opset 17)", "SOMETIMES");
    }

    [Fact]
    public void Missing_initializer()
    {
        var b = ConvModel(out var x, out var w);
        b.Output(b.Node("Conv", [x, w], name: "conv"));
        var proto = b.Build();
        proto.Graph.Node[0].Input[1] = "weights_that_are_not_there";
        string path = _dir.File("missing.onnx");
        File.WriteAllBytes(path, proto.ToByteArray());
        AssertOneLineError(Support.Cli.Run("inspect", path), path, "node 'conv' (Conv, opset 17)", "weights_that_are_not_there");
    }

    [Fact]
    public void Shape_mismatch()
    {
        var b = new ModelBuilder("bad", 17);
        string x = b.Input("x", DataType.Float, 1, 5, 8, 8);
        string w = b.Initializer("w", Graphs.RandomFloats(1, 4, 3, 3, 3));
        b.Output(b.Node("Conv", [x, w], name: "conv"));
        string path = Save(b);
        AssertOneLineError(Support.Cli.Run("inspect", path), path, "node 'conv' (Conv, opset 17)");
    }

    [Fact]
    public void Broadcast_mismatch()
    {
        var b = new ModelBuilder("bad", 17);
        string x = b.Input("x", DataType.Float, 1, 3, 4);
        string y = b.Input("y", DataType.Float, 1, 5, 4);
        b.Output(b.Node("Add", [x, y], name: "add"));
        string path = Save(b);
        AssertOneLineError(Support.Cli.Run("inspect", path), path, "node 'add' (Add, opset 17)");
    }

    [Fact]
    public void Dynamic_shape_without_input_shape()
    {
        var b = new ModelBuilder("dynamic", 17);
        string x = b.Input("images", DataType.Float, "batch", 3, 8, 8);
        b.Output(b.Node("Relu", [x], name: "relu"));
        string path = Save(b);
        AssertOneLineError(Support.Cli.Run("inspect", path), path, "input 'images'", "--input-shape images=1,3,8,8");

        var fixedShape = Support.Cli.Run("inspect", path, "--input-shape", "images=2,3,8,8");
        Assert.Equal(0, fixedShape.ExitCode);
        Assert.Contains("float[2,3,8,8]", fixedShape.Out);
    }

    [Fact]
    public void Input_shape_that_conflicts_with_the_model()
    {
        var b = new ModelBuilder("static", 17);
        string x = b.Input("x", DataType.Float, 1, 3, 8, 8);
        b.Output(b.Node("Relu", [x], name: "relu"));
        string path = Save(b);
        AssertOneLineError(Support.Cli.Run("inspect", path, "--input-shape", "x=1,4,8,8"), path, "conflicts");
        AssertOneLineError(Support.Cli.Run("inspect", path, "--input-shape", "nope=1"), path, "'nope'");
        AssertOneLineError(Support.Cli.Run("inspect", path, "--input-shape", "x=1,a"), "--input-shape");
    }

    [Fact]
    public void External_data_escaping_the_model_folder()
    {
        var b = ConvModel(out var x, out var w);
        b.Output(b.Node("Conv", [x, w], name: "conv"));
        var proto = b.Build();
        var weight = proto.Graph.Initializer.Single(t => t.Name == w);
        weight.RawData = ByteString.Empty;
        weight.DataLocation = TensorProto.Types.DataLocation.External;
        weight.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "../outside.bin" });
        File.WriteAllBytes(Path.Combine(Path.GetDirectoryName(_dir.Path)!, "outside.bin"), new byte[4 * 3 * 3 * 3 * 4]);
        string path = _dir.File("escape.onnx");
        File.WriteAllBytes(path, proto.ToByteArray());
        AssertOneLineError(Support.Cli.Run("inspect", path), path, "outside the model's folder");
    }

    [Fact]
    public void Unsupported_opset()
    {
        var b = ConvModel(out var x, out var w, opset: 5);
        b.Output(b.Node("Conv", [x, w], name: "conv"));
        string path = Save(b);
        AssertOneLineError(Support.Cli.Run("inspect", path), path, "opset 5 is not supported");
    }

    [Fact]
    public void Unsupported_data_type()
    {
        var b = ConvModel(out var x, out var w);
        b.Output(b.Node("Conv", [x, w], name: "conv"));
        var proto = b.Build();
        proto.Graph.Initializer.Single(t => t.Name == w).DataType = 10; // float16
        string path = _dir.File("fp16.onnx");
        File.WriteAllBytes(path, proto.ToByteArray());
        AssertOneLineError(Support.Cli.Run("inspect", path), path, "float16");
    }

    [Fact]
    public void Missing_file()
    {
        string path = _dir.File("nothing-here.onnx");
        AssertOneLineError(Support.Cli.Run("inspect", path), path, "cannot read model");
    }

    [Fact]
    public void Verbose_adds_the_stack_trace()
    {
        string path = _dir.File("empty.onnx");
        File.WriteAllBytes(path, []);
        var r = Support.Cli.Run("inspect", path, "--verbose");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(" at ", r.Error);
    }

    [Fact]
    public void Zoo_with_a_bad_option_writes_nothing()
    {
        string path = _dir.File("resnet.onnx");
        var r = Support.Cli.Run("zoo", "resnet18", "-o", path, "--image-size", "7");
        Assert.Equal(1, r.ExitCode);
        Assert.False(File.Exists(path));
        Assert.Empty(Directory.GetFiles(_dir.Path));
    }
}
