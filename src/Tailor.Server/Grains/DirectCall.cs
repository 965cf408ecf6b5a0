using System.Threading.Tasks.Sources;
using Microsoft.Extensions.ObjectPool;

namespace Tailor.Server.Grains;

/// <summary>
/// A call run on a grain activation of this silo without Orleans' messaging (see <see cref="LocalGrains"/>):
/// posted to the grain's <see cref="DirectCalls"/> inbox, whose work item on the activation's scheduler
/// runs <see cref="Begin"/> as a grain call's turn would, and
/// awaited by the caller as a ValueTask whose result is null when the grain declined (the caller then
/// goes through Orleans). The caller resumes on the thread pool, never inside the grain's turn: the
/// answer is handed over by the call object itself queued as the pool's work item (a continuation the
/// value-task core queued would be wrapped in a new work item for every call). Pooled:
/// once its caller has the result, the object serves a later call. Like a grain call, one not answered
/// within Orleans' response timeout fails with a <see cref="TimeoutException"/> (<see cref="DirectCalls.TimeOutLate"/>);
/// its work may still complete later, so that object is left to the GC instead of the pool.
/// </summary>
internal abstract class DirectCall<TSelf, TResult> : DirectWork, IValueTaskSource<TResult?>, IThreadPoolWorkItem, IResettable
    where TSelf : DirectCall<TSelf, TResult>, new()
    where TResult : struct
{
    private static readonly ObjectPool<TSelf> Pool = new DefaultObjectPool<TSelf>(new DefaultPooledObjectPolicy<TSelf>(), 4096);

    private ManualResetValueTaskSourceCore<TResult?> _core;
    private DirectCalls? _owner;
    private TResult? _result;
    private Exception? _error;

    protected static TSelf Rent() => Pool.Get();

    /// <summary>The inbox the call was posted to (its grain's, as <see cref="LocalGrains"/> holds it).</summary>
    protected DirectCalls Inbox => _owner!;

    /// <summary>Posts the call to the grain's inbox; the ValueTask (await it once) completes with its result.</summary>
    protected ValueTask<TResult?> PostTo(DirectCalls owner)
    {
        var done = new ValueTask<TResult?>(this, _core.Version);
        _owner = owner;
        owner.Post(this);
        return done;
    }

    /// <summary>Drops the call's references once it is done.</summary>
    protected abstract void Clear();

    /// <summary>Answers the call, unless it timed out before.</summary>
    protected void Complete(TResult? result)
    {
        if (_owner!.TryAnswer(this)) Answer(result, null);
    }

    /// <summary>Fails the call, unless it timed out before.</summary>
    protected void Fail(Exception error)
    {
        if (_owner!.TryAnswer(this)) Answer(null, error);
    }

    public override void FailLate() =>
        Answer(null, new TimeoutException($"A direct call to a grain was not answered within {_owner!.Timeout}."));

    private void Answer(TResult? result, Exception? error)
    {
        (_result, _error) = (result, error);
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: true);
    }

    /// <summary>On the thread pool: the caller's continuation runs here, off the grain's scheduler.</summary>
    void IThreadPoolWorkItem.Execute()
    {
        if (_error is { } error) _core.SetException(error);
        else _core.SetResult(_result);
    }

    /// <summary>The result, read once by the caller; then the object goes back to the pool.</summary>
    public TResult? GetResult(short token)
    {
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            // A call that timed out may still take its grain's answer later: its object is not reused.
            if (State != TimedOut) Pool.Return((TSelf)this);
        }
    }

    public bool TryReset()
    {
        _core.Reset();
        (State, _owner, _result, _error) = (Running, null, null, null);
        Clear();
        return true;
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);
    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
