// Tailor's server. Everything is set up in Hosting/ServerSetup.cs; the demo runs with --demo.
var app = Tailor.Server.Hosting.ServerSetup.Build(args);
try
{
    app.Run();
}
catch (IOException ex) when (ex.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
{
    // An address another process holds: one line for the operator and exit code 1, not an unhandled exception.
    Console.Error.WriteLine($"tailor: {ex.Message} Another process is listening there; choose another address with --urls.");
    return 1;
}
return 0;

/// <summary>The entry point, public so that tests can start the whole server in-process.</summary>
public partial class Program;
