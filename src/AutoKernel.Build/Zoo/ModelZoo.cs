using AutoKernel.Build.Onnx.Proto;

namespace AutoKernel.Build.Zoo;

/// <summary>
/// Well-known image classifiers built in code with the layer shapes, parameter counts and ONNX
/// op structure of torchvision's models as torch.onnx.export writes them in eval mode (opset 17,
/// BatchNormalization kept as its own node, Dropout left out), with seeded synthetic weights
/// scaled so that activations stay O(1). Input "input" is [batch, 3, S, S] float; output "output"
/// is [batch, 1000] logits, except for "dbnet_tiny", a small DBNet-style detector (not from
/// torchvision) whose output is a probability map [batch, 1, S, S], and "tiny_cnn", a three-task
/// classifier with 10 classes for examples and build tests.
/// </summary>
public static class ModelZoo
{
    private static readonly (string Name, Func<int, int, int, ModelProto> Create)[] Models =
    [
        ("resnet18", (b, s, seed) => ResNet.Create("resnet18", bottleneck: false, [2, 2, 2, 2], b, s, seed)),
        ("resnet34", (b, s, seed) => ResNet.Create("resnet34", bottleneck: false, [3, 4, 6, 3], b, s, seed)),
        ("resnet50", (b, s, seed) => ResNet.Create("resnet50", bottleneck: true, [3, 4, 6, 3], b, s, seed)),
        ("mobilenet_v2", MobileNetV2.Create),
        ("vgg16", Vgg.Create16),
        ("squeezenet1_1", SqueezeNet.Create11),
        ("mobilenet_v3_small", MobileNetV3.CreateSmall),
        ("shufflenet_v2_x1_0", ShuffleNetV2.CreateX10),
        ("alexnet", AlexNet.Create),
        ("densenet121", DenseNet.Create121),
        ("googlenet", GoogLeNet.Create),
        ("dbnet_tiny", DbNet.CreateTiny),
        ("tiny_cnn", TinyCnn.Create),
    ];

    /// <summary>The names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = Array.AsReadOnly(Models.Select(m => m.Name).ToArray());

    /// <summary>
    /// Builds the named network for the given batch size and square image size; the same seed
    /// gives byte-identical models.
    /// </summary>
    public static ModelProto Create(string name, int batch = 1, int imageSize = 224, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        foreach (var (modelName, create) in Models)
        {
            if (string.Equals(modelName, name, StringComparison.OrdinalIgnoreCase))
                return create(batch, imageSize, seed);
        }
        throw new ArgumentException($"unknown model '{name}'; the zoo has {string.Join(", ", Names)}", nameof(name));
    }

    /// <summary>
    /// The number of learnable parameters, counted as PyTorch counts them: the elements of every
    /// float initializer, except BatchNormalization's running mean and variance (inputs 3 and 4,
    /// buffers rather than parameters) and constant operands that are not parameters (Clip's
    /// bounds, Resize's roi and scales, Pad's value).
    /// </summary>
    public static long CountParameters(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var excluded = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in model.Graph.Node)
        {
            if (node.Domain.Length != 0)
                continue;
            int[] skip = node.OpType switch
            {
                "BatchNormalization" => [3, 4],
                "Clip" => [1, 2],
                "Resize" => [1, 2, 3],
                "Pad" => [2],
                _ => [],
            };
            foreach (int i in skip)
            {
                if (i < node.Input.Count && node.Input[i].Length != 0)
                    excluded.Add(node.Input[i]);
            }
        }
        long total = 0;
        foreach (var t in model.Graph.Initializer)
        {
            if (t.DataType != (int)Graph.DataType.Float || excluded.Contains(t.Name))
                continue;
            long count = 1;
            foreach (long d in t.Dims)
                count *= d;
            total += count;
        }
        return total;
    }
}
