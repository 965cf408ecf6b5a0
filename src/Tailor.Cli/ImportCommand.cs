using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Spectre.Console;

namespace Tailor.Cli;

/// <summary>
/// <c>tailor import FILE --audience NAME [--map column=attribute ...]</c>: streams the file's rows as
/// NDJSON to the admin API's import endpoint, with a live progress bar (rows/s, ETA) on a terminal,
/// then prints the summary. Exit code 0: all rows imported; 2: some rows were rejected.
/// </summary>
internal static class ImportCommand
{
    public const int RejectedExitCode = 2;
    private const int MaxPrintedRejections = 20;

    /// <summary>The rows of the file as the request body, counted as they go.</summary>
    private sealed class RowContent(IAsyncEnumerable<SourceRow> rows, List<long> sourceLines) : HttpContent
    {
        public long Rows;

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            await SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            // Rows are small: buffered, the body goes out in large chunks rather than two per row.
            // Not disposed: that would close the request stream under HttpClient.
            var buffered = new BufferedStream(stream, 1 << 16);
            await foreach (var row in rows.WithCancellation(cancellationToken))
            {
                await buffered.WriteAsync(row.Json, cancellationToken);
                buffered.WriteByte((byte)'\n');
                sourceLines.Add(row.Line);
                Interlocked.Increment(ref Rows);
            }
            await buffered.FlushAsync(cancellationToken);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    public static async Task<int> RunAsync(AdminClient client, FileInfo file, string audience, IReadOnlyList<string> maps, string? format, TextWriter output, CancellationToken cancellationToken)
    {
        if (!file.Exists) throw new CliException($"{file.FullName} does not exist");
        var kind = ImportSource.FormatOf(file.Name, format);
        var query = string.Join("&", maps.Select(m =>
        {
            var parts = m.Split('=', 2);
            if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0) throw new CliException($"--map takes column=attribute, not `{m}`");
            return "map=" + Uri.EscapeDataString($"{parts[0]}:{parts[1]}");
        }));
        await using var stream = new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        var problems = new List<SourceProblem>();
        var sourceLines = new List<long>();
        var content = new RowContent(ImportSource.ReadAsync(kind, stream, problems, cancellationToken), sourceLines);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-ndjson");
        var path = $"v1/audiences/{Uri.EscapeDataString(audience)}/import" + (query.Length > 0 ? "?" + query : "");

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });
        var started = Stopwatch.GetTimestamp();
        JsonElement summary = default;
        if (console.Profile.Capabilities.Interactive)
        {
            await console.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .StartAsync(async progress =>
                {
                    var task = progress.AddTask($"importing {file.Name}", maxValue: Math.Max(1, stream.Length));
                    var upload = client.SendAsync(HttpMethod.Post, path, content, cancellationToken: cancellationToken);
                    while (!upload.IsCompleted)
                    {
                        var seconds = Math.Max(0.001, Stopwatch.GetElapsedTime(started).TotalSeconds);
                        var rows = Interlocked.Read(ref content.Rows);
                        task.Value = stream.CanSeek ? stream.Position : 0;
                        task.Description = $"{file.Name}: {rows.ToString("N0", CultureInfo.InvariantCulture)} rows, {(rows / seconds).ToString("N0", CultureInfo.InvariantCulture)} rows/s";
                        await Task.WhenAny(upload, Task.Delay(200, cancellationToken));
                    }
                    summary = await upload;
                    task.Value = task.MaxValue;
                });
        }
        else summary = await client.SendAsync(HttpMethod.Post, path, content, cancellationToken: cancellationToken);

        return await PrintSummaryAsync(summary, file.Name, ImportSource.Unit(kind), sourceLines, problems, Stopwatch.GetElapsedTime(started).TotalSeconds, output);
    }

    private static async Task<int> PrintSummaryAsync(JsonElement summary, string name, string unit, List<long> sourceLines, List<SourceProblem> problems, double seconds, TextWriter output)
    {
        var rows = summary.GetProperty("rows").GetInt64() + problems.Count;
        var rejected = summary.GetProperty("rejected").GetInt64() + problems.Count;
        string N(long n) => n.ToString("N0", CultureInfo.InvariantCulture);
        await output.WriteLineAsync($"{name}: {N(rows)} rows in {seconds.ToString("F1", CultureInfo.InvariantCulture)} s ({N((long)(rows / Math.Max(seconds, 0.001)))} rows/s): " +
            $"{N(summary.GetProperty("created").GetInt64())} created, {N(summary.GetProperty("updated").GetInt64())} updated, {N(rejected)} rejected");
        var rejections = problems.Select(p => (p.Line, p.Reason))
            .Concat(summary.GetProperty("rejections").EnumerateArray().Select(r =>
            {
                var row = r.GetProperty("line").GetInt64();
                return (Line: row >= 1 && row <= sourceLines.Count ? sourceLines[(int)row - 1] : row, Reason: r.GetProperty("reason").GetString() ?? "");
            }))
            .OrderBy(r => r.Item1).ToList();
        foreach (var (line, reason) in rejections.Take(MaxPrintedRejections)) await output.WriteLineAsync($"  {unit} {line}: {reason}");
        if (rejected > MaxPrintedRejections) await output.WriteLineAsync($"  ... and {N(rejected - Math.Min(rejected, MaxPrintedRejections))} more");
        var ignored = summary.GetProperty("ignored_columns").EnumerateArray().Select(c => c.GetString()).ToList();
        if (ignored.Count > 0) await output.WriteLineAsync($"ignored columns (not identifiers, imported attributes or batch_segments): {string.Join(", ", ignored)}");
        return rejected > 0 ? RejectedExitCode : 0;
    }
}
