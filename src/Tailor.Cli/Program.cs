return await Tailor.Cli.TailorCli.RunAsync(args, Console.Out, Console.Error);
