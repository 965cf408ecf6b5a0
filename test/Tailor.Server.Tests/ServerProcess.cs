using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Tailor.Server.Tests;

/// <summary>
/// The real server binary in its own process, on loopback, for what in-process tests cannot show:
/// SIGKILL, real sockets. Always killed when disposed.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];

    private ServerProcess(Process process, string dataDirectory, int port)
    {
        _process = process;
        DataDirectory = dataDirectory;
        Port = port;
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public string DataDirectory { get; }
    public int Port { get; }
    public int ProcessId => _process.Id;
    public HttpClient Client { get; }
    public string Output { get { lock (_output) return string.Join('\n', _output); } }
    public string AdminKey => File.ReadAllText(Path.Combine(DataDirectory, "admin.key")).Trim();

    /// <summary>The server's build output beside this test's (same configuration).</summary>
    public static string ServerDll()
    {
        var testBin = new DirectoryInfo(AppContext.BaseDirectory); // .../test/Tailor.Server.Tests/bin/<Configuration>/net10.0/
        var framework = testBin.Name;
        var configuration = testBin.Parent!.Name;
        var root = testBin;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Tailor.slnx"))) root = root.Parent;
        if (root is null) throw new InvalidOperationException("cannot find the repository root (Tailor.slnx) above " + AppContext.BaseDirectory);
        var dll = Path.Combine(root.FullName, "src", "Tailor.Server", "bin", configuration, framework, "Tailor.Server.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException("build the server first", dll);
    }

    public static async Task<ServerProcess> StartAsync(string dataDirectory, params string[] extraArgs)
    {
        var port = FreePort();
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(ServerDll())!,
        };
        foreach (var arg in new[] { ServerDll(), "--data", dataDirectory, "--urls", $"http://127.0.0.1:{port}" }.Concat(extraArgs)) info.ArgumentList.Add(arg);
        info.Environment["DOTNET_gcServer"] = "0";
        var process = Process.Start(info)!;
        var server = new ServerProcess(process, dataDirectory, port);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (server._output) server._output.Add(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (server._output) server._output.Add(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited) throw new InvalidOperationException($"the server exited with {process.ExitCode}:\n{server.Output}");
            try
            {
                if ((await server.Client.GetAsync("/health")).IsSuccessStatusCode) return server;
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            await Task.Delay(100);
        }
        await server.DisposeAsync();
        throw new TimeoutException($"the server did not answer /health within 60 s:\n{server.Output}");
    }

    /// <summary>SIGKILL: no shutdown code runs.</summary>
    public void Kill()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        Client.Dispose();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }
}
