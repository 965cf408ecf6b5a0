using System.Collections.Concurrent;

namespace Tailor.Server.Grains;

/// <summary>A call run on a grain directly (<see cref="DirectCall{TSelf, TResult}"/>), as its grain's inbox holds it.</summary>
internal abstract class DirectWork
{
    public const int Running = 0, Answered = 1, TimedOut = 2;

    /// <summary>When the call times out (<see cref="Environment.TickCount64"/>).</summary>
    public long DeadlineMs { get; set; }

    /// <summary><see cref="Running"/> until the call has its answer or has timed out; changed under its grain's lock only.</summary>
    public int State { get; set; }

    /// <summary>Runs on the grain's scheduler, and answers the call now or later.</summary>
    public abstract void Begin();

    /// <summary>Fails the call with a <see cref="TimeoutException"/>, once its state is <see cref="TimedOut"/>.</summary>
    public abstract void FailLate();
}

/// <summary>
/// A grain's inbox and bookkeeping of the calls it takes directly (<see cref="LocalGrains"/>). Calls are
/// posted from any thread and begun on the grain's scheduler, a burst of them in one work item (each
/// work item queued on an activation costs a task and, with Orleans' suppression of the caller's
/// execution context, two copies of that context). Orleans does not see those calls, so the grain asks
/// Orleans to keep it active while they come (it would otherwise be collected as idle under load), and
/// its deactivation refuses new ones and waits for those in flight before the activation goes.
/// </summary>
internal sealed class DirectCalls(IWorkItemScheduler scheduler, Action<TimeSpan> delayDeactivation, TimeSpan idleTimeout, TimeSpan timeout)
{
    /// <summary>Calls begun per work item at most, so that a long burst does not hold the grain's scheduler.</summary>
    private const int BurstLimit = 64;
    private static readonly Action<object?> DrainInbox = static calls => ((DirectCalls)calls!).Drain();

    private readonly ConcurrentQueue<DirectWork> _inbox = new();
    /// <summary>Calls posted and not answered yet, for their timeout.</summary>
    private readonly HashSet<DirectWork> _unanswered = new(ReferenceEqualityComparer.Instance);
    private readonly Lock _unansweredLock = new();
    /// <summary>1 while a work item is queued or running that will begin what the inbox holds.</summary>
    private int _draining;

    public TimeSpan Timeout => timeout;

    // On the grain's scheduler only:
    private int _inFlight;
    private bool _closing;
    private TaskCompletionSource? _drained;
    private long _keptAliveUntilMs;

    /// <summary>From any thread: the call will begin on the grain's scheduler.</summary>
    public void Post(DirectWork call)
    {
        call.DeadlineMs = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        lock (_unansweredLock) _unanswered.Add(call);
        _inbox.Enqueue(call);
        if (Interlocked.Exchange(ref _draining, 1) == 0) QueueDrain();
    }

    /// <summary>
    /// Queues the inbox's drain from an empty execution context: Orleans suppresses the caller's context
    /// when it queues a work item, which copies a context that holds anything (Kestrel's connection log
    /// scope): once for each of a personalization's two direct calls. The drain runs the grain's calls,
    /// which take nothing from the caller's context.
    /// </summary>
    private void QueueDrain()
    {
        var caller = ExecutionContext.Capture();
        if (caller is null || ReferenceEquals(caller, EmptyContext))
        {
            scheduler.QueueAction(DrainInbox, this);
            return;
        }
        ExecutionContext.Restore(EmptyContext);
        try
        {
            scheduler.QueueAction(DrainInbox, this);
        }
        finally
        {
            ExecutionContext.Restore(caller);
        }
    }

    /// <summary>The runtime's default context (no async-locals), as a thread started without the caller's has it.</summary>
    private static readonly ExecutionContext EmptyContext = CaptureEmpty();

    private static ExecutionContext CaptureEmpty()
    {
        ExecutionContext? empty = null;
        using (ExecutionContext.SuppressFlow())
        {
            var thread = new Thread(() => empty = ExecutionContext.Capture());
            thread.Start();
            thread.Join();
        }
        return empty ?? throw new InvalidOperationException("A thread started without a flowing context has none to capture.");
    }

    private void Drain()
    {
        for (var begun = 0; begun < BurstLimit && _inbox.TryDequeue(out var call); begun++) call.Begin();
        // A full fence (not a volatile write): the check below must not be read before the flag is cleared.
        // A call posted after the last dequeue may have seen the flag still set; then the check sees it.
        Interlocked.Exchange(ref _draining, 0);
        if (!_inbox.IsEmpty && Interlocked.Exchange(ref _draining, 1) == 0) QueueDrain();
    }

    /// <summary>
    /// From any thread: whether the call may take its answer now (false: it timed out). Its state changes
    /// under the lock the watchdog holds, so the watchdog never fails a call that has its answer (whose
    /// object may already serve another call).
    /// </summary>
    public bool TryAnswer(DirectWork call)
    {
        lock (_unansweredLock)
        {
            if (call.State != DirectWork.Running) return false;
            call.State = DirectWork.Answered;
            _unanswered.Remove(call);
            return true;
        }
    }

    /// <summary>From the watchdog (<see cref="LocalGrains"/>): fails the calls past their deadline, as Orleans does a grain call past its response timeout.</summary>
    public void TimeOutLate(long nowMs)
    {
        List<DirectWork>? late = null;
        lock (_unansweredLock)
        {
            foreach (var call in _unanswered)
                if (call.DeadlineMs <= nowMs) (late ??= []).Add(call);
            if (late is null) return;
            foreach (var call in late)
            {
                call.State = DirectWork.TimedOut;
                _unanswered.Remove(call);
            }
        }
        foreach (var call in late) call.FailLate();
    }

    /// <summary>A direct call begins (call <see cref="Exit"/> when it ends); false once the grain is being deactivated.</summary>
    public bool TryEnter()
    {
        if (_closing) return false;
        _inFlight++;
        // Renewed when a quarter of the time is left: one call in many pays for it.
        var now = Environment.TickCount64;
        if (now > _keptAliveUntilMs - (long)idleTimeout.TotalMilliseconds / 4)
        {
            delayDeactivation(idleTimeout);
            _keptAliveUntilMs = now + (long)idleTimeout.TotalMilliseconds;
        }
        return true;
    }

    public void Exit()
    {
        if (--_inFlight == 0) _drained?.TrySetResult();
    }

    /// <summary>From the grain's deactivation: no direct call starts any more; completes when none is in flight.</summary>
    public Task CloseAsync()
    {
        _closing = true;
        if (_inFlight == 0) return Task.CompletedTask;
        _drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return _drained.Task;
    }
}
