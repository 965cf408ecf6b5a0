namespace Tailor.Server.Hosting;

/// <summary>What the embedded store reports to the server's log.</summary>
internal static partial class StorageLog
{
    [LoggerMessage(EventId = 1601, Level = LogLevel.Warning,
        Message = "Writing the pending profile changes behind failed; they stay pending in the log, are read from there, and are written again one window later")]
    public static partial void WriteBehindFailed(ILogger logger, Exception ex);
}
