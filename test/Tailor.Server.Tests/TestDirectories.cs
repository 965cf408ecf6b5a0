namespace Tailor.Server.Tests;

/// <summary>
/// Temporary directories for the tests' data, all under one directory of this test run that is
/// deleted when the test process exits: a run of the suite leaves nothing behind in the temp folder.
/// </summary>
public static class TestDirectories
{
    private static readonly Lazy<string> Root = new(CreateRoot);

    public static string New(string prefix) => Directory.CreateDirectory(Path.Combine(Root.Value, prefix + Guid.NewGuid().ToString("N")[..8])).FullName;

    private static string CreateRoot()
    {
        var root = Directory.CreateTempSubdirectory("tailor-tests-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A server process a test could not stop may still hold a file; the OS cleans the temp folder.
            }
        };
        return root;
    }
}
