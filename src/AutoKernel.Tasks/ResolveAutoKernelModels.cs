using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using AutoKernel.Generator.Plans;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace AutoKernel.Tasks
{
    /// <summary>
    /// Resolves every AutoKernelModel item into what the later targets need, as metadata of one
    /// output item per model: the class name and namespace the generator uses, the resource name
    /// of the weights, the paths of the log, the plan, the weights and the options file, and the
    /// effective tuning mode. It writes each model's options file (only when its text changes), so
    /// that the build target, whose inputs include it, runs again when an option changes.
    /// Runs in every build, design-time builds included; it starts no process.
    /// </summary>
    public sealed class ResolveAutoKernelModels : Task
    {
        public const string ModelMissingCode = "AK1011";
        public const string BadMetadataCode = "AK1012";

        /// <summary>Two models would generate the same class (and write the same plan and weights files).</summary>
        public const string DuplicateClassCode = "AK1014";

        /// <summary>
        /// Models of one project with different Device or Threads: the generator emits one kernel set
        /// per assembly and rejects such plans (AK0007), but only after every model was tuned.
        /// </summary>
        public const string TargetMismatchCode = "AK1015";

        [Required]
        public ITaskItem[] Models { get; set; } = Array.Empty<ITaskItem>();

        [Required]
        public string ProjectDirectory { get; set; } = "";

        /// <summary>Folder for plans, weights and options files (obj/.../autokernel/).</summary>
        [Required]
        public string IntermediateDirectory { get; set; } = "";

        /// <summary>Folder of the tuning logs (default: the project's autokernel/ folder).</summary>
        [Required]
        public string LogDirectory { get; set; } = "";

        public string RootNamespace { get; set; } = "";

        /// <summary>$(AutoKernelToolPath): part of the options file, so that another tool (a package downgrade, whose files may be older than the plan) reruns.</summary>
        public string ToolPath { get; set; } = "";

        /// <summary>$(AutoKernelTuning): Auto, Off or Force; an item's Tuning metadata overrides it.</summary>
        public string Tuning { get; set; } = "Auto";

        /// <summary>A design-time (IDE) build: never tune; reuse the last real build's plan when there is one.</summary>
        public bool DesignTime { get; set; }

        [Output]
        public ITaskItem[] Resolved { get; private set; } = Array.Empty<ITaskItem>();

        public override bool Execute()
        {
            var resolved = new List<ITaskItem>();
            // Plans and weights are named NS.CLASS: two models of one class would overwrite each
            // other's files, and the generator would see one plan. Case-insensitive, as file systems
            // and generated file names may be.
            var classes = new Dictionary<string, ITaskItem>(StringComparer.OrdinalIgnoreCase);
            foreach (var model in Models)
            {
                var item = Resolve(model);
                if (item is null)
                    continue;
                string name = item.GetMetadata("OutputName");
                if (classes.TryGetValue(name, out var first))
                {
                    Error(DuplicateClassCode, item.ItemSpec, string.Equals(first.ItemSpec, item.ItemSpec, StringComparison.Ordinal)
                        ? $"this model is listed twice as an AutoKernelModel item (class {name}); list it once, and change the metadata of an item already listed with <AutoKernelModel Update=\"...\" />"
                        : $"this model and {first.ItemSpec} both generate the class {name}; give one of them another ClassName or Namespace");
                    continue;
                }
                classes.Add(name, item);
                if (resolved.Count > 0 && !SameTarget(resolved[0], item))
                {
                    Error(TargetMismatchCode, item.ItemSpec,
                        $"this model is built for Device={item.GetMetadata("Device")} and {DescribeThreads(item)}, but {resolved[0].ItemSpec} for Device={resolved[0].GetMetadata("Device")} and {DescribeThreads(resolved[0])}; "
                        + "the models of one project share their kernels and must have the same Device and Threads (an ItemDefinitionGroup sets them for every AutoKernelModel)");
                    continue;
                }
                resolved.Add(item);
            }
            Resolved = resolved.ToArray();
            return !Log.HasLoggedErrors;
        }

        private ITaskItem? Resolve(ITaskItem model)
        {
            string path = Path.GetFullPath(Path.Combine(ProjectDirectory, model.ItemSpec));
            if (!File.Exists(path))
            {
                Error(ModelMissingCode, path, $"the AutoKernelModel file {model.ItemSpec} does not exist");
                return null;
            }
            string className = Meta(model, "ClassName");
            if (className.Length == 0)
                className = ModelNames.ClassNameFor(path);
            string ns = Meta(model, "Namespace");
            if (ns.Length == 0)
                ns = RootNamespace.Trim();
            // Checked here as well as in the generator, which would say so only after tuning.
            if (!IsIdentifier(className))
            {
                Error(BadMetadataCode, path, $"ClassName='{className}' is not a valid C# class name");
                return null;
            }
            if (ns.Length > 0 && !ns.Split('.').All(IsIdentifier))
            {
                Error(BadMetadataCode, path, Meta(model, "Namespace").Length > 0
                    ? $"Namespace='{ns}' is not a valid C# namespace"
                    : $"the project's RootNamespace '{ns}' is not a valid C# namespace; set the model's Namespace metadata (or RootNamespace)");
                return null;
            }
            string weights = Meta(model, "Weights");
            if (weights.Length == 0)
                weights = "Embedded";
            else if (!Is(weights, "Embedded") && !Is(weights, "File"))
            {
                Error(BadMetadataCode, path, $"Weights='{weights}' is not Embedded or File");
                return null;
            }
            weights = Is(weights, "File") ? "File" : "Embedded";
            string tuning = Meta(model, "Tuning");
            if (tuning.Length == 0)
                tuning = Tuning.Trim().Length == 0 ? "Auto" : Tuning.Trim();
            if (!Is(tuning, "Auto") && !Is(tuning, "Off") && !Is(tuning, "Force"))
            {
                Error(BadMetadataCode, path, $"AutoKernelTuning='{tuning}' is not Auto, Off or Force");
                return null;
            }
            string device = Meta(model, "Device").ToLowerInvariant();
            if (device.Length == 0)
                device = "cpu";
            foreach (string number in new[] { "Trials", "Threads" })
            {
                string value = Meta(model, number);
                if (value.Length > 0 && !int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
                {
                    Error(BadMetadataCode, path, $"{number}='{value}' is not a whole number");
                    return null;
                }
            }

            string log = Meta(model, "Log");
            log = Path.GetFullPath(log.Length > 0
                ? Path.Combine(ProjectDirectory, log)
                : Path.Combine(ProjectDirectory, LogDirectory, Path.GetFileNameWithoutExtension(path) + "." + device.ToLowerInvariant() + ".jsonl"));

            string resource = ModelNames.WeightsResourceName(ns, className);
            string outputName = resource.Substring(0, resource.Length - ".weights".Length);
            string intermediate = Path.GetFullPath(Path.Combine(ProjectDirectory, IntermediateDirectory));
            string output = intermediate;
            bool run = true;
            if (DesignTime)
            {
                // Never tune in the IDE. A real build's plan is as good as it gets; without one
                // (a fresh clone), compile one from the log and fallbacks into a folder of its own,
                // so that the real build still sees its own outputs as missing and tunes.
                tuning = "Off";
                if (File.Exists(Path.Combine(intermediate, outputName + ModelNames.PlanSuffix)))
                    run = false;
                else
                    output = Path.Combine(intermediate, "design");
            }

            var item = new TaskItem(path);
            model.CopyMetadataTo(item);
            item.SetMetadata("ClassName", className);
            item.SetMetadata("Namespace", ns);
            item.SetMetadata("Weights", weights);
            item.SetMetadata("ResourceName", resource);
            item.SetMetadata("Device", device);
            item.SetMetadata("Tuner", Meta(model, "Tuner").ToLowerInvariant());
            item.SetMetadata("Tuning", tuning);
            item.SetMetadata("TuningLog", log);
            item.SetMetadata("LogInput", File.Exists(log) ? log : "");
            item.SetMetadata("OutputName", outputName);
            item.SetMetadata("OutputDirectory", output);
            item.SetMetadata("PlanFile", Path.Combine(output, outputName + ModelNames.PlanSuffix));
            item.SetMetadata("WeightsFile", Path.Combine(output, outputName + ".weights"));
            item.SetMetadata("Run", run ? "true" : "false");
            string options = Path.Combine(output, outputName + ".options");
            item.SetMetadata("OptionsFile", options);
            if (run)
                WriteOptions(options, item);
            return item;
        }

        /// <summary>
        /// The options that change what the tool does, one per line; rewritten only when the text
        /// changes, so its time stamp tells the build target whether to run. Force adds a fresh line
        /// every build: a forced build always runs.
        /// </summary>
        private void WriteOptions(string path, ITaskItem item)
        {
            var text = new StringBuilder();
            text.Append("# AutoKernel: the options of the last build of ").Append(item.ItemSpec).Append(" (a change reruns the tool)\n");
            foreach (string name in new[] { "Device", "InputShapes", "Trials", "Tuner", "Threads", "Tuning", "TuningLog" })
                text.Append(name).Append('=').Append(item.GetMetadata(name).Trim()).Append('\n');
            text.Append("Tool=").Append(ToolPath.Length > 0 ? Path.GetFullPath(Path.Combine(ProjectDirectory, ToolPath)) : "").Append('\n');
            if (Is(item.GetMetadata("Tuning"), "Force"))
                text.Append("Forced=").Append(Guid.NewGuid().ToString("N")).Append('\n');
            string content = text.ToString();
            try
            {
                if (File.Exists(path) && File.ReadAllText(path) == content)
                    return;
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                string temp = path + ".tmp";
                File.WriteAllText(temp, content, new UTF8Encoding(false));
                if (File.Exists(path))
                    File.Delete(path);
                File.Move(temp, path);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                Error(BadMetadataCode, item.ItemSpec, $"cannot write {path}: {e.Message}");
            }
        }

        private static string Meta(ITaskItem item, string name) => (item.GetMetadata(name) ?? "").Trim();

        private static bool SameTarget(ITaskItem a, ITaskItem b) =>
            a.GetMetadata("Device") == b.GetMetadata("Device") && ThreadsOf(a) == ThreadsOf(b);

        /// <summary>The Threads metadata as a number: empty and 0 both mean one thread per logical processor.</summary>
        private static int ThreadsOf(ITaskItem item) =>
            int.TryParse(item.GetMetadata("Threads").Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) ? n : 0;

        private static string DescribeThreads(ITaskItem item) =>
            ThreadsOf(item) != 0 ? "Threads=" + ThreadsOf(item).ToString(CultureInfo.InvariantCulture) : "one thread per logical processor";

        /// <summary>Letters, digits and underscores, not starting with a digit (the generator also rejects keywords).</summary>
        private static bool IsIdentifier(string s) =>
            s.Length > 0 && !char.IsDigit(s[0]) && s.All(c => char.IsLetterOrDigit(c) || c == '_');

        private static bool Is(string value, string expected) => string.Equals(value, expected, StringComparison.OrdinalIgnoreCase);

        private void Error(string code, string file, string message) =>
            Log.LogError(null, code, null, file, 0, 0, 0, 0, message);
    }
}
