// Tailor's server. Everything is set up in Hosting/ServerSetup.cs; the demo runs with --demo.
var app = Tailor.Server.Hosting.ServerSetup.Build(args);
app.Run();

/// <summary>The entry point, public so that tests can start the whole server in-process.</summary>
public partial class Program;
