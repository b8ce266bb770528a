using AutoKernel.Build.Onnx.Proto;
using AutoKernel.Build.Zoo;
using Google.Protobuf;

namespace AutoKernel.Build.Tests.Zoo;

public class ModelZooTests
{
    public static TheoryData<string, long> SmallModels => new()
    {
        { "resnet18", 11_689_512 },
        { "resnet34", 21_797_672 },
        { "resnet50", 25_557_032 },
        { "mobilenet_v2", 3_504_872 },
        { "squeezenet1_1", 1_235_496 },
        { "mobilenet_v3_small", 2_542_856 },
        { "shufflenet_v2_x1_0", 2_278_604 },
        { "alexnet", 61_100_840 },
        { "densenet121", 7_978_856 },
        { "googlenet", 6_624_904 },
    };

    [Fact]
    public void NamesListTheZoo()
    {
        Assert.Equal(["resnet18", "resnet34", "resnet50", "mobilenet_v2", "vgg16", "squeezenet1_1",
            "mobilenet_v3_small", "shufflenet_v2_x1_0", "alexnet", "densenet121", "googlenet", "dbnet_tiny", "tiny_cnn"], ModelZoo.Names);
    }

    [Fact]
    public void UnknownNameThrowsListingNames()
    {
        var e = Assert.Throws<ArgumentException>(() => ModelZoo.Create("resnet19"));
        Assert.Contains("resnet19", e.Message);
        foreach (string name in ModelZoo.Names)
            Assert.Contains(name, e.Message);
    }

    [Theory]
    [InlineData("resnet18", 48)]
    [InlineData("resnet50", 16)]
    [InlineData("mobilenet_v2", 100)]
    [InlineData("vgg16", 64)]
    [InlineData("vgg16", 0)]
    [InlineData("squeezenet1_1", 16)]
    [InlineData("alexnet", 100)]
    [InlineData("alexnet", 32)]
    [InlineData("mobilenet_v3_small", 48)]
    [InlineData("shufflenet_v2_x1_0", 40)]
    [InlineData("dbnet_tiny", 48)]
    [InlineData("tiny_cnn", 4)]
    public void InvalidImageSizeThrows(string name, int imageSize)
    {
        var e = Assert.Throws<ArgumentException>(() => ModelZoo.Create(name, imageSize: imageSize));
        Assert.Contains(name, e.Message);
    }

