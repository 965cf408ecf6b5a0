using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using System.Threading.Tasks.Sources;
using Microsoft.Extensions.ObjectPool;
using Tailor.Storage;

namespace Tailor.Server.Ingest;

/// <summary>
/// The event log's single writer. Appends wait in a queue; one thread takes everything queued (up to
/// a batch limit), commits it in one transaction (one fsync) and completes every append with its
/// sequence number. While a batch is being fsynced, reactors keep working on the next requests, whose
/// appends form the next batch: the cost of an fsync is shared by every call that arrived during it.
/// </summary>
public sealed partial class GroupCommitLog : IHostedService, IDisposable
{
    private static readonly Meter Meter = new("Tailor.EventLog");
    private static readonly Histogram<int> BatchSize = Meter.CreateHistogram<int>("tailor.eventlog.batch.size", "{event}", "Events committed per transaction");
    private static readonly Histogram<double> CommitTime = Meter.CreateHistogram<double>("tailor.eventlog.commit.duration", "ms", "Time to commit one batch, fsync included");
    private static readonly Histogram<double> AppendTime = Meter.CreateHistogram<double>("tailor.eventlog.append.duration", "ms",
        "Time from an append to its commit: the wait for the batch before it, then its own batch's commit");
    private static readonly Counter<long> PagesWritten = Meter.CreateCounter<long>("tailor.eventlog.pages.written", "{page}",
        "Database pages the commits wrote (SQLite: 4 KiB pages into the WAL); per event, the write amplification of the storage");
    private long _windowEvents, _windowBatches, _windowTicks, _windowPages, _windowStart = Stopwatch.GetTimestamp();

