namespace Tailor.Server.Tests;

/// <summary>One in-process server shared by a test class; each test makes its own account.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public TailorServerFactory Server { get; } = new();

    public Task InitializeAsync()
    {
        _ = Server.Server; // start it
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        try
        {
            Directory.Delete(Server.DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open is left for the OS to clean up with the temp directory.
        }
    }
}
