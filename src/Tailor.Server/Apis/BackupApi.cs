using Tailor.Storage;
using Tailor.Storage.Sqlite;

namespace Tailor.Server.Apis;

/// <summary>
/// <c>POST /v1/backup</c> (server administrator): a consistent copy of the data directory, taken while
/// the server runs, into a directory on the server's machine: both database files as of one moment
/// (<see cref="SqliteStore.BackupTo"/>), <c>server.secret</c> and <c>admin.key</c>. Restoring is
/// starting a server on that directory.
/// </summary>
internal static class BackupApi
{
    public sealed record BackupRequest(string? Directory);

    private static readonly string[] Secrets = ["server.secret", "admin.key"];

    public static IEndpointRouteBuilder MapBackupApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/backup", async (HttpContext context, SqliteStore store, BackupRequest? body) =>
        {
            if (AdminAuth.ServerAdmin(context, "Backing up the server") is { } error) return error;
            if (body?.Directory is not { Length: > 0 } directory || !Path.IsPathFullyQualified(directory))
                return ApiError.BadRequest("`directory` must be an absolute path on the server's machine.");
            var dataDirectory = Path.GetDirectoryName(store.Path)!;
            if (Path.GetFullPath(directory).TrimEnd('/') == Path.GetFullPath(dataDirectory).TrimEnd('/'))
                return ApiError.BadRequest("`directory` must not be the data directory.");
            try
            {
                // SQLite's online backup reads the whole database: off the request's thread.
                var files = await Task.Run(() => store.BackupTo(directory));
                var copied = new List<string>(files);
                foreach (var secret in Secrets)
                {
                    var target = Path.Combine(directory, secret);
                    File.Copy(Path.Combine(dataDirectory, secret), target);
                    if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(target, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                    copied.Add(target);
                }
                return Results.Json(new { directory, files = copied, bytes = copied.Sum(f => new FileInfo(f).Length) }, statusCode: 201);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException)
            {
                // The target (not writable, full, holding a backup already); the data directory is untouched.
                return ApiError.BadRequest($"The backup could not be written: {ex.Message}");
            }
        });
        return app;
    }
}