    /// <summary>
    /// Synchronous continuations: the only reader is the writer thread, whose wait (<see cref="WaitToRead"/>)
    /// continues by setting <see cref="_wake"/>, so an append that finds it waiting wakes it directly
    /// rather than through a thread-pool work item.
    /// </summary>
    private readonly Channel<Pending> _queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(100_000) { SingleReader = true, AllowSynchronousContinuations = true });
    private readonly ManualResetEventSlim _wake = new(false);
    private readonly Action _wakeUp;
    private readonly IEventStore _store;
    private readonly int _maxBatch;
    private readonly long _delay;
    private readonly int _delayAfter;
    private readonly int _delayBelow;
    private readonly ILogger<GroupCommitLog> _logger;
    private Thread? _thread;
    private Thread? _maintenance;
    private readonly CancellationTokenSource _stopping = new();
    private long _nextSeq;

    public GroupCommitLog(IEventStore store, Microsoft.Extensions.Options.IOptions<Hosting.TailorOptions> options, ILogger<GroupCommitLog> logger)
    {
        _store = store;
        _maxBatch = options.Value.GroupCommitMaxBatch;
        _delay = (long)(options.Value.GroupCommitDelay.TotalSeconds * Stopwatch.Frequency);
        _delayAfter = options.Value.GroupCommitDelayAfter;
        _delayBelow = options.Value.GroupCommitDelayBelow;
        _logger = logger;
        _wakeUp = _wake.Set;
    }

    /// <summary>
    /// One append: the item, and the value-task source its caller awaits (completed once, by the writer,
    /// with the sequence number or the failure; the awaiting code resumes on the thread pool or its grain's
    /// scheduler, never on the writer's thread). A TaskCompletionSource would add a Task to every call;
    /// and once its caller has its result, the object serves a later append (the writer reads nothing of
    /// an append after completing it).
    /// </summary>
    private sealed class Pending : IValueTaskSource<long>, IResettable
    {
        private static readonly ObjectPool<Pending> Pool = new DefaultObjectPool<Pending>(new DefaultPooledObjectPolicy<Pending>(), 4096);

        private ManualResetValueTaskSourceCore<long> _core = new() { RunContinuationsAsynchronously = true };
        private int _completed;

        public WriteItem Item { get; private set; } = null!;
        public long Queued { get; private set; }
        public ValueTask<long> Done => new(this, _core.Version);

        public static Pending For(WriteItem item)
        {
            var pending = Pool.Get();
            (pending.Item, pending.Queued) = (item, Stopwatch.GetTimestamp());
            return pending;
        }

        public void Complete(long seq)
        {
            if (Interlocked.Exchange(ref _completed, 1) == 0) _core.SetResult(seq);
        }

        public void Fail(Exception error)
        {
            if (Interlocked.Exchange(ref _completed, 1) == 0) _core.SetException(error);
        }

        /// <summary>The result, read once by the append's awaiter; then the object goes back to the pool.</summary>
        public long GetResult(short token)
        {
            try
            {
                return _core.GetResult(token);
            }
            finally
            {
                Pool.Return(this);
            }
        }

        public bool TryReset()
        {
            _core.Reset();
            (_completed, Item) = (0, null!);
            return true;
        }

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);
        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }

    /// <summary>Queues an item; the ValueTask (await it once) completes with its sequence number once it is on disk.</summary>
    public ValueTask<long> AppendAsync(WriteItem item)
    {
        var pending = Pending.For(item);
        if (!_queue.Writer.TryWrite(pending))
            return WaitForRoom(pending);
        return pending.Done;
    }

    private async ValueTask<long> WaitForRoom(Pending pending)
    {
        await _queue.Writer.WriteAsync(pending);
        return await pending.Done;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _nextSeq = await _store.LastSeqAsync(cancellationToken) + 1;
        _thread = new Thread(Run) { Name = "tailor-group-commit", IsBackground = true };
        _thread.Start();
        // Its own thread: a pass blocks on the disk for a good part of a second under load.
        _maintenance = new Thread(MaintainEverySecond) { Name = "tailor-log-maintenance", IsBackground = true };
        _maintenance.Start();
    }

    private void MaintainEverySecond()
    {
        while (!_stopping.Token.WaitHandle.WaitOne(TimeSpan.FromSeconds(1))) Maintain();
    }

    private void Maintain()
    {
        try
        {
            _store.Maintain();
        }
        catch (Exception ex)
        {
            LogMaintenanceFailed(ex);
        }
    }

    [LoggerMessage(EventId = 1402, Level = LogLevel.Warning, Message = "Event log maintenance (checkpoint) failed; it is retried")]
    private partial void LogMaintenanceFailed(Exception ex);

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping.Cancel();
        _queue.Writer.TryComplete();
        _maintenance?.Join(TimeSpan.FromSeconds(10));
        _thread?.Join(TimeSpan.FromSeconds(10));
        return Task.CompletedTask;
    }

    private void Run()
    {
        var batch = new List<Pending>(_maxBatch);
        var items = new List<WriteItem>(_maxBatch);
        var reader = _queue.Reader;
        while (WaitToRead(reader))
        {
            WaitForMoreAppends(reader, batch.Count);
            batch.Clear();
            items.Clear();
            while (batch.Count < _maxBatch && reader.TryRead(out var pending))
            {
                batch.Add(pending);
                items.Add(pending.Item);
            }
            if (batch.Count == 0) continue;
            var started = Stopwatch.GetTimestamp();
            if (TryCommit(batch, items) is not { } pages) continue;
            var committed = Stopwatch.GetTimestamp();
            Record(batch, started, committed, pages);
            // Only after a commit that succeeded, and last: an append is completed once, and then its item
            // is its caller's again and the append object another append's.
            for (var i = 0; i < batch.Count; i++) batch[i].Complete(_nextSeq + i);
            _nextSeq += batch.Count;
        }
    }

    /// <summary>
    /// At moderate load (the last batch had <see cref="Hosting.TailorOptions.GroupCommitDelayAfter"/> appends
    /// or more, fewer than <see cref="Hosting.TailorOptions.GroupCommitDelayBelow"/> are queued), waits up to
    /// <see cref="Hosting.TailorOptions.GroupCommitDelay"/> for more. At 70% of the maximum the log's writer
    /// spent ~25 µs of CPU per call against ~14 at full load: a commit costs about the same however few
    /// calls it carries, and at that rate it carried a few dozen. Sleeps of 1 ms: waking to check sooner
    /// would cost the CPU the wait is there to save.
    /// </summary>
    private void WaitForMoreAppends(ChannelReader<Pending> reader, int lastBatch)
    {
        if (_delay <= 0 || lastBatch < _delayAfter || reader.Count >= _delayBelow) return;
        var until = Stopwatch.GetTimestamp() + _delay;
        do Thread.Sleep(1);
        while (reader.Count < _delayBelow && Stopwatch.GetTimestamp() < until && !_stopping.IsCancellationRequested);
    }

    /// <summary>
    /// Blocks the writer thread until an append is queued (true) or the queue is completed (false).
    /// Blocking on <c>WaitToReadAsync().AsTask()</c> made a task, its value-task wrapper and an event for
    /// every wait, which at moderate load is every batch.
    /// </summary>
    private bool WaitToRead(ChannelReader<Pending> reader)
    {
        // What await does, by hand on a thread that blocks: the result is read once, after completion.
#pragma warning disable CA2012
        var waiting = reader.WaitToReadAsync();
#pragma warning restore CA2012
        if (waiting.IsCompleted) return waiting.Result;
        _wake.Reset();
        var awaiter = waiting.GetAwaiter();
        awaiter.UnsafeOnCompleted(_wakeUp);
        _wake.Wait();
        return awaiter.GetResult();
    }

    /// <summary>Commits the batch and returns the pages it wrote; when that fails, its appends one by one (completing or failing each), and returns null.</summary>
    private int? TryCommit(List<Pending> batch, List<WriteItem> items)
    {
        try
        {
            return _store.CommitBatch(items, _nextSeq);
        }
        catch (Exception ex) when (batch.Count > 1)
        {
            // One item may be at fault: commit them one by one so that the others still land.
            _logger.LogWarning(ex, "Committing a batch of {Count} events failed; retrying them one by one", batch.Count);
            foreach (var pending in batch) CommitOne(pending);
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Committing an event failed; it was not acknowledged");
            batch[0].Fail(new EventLogUnavailableException(ex));
        }
        return null;
    }

    private void Record(List<Pending> batch, long started, long committed, int pages)
    {
        var events = batch.Count;
        var elapsedTicks = committed - started;
        BatchSize.Record(events);
        PagesWritten.Add(pages);
        CommitTime.Record(Stopwatch.GetElapsedTime(started, committed).TotalMilliseconds);
        if (AppendTime.Enabled)
            foreach (var pending in batch) AppendTime.Record(Stopwatch.GetElapsedTime(pending.Queued, committed).TotalMilliseconds);
        _windowEvents += events;
        _windowBatches++;
        _windowTicks += elapsedTicks;
        _windowPages += pages;
        if (Stopwatch.GetElapsedTime(_windowStart).TotalSeconds < 10) return;
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            var commitMs = Stopwatch.GetElapsedTime(0, _windowTicks).TotalMilliseconds;
            LogWindow(_windowEvents, _windowBatches, (double)_windowEvents / _windowBatches, commitMs / _windowBatches, commitMs * 1000 / _windowEvents,
                (double)_windowPages / _windowEvents);
        }
        (_windowEvents, _windowBatches, _windowTicks, _windowPages, _windowStart) = (0, 0, 0, 0, Stopwatch.GetTimestamp());
    }

    [LoggerMessage(EventId = 1401, Level = LogLevel.Debug, Message = "Event log: {Events} events in {Batches} batches (mean {MeanBatch:F1} per batch, {MeanCommitMs:F2} ms per commit, {MicrosPerEvent:F1} µs per event, {PagesPerEvent:F2} pages written per event)")]
    private partial void LogWindow(long events, long batches, double meanBatch, double meanCommitMs, double microsPerEvent, double pagesPerEvent);

    private void CommitOne(Pending pending)
    {
        try
        {
            PagesWritten.Add(_store.CommitBatch([pending.Item], _nextSeq));
            pending.Complete(_nextSeq++);
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Committing an event failed; it was not acknowledged");
            pending.Fail(new EventLogUnavailableException(ex));
        }
    }

    public void Dispose()
    {
        // Cancelled, not disposed (nor _wake): the maintenance thread may still be waiting on its handle, the writer on _wake.
        _stopping.Cancel();
        _queue.Writer.TryComplete();
    }
}

/// <summary>The log could not commit (disk full, I/O error): the call is not acknowledged.</summary>
public sealed class EventLogUnavailableException(Exception inner) : Exception("The event log could not commit the event.", inner);
