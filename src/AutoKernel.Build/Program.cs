return AutoKernel.Build.Cli.CommandLine.Run(args, Console.Out, Console.Error, interactive: !Console.IsOutputRedirected);
