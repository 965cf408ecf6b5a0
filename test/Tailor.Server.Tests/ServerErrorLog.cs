using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Tailor.Server.Tests;

/// <summary>
/// The errors the in-process test servers log, kept (the last few hundred) so that a test that gets
/// an unexpected 500 can say why: the test host does not show a server's console log.
/// </summary>
internal sealed class ServerErrorLog : ILoggerProvider
{
    private const int Kept = 200;
    private static readonly ConcurrentQueue<string> Errors = new();

    /// <summary>The last <paramref name="count"/> errors logged with an exception, newest last.</summary>
    public static string Recent(int count = 3) => string.Join("\n\n", Errors.Where(e => e.Contains("Exception", StringComparison.Ordinal)).TakeLast(count));

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName);

    public void Dispose() { }

    private sealed class Logger(string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            Errors.Enqueue($"{DateTime.UtcNow:O} {category}: {formatter(state, exception)}\n{exception}");
            while (Errors.Count > Kept) Errors.TryDequeue(out _);
        }
    }
}