    [Fact]
    public void InvalidBatchThrows()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ModelZoo.Create("resnet18", batch: 0));
    }

    [Theory]
    [MemberData(nameof(SmallModels))]
    public void ParameterCountMatchesTorchvision(string name, long torchvisionParameters)
    {
        // Running each network (in ONNX Runtime and the reference executor) is ZooVersusOrtTests' job.
        var model = ModelZoo.Create(name, batch: 1, imageSize: 64, seed: 1);
        Assert.Equal(torchvisionParameters, ModelZoo.CountParameters(model));
        CheckStructure(model, batch: 1, imageSize: 64);
    }

    [Fact]
    public void TinyCnnHasThreeTasksAndTenClasses()
    {
        // 3x16x3x3 + 16x32x3x3 convolutions, two BatchNorm scale/shift pairs, a 32x10 Linear with bias.
        var model = ModelZoo.Create("tiny_cnn", batch: 2, imageSize: 32, seed: 1);
        Assert.Equal(432 + 32 + 4608 + 64 + 330, ModelZoo.CountParameters(model));
        var loaded = ModelPipeline.Prepare(AutoKernel.Build.Onnx.OnnxImporter.Import(model, "tiny_cnn.onnx", null));
        Assert.Equal(3, AutoKernel.Build.Tasks.TaskExtractor.Extract(loaded.Optimized).Count);
        Assert.Equal([2, 10], loaded.Optimized.Outputs[0].Type.Shape);
    }

    [Fact]
    public void Vgg16ParameterCountMatchesTorchvision()
    {
        var model = ModelZoo.Create("vgg16", batch: 1, imageSize: 32, seed: 1);
        Assert.Equal(138_357_544, ModelZoo.CountParameters(model));
        CheckStructure(model, batch: 1, imageSize: 32);
        Assert.Contains(model.Graph.Node, n => n.OpType == "Expand");
    }

    [Fact]
    public void DbNetTinyGivesAProbabilityMap()
    {
        var model = ModelZoo.Create("dbnet_tiny", batch: 1, imageSize: 64, seed: 3);
        // Backbone 307,536 + FPN 52,224 + head 10,385, counted by hand from the layer shapes.
        Assert.Equal(370_145, ModelZoo.CountParameters(model));
        var ops = model.Graph.Node.Select(n => n.OpType).ToHashSet();
        Assert.Superset(new HashSet<string> { "Resize", "Concat", "ConvTranspose", "Sigmoid", "Add", "BatchNormalization" }, ops);
        var input = Support.Graphs.RandomFloats(42, 1, 3, 64, 64);
        var y = Compare.OrtRunner.Run(model.ToByteArray(), new Dictionary<string, AutoKernel.Build.Graph.Tensor> { ["input"] = input })["output"];
        Assert.Equal([1, 1, 64, 64], y.Shape);
        Assert.All(y.Floats, v => Assert.InRange(v, 0f, 1f));
        Assert.True(y.Floats.Distinct().Count() > 100);
    }

    [Fact]
    public void ShuffleNetShufflesChannels()
    {
        var model = ModelZoo.Create("shufflenet_v2_x1_0", imageSize: 64);
        Assert.Equal(13, model.Graph.Node.Count(n => n.OpType == "Split"));
        Assert.Equal(16, model.Graph.Node.Count(n => n.OpType == "Transpose"));
        Assert.Equal(32, model.Graph.Node.Count(n => n.OpType == "Reshape"));
        Assert.Single(model.Graph.Node, n => n.OpType == "ReduceMean");
    }

    [Fact]
    public void MobileNetV3SmallUsesHardActivationsAndSqueezeExcitation()
    {
        var model = ModelZoo.Create("mobilenet_v3_small", imageSize: 64);
        Assert.Equal(9, model.Graph.Node.Count(n => n.OpType == "HardSigmoid"));
        Assert.Equal(9, model.Graph.Node.Count(n => n.OpType == "Mul"));
        Assert.Equal(10, model.Graph.Node.Count(n => n.OpType == "GlobalAveragePool"));
        Assert.Equal(19, model.Graph.Node.Count(n => n.OpType == "HardSwish")); // stem, 8 blocks x 2, last conv, classifier
        var bn = model.Graph.Node.First(n => n.OpType == "BatchNormalization");
        Assert.Equal(0.001f, bn.Attribute.Single(a => a.Name == "epsilon").F);
    }

    [Fact]
    public void SameSeedGivesIdenticalBytes()
    {
        foreach (string name in new[] { "squeezenet1_1", "resnet18", "mobilenet_v2" })
        {
            byte[] a = ModelZoo.Create(name, imageSize: 64, seed: 7).ToByteArray();
            byte[] b = ModelZoo.Create(name, imageSize: 64, seed: 7).ToByteArray();
            Assert.Equal(a, b);
        }
    }

    [Fact]
    public void DifferentSeedGivesDifferentWeights()
    {
        var a = ModelZoo.Create("squeezenet1_1", imageSize: 64, seed: 1);
        var b = ModelZoo.Create("squeezenet1_1", imageSize: 64, seed: 2);
        Assert.Equal(a.Graph.Initializer.Count, b.Graph.Initializer.Count);
        for (int i = 0; i < a.Graph.Initializer.Count; i++)
        {
            Assert.Equal(a.Graph.Initializer[i].Name, b.Graph.Initializer[i].Name);
            Assert.Equal(a.Graph.Initializer[i].Dims, b.Graph.Initializer[i].Dims);
            Assert.NotEqual(a.Graph.Initializer[i].RawData, b.Graph.Initializer[i].RawData);
        }
        Assert.Equal(a.Graph.Node, b.Graph.Node);
    }

    [Fact]
    public void BatchAndImageSizeShapeTheInput()
    {
        var model = ModelZoo.Create("resnet18", batch: 4, imageSize: 96);
        CheckStructure(model, batch: 4, imageSize: 96);
    }

    [Fact]
    public void ResNet50HasTorchvisionStructure()
    {
        var model = ModelZoo.Create("resnet50", imageSize: 64);
        var ops = model.Graph.Node.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(53, ops["Conv"]); // 1 stem + 16 blocks x 3 + 4 downsample
        Assert.Equal(53, ops["BatchNormalization"]);
        Assert.Equal(16, ops["Add"]);
        Assert.Equal(49, ops["Relu"]);
        Assert.Equal(1, ops["MaxPool"]);
        Assert.Equal(1, ops["GlobalAveragePool"]);
        Assert.Equal(1, ops["Flatten"]);
        Assert.Equal(1, ops["Gemm"]);
        Assert.Contains(model.Graph.Initializer, t => t.Name == "layer1.0.conv1.weight");
        Assert.Contains(model.Graph.Initializer, t => t.Name == "layer4.2.bn3.running_var");
        var bn = model.Graph.Node.First(n => n.OpType == "BatchNormalization");
        var runningVar = model.Graph.Initializer.First(t => t.Name == bn.Input[4]);
        var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(runningVar.RawData.Span);
        foreach (float v in values)
            Assert.InRange(v, 0.5f, 1.5f);
    }

    [Fact]
    public void MobileNetV2UsesClipForRelu6()
    {
        var model = ModelZoo.Create("mobilenet_v2", imageSize: 64);
        var ops = model.Graph.Node.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(52, ops["Conv"]);
        Assert.Equal(35, ops["Clip"]);
        Assert.Equal(10, ops["Add"]);
        Assert.DoesNotContain("Relu", ops.Keys);
        Assert.Contains(model.Graph.Node, n => n.OpType == "Conv" && n.Attribute.Any(a => a.Name == "group" && a.I == 960));
    }

    [Fact]
    public void SqueezeNetConcatenatesFireModules()
    {
        var model = ModelZoo.Create("squeezenet1_1", imageSize: 64);
        Assert.Equal(8, model.Graph.Node.Count(n => n.OpType == "Concat"));
        Assert.Equal(3, model.Graph.Node.Count(n => n.OpType == "MaxPool"));
        Assert.DoesNotContain(model.Graph.Node, n => n.OpType == "Gemm");
    }

    private static void CheckStructure(ModelProto model, int batch, int imageSize)
    {
        Assert.Equal(17, model.OpsetImport.Single(o => o.Domain == "").Version);
        var input = Assert.Single(model.Graph.Input);
        Assert.Equal("input", input.Name);
        Assert.Equal(new long[] { batch, 3, imageSize, imageSize }, input.Type.TensorType.Shape.Dim.Select(d => d.DimValue));
        var output = Assert.Single(model.Graph.Output);
        Assert.Equal("output", output.Name);
        Assert.Equal(new long[] { batch, 1000 }, output.Type.TensorType.Shape.Dim.Select(d => d.DimValue));
        Assert.Equal(model.Graph.Node.Count, model.Graph.Node.Select(n => n.Name).Distinct().Count());
    }
}
