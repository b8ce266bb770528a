using System;
using System.IO;
using System.Linq;

namespace AutoKernel.Generator.Plans
{
    /// <summary>
    /// The names a model gets from its file: the generator's default class name and the weights
    /// resource name. This file has no dependencies: the MSBuild task (AutoKernel.Tasks) compiles
    /// it too, so that the targets name the embedded weights exactly as the generated class loads them.
    /// </summary>
    internal static class ModelNames
    {
        /// <summary><see cref="PlanFormat.FileSuffix"/>, repeated so that this file stands alone.</summary>
        public const string PlanSuffix = ".akplan.json";

        /// <summary>"resnet18.onnx" or "resnet18.akplan.json" → "Resnet18"; "mobilenet-v2.onnx" → "MobilenetV2"; "3d.onnx" → "Model3d".</summary>
        public static string ClassNameFor(string path)
        {
            string file = Path.GetFileName(path);
            foreach (string suffix in new[] { PlanSuffix, ".onnx" })
            {
                if (file.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
                {
                    file = file.Substring(0, file.Length - suffix.Length);
                    break;
                }
            }
            var parts = file.Split(new[] { '-', '_', '.', ' ' }, StringSplitOptions.RemoveEmptyEntries);
            string name = string.Concat(parts.Select(p => char.ToUpperInvariant(p[0]) + p.Substring(1)));
            name = new string(name.Where(c => char.IsLetterOrDigit(c) || c == '_').ToArray());
            return name.Length == 0 || char.IsDigit(name[0]) ? "Model" + name : name;
        }

        /// <summary>The manifest resource name (and, with Weights=File, the file name) of the weights: "{namespace}.{class}.weights".</summary>
        public static string WeightsResourceName(string ns, string className) =>
            (ns.Length > 0 ? ns + "." : "") + className + ".weights";
    }
}
