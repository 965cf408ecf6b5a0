using System.Globalization;
using System.Text;
using System.Text.Json;
using CsvHelper;
using CsvHelper.Configuration;
using Parquet;

namespace Tailor.Cli;

/// <summary>One row of an import file as JSON, with where it came from. <see cref="Json"/> is only valid until the next row is read.</summary>
public readonly record struct SourceRow(long Line, ReadOnlyMemory<byte> Json);

/// <summary>A row the file itself could not give (malformed CSV): reported with the server's rejections.</summary>
public sealed record SourceProblem(long Line, string Reason);

/// <summary>
/// Reads an import file (CSV with a header row, NDJSON, or Parquet) as JSON objects, one per row.
/// CSV cells are strings (a cell holding a JSON object or array is sent as that value); empty cells
/// are left out; Parquet values keep their types.
/// </summary>
public static class ImportSource
{
    public enum Format { Csv, Ndjson, Parquet }

    public static Format FormatOf(string path, string? format) => (format ?? Path.GetExtension(path).TrimStart('.')).ToLowerInvariant() switch
    {
        "csv" => Format.Csv,
        "ndjson" or "jsonl" or "json" => Format.Ndjson,
        "parquet" => Format.Parquet,
        var other => throw new CliException($"cannot tell the format of {Path.GetFileName(path)} (`{other}`): use --format csv, ndjson or parquet"),
    };

    /// <summary>What "line" means in messages: CSV and NDJSON lines of the file, Parquet rows.</summary>
    public static string Unit(Format format) => format == Format.Parquet ? "row" : "line";

    public static IAsyncEnumerable<SourceRow> ReadAsync(Format format, Stream stream, List<SourceProblem> problems, CancellationToken cancellationToken) => format switch
    {
        Format.Csv => ReadCsvAsync(stream, problems, cancellationToken),
        Format.Ndjson => ReadNdjsonAsync(stream, cancellationToken),
        _ => ReadParquetAsync(stream, cancellationToken),
    };

    private static async IAsyncEnumerable<SourceRow> ReadNdjsonAsync(Stream stream, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(stream, Encoding.UTF8);
        long line = 0;
        while (await reader.ReadLineAsync(cancellationToken) is { } text)
        {
            line++;
            if (!string.IsNullOrWhiteSpace(text)) yield return new SourceRow(line, Encoding.UTF8.GetBytes(text));
        }
    }

    private static async IAsyncEnumerable<SourceRow> ReadCsvAsync(Stream stream, List<SourceProblem> problems, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var bad = false;
        var configuration = new CsvConfiguration(CultureInfo.InvariantCulture)
        {
            BadDataFound = args =>
            {
                bad = true;
                problems.Add(new SourceProblem(args.Context.Parser?.RawRow ?? 0, "malformed CSV (a stray quote)"));
            },
            MissingFieldFound = null,
            DetectColumnCountChanges = false,
        };
        using var csv = new CsvReader(reader, configuration);
        if (!await csv.ReadAsync() || !csv.ReadHeader()) yield break;
        var header = csv.HeaderRecord ?? [];
        var names = header.Select(h => JsonEncodedText.Encode(h)).ToArray();
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        using var writer = new Utf8JsonWriter(buffer);
        while (await csv.ReadAsync())
        {
            cancellationToken.ThrowIfCancellationRequested();
            var line = csv.Parser.RawRow;
            // Reading the cells is what finds bad data (CsvHelper parses fields lazily).
            var cells = csv.Parser.Record ?? [];
            if (bad)
            {
                bad = false;
                continue;
            }
            if (cells.Length != header.Length)
            {
                problems.Add(new SourceProblem(line, $"{cells.Length} cells; the header has {header.Length}"));
                continue;
            }
            buffer.ResetWrittenCount();
            writer.Reset(buffer);
            writer.WriteStartObject();
            for (var i = 0; i < header.Length; i++)
            {
                var cell = cells[i];
                if (string.IsNullOrEmpty(cell)) continue;
                writer.WritePropertyName(names[i]);
                if (cell[0] is '{' or '[' && IsJson(cell)) writer.WriteRawValue(cell, skipInputValidation: true);
                else writer.WriteStringValue(cell);
            }
            writer.WriteEndObject();
            writer.Flush();
            yield return new SourceRow(line, buffer.WrittenMemory);
        }
    }

    /// <summary>Whether a cell is a JSON object or array (checked with a reader: nothing is built).</summary>
    private static bool IsJson(string text)
    {
        try
        {
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(text));
            reader.Read();
            reader.Skip();
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static async IAsyncEnumerable<SourceRow> ReadParquetAsync(Stream stream, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        int groups;
        await using (var reader = await ParquetReader.CreateAsync(stream, leaveStreamOpen: true, cancellationToken: cancellationToken)) groups = reader.RowGroupCount;
        long row = 0;
        var buffer = new MemoryStream();
        // A row group at a time: memory holds one group, whatever the file's size.
        for (var group = 0; group < groups; group++)
        {
            stream.Position = 0;
            var result = await Parquet.Serialization.ParquetSerializer.DeserializeUntypedAsync(stream, null, group, cancellationToken);
            foreach (var values in result.Data)
            {
                row++;
                buffer.SetLength(0);
                using (var writer = new Utf8JsonWriter(buffer))
                {
                    writer.WriteStartObject();
                    foreach (var (name, value) in values)
                    {
                        if (value is null) continue;
                        writer.WritePropertyName(name);
                        WriteValue(writer, value);
                    }
                    writer.WriteEndObject();
                }
                yield return new SourceRow(row, buffer.ToArray());
            }
        }
    }

    private static void WriteValue(Utf8JsonWriter writer, object value)
    {
        switch (value)
        {
            case string text when text.Length > 0 && text[0] is '{' or '[' && IsJson(text): writer.WriteRawValue(text); break;
            case string text: writer.WriteStringValue(text); break;
            case bool flag: writer.WriteBooleanValue(flag); break;
            case byte or sbyte or short or ushort or int or uint or long: writer.WriteNumberValue(Convert.ToInt64(value, CultureInfo.InvariantCulture)); break;
            case float or double or decimal or ulong: writer.WriteNumberValue(Convert.ToDouble(value, CultureInfo.InvariantCulture)); break;
            case DateTime time: writer.WriteStringValue(time.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture)); break;
            case DateTimeOffset time: writer.WriteStringValue(time.ToString("O", CultureInfo.InvariantCulture)); break;
            default: writer.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture)); break;
        }
    }
}
