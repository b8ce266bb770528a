using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace AutoKernel.Tasks
{
    /// <summary>
    /// Runs <c>autokernel build</c> for one AutoKernelModel item, out of process: the tool is a
    /// .NET 10 program with large dependencies (Roslyn, ML.NET) that must not load into MSBuild's
    /// process. The arguments go in a response file. The tool reports problems as canonical
    /// diagnostics ("origin: error AK1002: text"), which become MSBuild errors and warnings with
    /// their codes; lines starting with "autokernel: " (the tuning estimate, one line per tuned task)
    /// are logged at high importance so that a plain <c>dotnet build</c> shows them, and the rest
    /// (one line per measured batch) at normal importance.
    /// </summary>
    public sealed class AutoKernelCompile : ToolTask
    {
        /// <summary>The tool could not be started: the assembly or the dotnet host is missing.</summary>
        public const string ToolMissingCode = "AK1010";

        /// <summary>Tuning stopped by Ctrl+C or SIGTERM (the tool's exit codes 130 and 143).</summary>
        public const string InterruptedCode = "AK1013";

        /// <summary>A value the response file cannot carry (a double quote in a path).</summary>
        public const string BadArgumentCode = "AK1012";

        private const string ProgressPrefix = "autokernel: ";

        /// <summary>The ONNX model.</summary>
        [Required]
        public string Model { get; set; } = "";

        /// <summary>The tool's assembly (autokernel.dll), run with the dotnet host.</summary>
        [Required]
        public string ToolAssembly { get; set; } = "";

        /// <summary>The tuning log (in the project folder; created when tuning starts).</summary>
        [Required]
        public string TuningLog { get; set; } = "";

        /// <summary>Folder of the plan and the weights (under obj/).</summary>
        [Required]
        public string OutputDirectory { get; set; } = "";

        /// <summary>Base name of the two output files.</summary>
        [Required]
        public string OutputName { get; set; } = "";

        /// <summary>The item's Device metadata: cpu.</summary>
        public string Device { get; set; } = "cpu";

        /// <summary>"name=1,3,224,224;other=1,8" (semicolons or spaces between inputs).</summary>
        public string InputShapes { get; set; } = "";

        /// <summary>Auto, Off or Force.</summary>
        public string Tuning { get; set; } = "Auto";

        public string Trials { get; set; } = "";

        public string Tuner { get; set; } = "";

        public string Threads { get; set; } = "";

        /// <summary>$(DOTNET_HOST_PATH): the dotnet that runs this build, when the SDK sets it.</summary>
        public string DotnetHostPath { get; set; } = "";

        /// <summary>$(NetCoreRoot): the SDK's dotnet folder, the fallback for <see cref="DotnetHostPath"/>.</summary>
        public string NetCoreRoot { get; set; } = "";

        /// <summary>The plan written (OutputDirectory/OutputName.akplan.json).</summary>
        [Output]
        public string PlanFile { get; private set; } = "";

        /// <summary>The weights written (OutputDirectory/OutputName.weights).</summary>
        [Output]
        public string WeightsFile { get; private set; } = "";

        protected override string ToolName => RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? "dotnet.exe" : "dotnet";

        protected override MessageImportance StandardOutputLoggingImportance => MessageImportance.Normal;

        protected override MessageImportance StandardErrorLoggingImportance => MessageImportance.Normal;

        protected override Encoding ResponseFileEncoding => new UTF8Encoding(false);

        public override bool Execute()
        {
            PlanFile = Path.Combine(OutputDirectory, OutputName + ".akplan.json");
            WeightsFile = Path.Combine(OutputDirectory, OutputName + ".weights");
            return base.Execute();
        }

        protected override bool ValidateParameters()
        {
            if (!File.Exists(ToolAssembly))
            {
                Log.LogError(null, ToolMissingCode, null, Model, 0, 0, 0, 0,
                    "the autokernel tool is missing at {0} (AutoKernelToolPath); restore the AutoKernel package again", ToolAssembly);
                return false;
            }
            // System.CommandLine's response files have no escape for a double quote: a quoted token
            // ends at the next one, so a path holding one would reach the tool as several arguments.
            foreach (var (name, value) in new[] { ("the model path", Model), ("the tuning log path", TuningLog), ("the output folder", OutputDirectory),
                ("the output name", OutputName), ("InputShapes", InputShapes), ("Device", Device), ("Tuner", Tuner) })
            {
                if ((value ?? "").IndexOf('"') >= 0)
                {
                    Log.LogError(null, BadArgumentCode, null, Model, 0, 0, 0, 0,
                        "{0} ({1}) holds a double quote, which the autokernel tool cannot be given; rename the file or folder", name, value);
                    return false;
                }
            }
            return base.ValidateParameters();
        }

        protected override string GenerateFullPathToTool()
        {
            if (!string.IsNullOrEmpty(DotnetHostPath) && File.Exists(DotnetHostPath))
                return DotnetHostPath;
            if (!string.IsNullOrEmpty(NetCoreRoot))
            {
                string candidate = Path.Combine(NetCoreRoot, ToolName);
                if (File.Exists(candidate))
                    return candidate;
            }
            // Let the process start resolve it on PATH.
            return ToolName;
        }

        /// <summary>The host's own arguments; the tool's go in the response file.</summary>
        protected override string GenerateCommandLineCommands()
        {
            var b = new CommandLineBuilder();
            b.AppendSwitch("exec");
            // The tool targets net10.0; a machine with only a newer runtime still runs it.
            b.AppendSwitchIfNotNull("--roll-forward ", "Major");
            b.AppendFileNameIfNotNull(ToolAssembly);
            return b.ToString();
        }

        protected override string GenerateResponseFileCommands()
        {
            var lines = new List<string> { "build", Quote(Model), "--log", Quote(TuningLog), "--output", Quote(OutputDirectory), "--name", Quote(OutputName) };
            Add(lines, "--target", Device);
            Add(lines, "--tuning", Tuning);
            Add(lines, "--trials", Trials);
            Add(lines, "--tuner", Tuner);
            Add(lines, "--threads", Threads);
            foreach (string shape in (InputShapes ?? "").Split(new[] { ';', ' ', '\t', '\r', '\n' }, StringSplitOptions.RemoveEmptyEntries))
                Add(lines, "--input-shape", shape);
            return string.Join(Environment.NewLine, lines);
        }

        private static void Add(List<string> lines, string option, string value)
        {
            if (string.IsNullOrWhiteSpace(value))
                return;
            lines.Add(option);
            lines.Add(Quote(value.Trim()));
        }

        /// <summary>
        /// One token per line, in double quotes when it holds white space or a '#' (a line that starts
        /// with '#' is a comment): System.CommandLine's response file syntax, which has no escapes
        /// (<see cref="ValidateParameters"/> refuses values holding a double quote).
        /// </summary>
        private static string Quote(string value) =>
            value.IndexOfAny(new[] { ' ', '\t', '#' }) < 0 ? value : "\"" + value + "\"";

        protected override bool HandleTaskExecutionErrors()
        {
            if ((ExitCode == 130 || ExitCode == 143) && !Log.HasLoggedErrors)
            {
                Log.LogError(null, InterruptedCode, null, Model, 0, 0, 0, 0,
                    "tuning was interrupted; the measurements so far are in {0}, and the next build resumes from them", TuningLog);
                return false;
            }
            return base.HandleTaskExecutionErrors();
        }

        protected override void LogEventsFromTextOutput(string singleLine, MessageImportance messageImportance)
        {
            if (singleLine.StartsWith(ProgressPrefix, StringComparison.Ordinal))
                Log.LogMessage(MessageImportance.High, singleLine);
            else
                base.LogEventsFromTextOutput(singleLine, messageImportance);
        }
    }
}
