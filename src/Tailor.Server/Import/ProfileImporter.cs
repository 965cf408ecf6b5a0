using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using Tailor.Core.Lookup;
using Tailor.Server.Accounts;
using Tailor.Server.Grains;
using Tailor.Server.Lookup;

namespace Tailor.Server.Import;

public sealed class UnknownAudienceException(string message) : Exception(message);

/// <summary>A rejected import row: its line number (1-based) and why.</summary>
public sealed record ImportRejection(long Line, string Reason);

/// <summary>The outcome of an import, as the admin API and the CLI report it.</summary>
public sealed record ImportSummary(long Rows, long Created, long Updated, long Rejected, IReadOnlyList<ImportRejection> Rejections, IReadOnlyList<string> IgnoredColumns, double ElapsedMs);

/// <summary>
/// Runs a profile import: NDJSON rows are read and checked (<see cref="ImportRowReader"/>), then go
/// in chunks through the audience's identity grain, which stitches them like events and commits the
/// profiles they create; rows for existing profiles are applied by those profiles' grains. Each
/// profile's change is one atomic commit, so a bad row or a crash never leaves a half-applied
/// profile, and re-running the same file gives the same profiles (idempotent).
/// </summary>
public sealed class ProfileImporter(AccountDirectory accounts, IGrainFactory grains, LookupIndexes lookups)
{
    public const int ChunkRows = 1000;
    public const int MaxLineBytes = 64 * 1024;
    public const int MaxReportedRejections = 1000;
    private const int ParallelProfiles = 32;

    public async Task<ImportSummary> RunAsync(long accountId, string audienceName, Stream ndjson, IReadOnlyDictionary<string, string>? map, CancellationToken cancellationToken)
    {
        var audience = accounts.Config(accountId)?.Compiled.Audiences.GetValueOrDefault(audienceName)
            ?? throw new UnknownAudienceException($"No audience `{audienceName}` in this account's configuration.");
        var lookup = lookups.For(accountId) is { } l && l.Compiled.Audience.Name == audienceName ? l : null;
        if (lookup is not null) await lookup.Ready.WaitAsync(cancellationToken);
        var reader = new ImportRowReader(audience, map);
        var identity = grains.Identity(accountId, audienceName);
        var started = Stopwatch.GetTimestamp();
        long rows = 0, created = 0, updated = 0, rejected = 0;
        var rejections = new List<ImportRejection>();
        var chunk = new List<ImportRowDto>(ChunkRows);

        void Reject(long line, string reason)
        {
            rejected++;
            if (rejections.Count < MaxReportedRejections) rejections.Add(new ImportRejection(line, reason));
        }

        async Task Flush()
        {
            if (chunk.Count == 0) return;
            var outcomes = await identity.Import([.. chunk]);
            var forwards = new List<(ImportRowDto Row, ImportOutcome Outcome)>();
            for (var i = 0; i < outcomes.Length; i++)
            {
                if (outcomes[i].Forward is null) created++;
                else forwards.Add((chunk[i], outcomes[i]));
            }
            // A row for an existing profile may merge one this import has just created: that one must be in the store first.
            if (forwards.Count > 0) await identity.ImportCommitted();
            // Rows of one profile stay in file order; different profiles go in parallel.
            await Parallel.ForEachAsync(forwards.GroupBy(f => f.Outcome.ProfileId), new ParallelOptions { MaxDegreeOfParallelism = ParallelProfiles, CancellationToken = cancellationToken },
                async (group, _) =>
                {
                    foreach (var (row, outcome) in group) await ApplyToExisting(accountId, audienceName, row, outcome);
                });
            updated += forwards.Count;
            chunk.Clear();
        }

        var pipe = PipeReader.Create(ndjson, new StreamPipeReaderOptions(bufferSize: 64 * 1024));
        long line = 0;
        var skippingLongLine = false;
        while (true)
        {
            var result = await pipe.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            while (true)
            {
                var newline = buffer.PositionOf((byte)'\n');
                if (newline is null)
                {
                    if (buffer.Length > MaxLineBytes && !skippingLongLine)
                    {
                        Reject(line + 1, $"the line is longer than {MaxLineBytes} bytes");
                        skippingLongLine = true;
                    }
                    if (skippingLongLine) buffer = buffer.Slice(buffer.End);
                    break;
                }
                var text = buffer.Slice(0, newline.Value);
                buffer = buffer.Slice(buffer.GetPosition(1, newline.Value));
                line++;
                if (skippingLongLine)
                {
                    skippingLongLine = false;
                    continue;
                }
                await Row(text);
            }
            if (result.IsCompleted)
            {
                if (!buffer.IsEmpty && !skippingLongLine)
                {
                    line++;
                    await Row(buffer);
                }
                pipe.AdvanceTo(buffer.End);
                break;
            }
            pipe.AdvanceTo(buffer.Start, buffer.End);
        }
        await pipe.CompleteAsync();
        await Flush();
        // The summary is only given once everything it counts is durable.
        await identity.ImportCommitted();
        return new ImportSummary(rows, created, updated, rejected, rejections, [.. reader.IgnoredColumns], Stopwatch.GetElapsedTime(started).TotalMilliseconds);

        async Task Row(ReadOnlySequence<byte> text)
        {
            var span = text.IsSingleSegment ? text.FirstSpan : text.ToArray();
            span = span.TrimEnd((byte)'\r').Trim((byte)' ');
            if (span.IsEmpty) return;
            rows++;
            var row = reader.Read(span, line);
            if (row.Error is not null)
            {
                Reject(line, row.Error);
                return;
            }
            chunk.Add(ToDto(row, lookup));
            if (chunk.Count == ChunkRows) await Flush();
        }
    }

    private static ImportRowDto ToDto(ImportRow row, AccountLookup? lookup)
    {
        Guid? known = null;
        if (row.Identifiers.Count == 0 && lookup is not null)
        {
            using var read = lookup.Index.Read();
            foreach (var key in row.LookupKeys)
            {
                var ordinal = read.Find(key);
                if (ordinal >= 0)
                {
                    known = read.ProfileId(ordinal);
                    break;
                }
            }
        }
        return new ImportRowDto
        {
            Line = row.Line,
            Identifiers = IdentifierDto.From(row.Identifiers),
            LookupKeys = [.. row.LookupKeys.Select(LookupKeyHash.ToBytes)],
            Values = [.. row.Values.Select(v => ImportValueDto.From(v.Attribute, v.Value))],
            BatchSegments = row.BatchSegments,
            KnownProfile = known,
        };
    }

    private async Task ApplyToExisting(long accountId, string audience, ImportRowDto row, ImportOutcome outcome)
    {
        var profile = outcome.ProfileId;
        var call = new ImportCall(row, outcome.Forward ?? throw new InvalidOperationException("an existing profile's import outcome carries its stitching"));
        for (var move = 0; move < 8; move++)
        {
            var reply = await grains.Profile(accountId, audience, profile).Import(call);
            if (reply.MovedTo is not { } movedTo) return;
            profile = movedTo;
        }
        throw new InvalidOperationException($"profile {profile} keeps moving");
    }
}
