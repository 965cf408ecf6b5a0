using System.Threading.Tasks.Sources;
using Microsoft.Extensions.ObjectPool;

namespace Tailor.Server.Grains;

/// <summary>
/// A call run on a grain activation of this silo without Orleans' messaging (see <see cref="LocalGrains"/>):
/// posted to the grain's <see cref="DirectCalls"/> inbox, whose work item on the activation's scheduler
/// runs <see cref="Begin"/> as a grain call's turn would, and
/// awaited by the caller as a ValueTask whose result is null when the grain declined (the caller then
/// goes through Orleans). The caller resumes on the thread pool, never inside the grain's turn. Pooled:
/// once its caller has the result, the object serves a later call. Like a grain call, one not answered
/// within Orleans' response timeout fails with a <see cref="TimeoutException"/> (<see cref="DirectCalls.TimeOutLate"/>);
/// its work may still complete later, so that object is left to the GC instead of the pool.
/// </summary>
internal abstract class DirectCall<TSelf, TResult> : DirectWork, IValueTaskSource<TResult?>, IResettable
    where TSelf : DirectCall<TSelf, TResult>, new()
    where TResult : class
{
    private static readonly ObjectPool<TSelf> Pool = new DefaultObjectPool<TSelf>(new DefaultPooledObjectPolicy<TSelf>(), 4096);

    private ManualResetValueTaskSourceCore<TResult?> _core = new() { RunContinuationsAsynchronously = true };
    private const int Running = 0, Answered = 1, TimedOut = 2;
    private int _state;
    private DirectCalls? _grain;

    protected static TSelf Rent() => Pool.Get();

    /// <summary>Posts the call to the grain's inbox; the ValueTask (await it once) completes with its result.</summary>
    protected ValueTask<TResult?> PostTo(DirectCalls grain)
    {
        var done = new ValueTask<TResult?>(this, _core.Version);
        _grain = grain;
        grain.Post(this);
        return done;
    }

    /// <summary>Drops the call's references once it is done.</summary>
    protected abstract void Clear();

    protected void Complete(TResult? result)
    {
        if (Answer()) _core.SetResult(result);
    }

    protected void Fail(Exception error)
    {
        if (Answer()) _core.SetException(error);
    }

    /// <summary>Whether this is the call's answer (not one that comes after its timeout).</summary>
    private bool Answer()
    {
        if (Interlocked.CompareExchange(ref _state, Answered, Running) != Running) return false;
        _grain!.Answered(this);
        return true;
    }

    public override void TimeOut()
    {
        if (Interlocked.CompareExchange(ref _state, TimedOut, Running) == Running)
            _core.SetException(new TimeoutException($"A direct call to a grain was not answered within {_grain!.Timeout}."));
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
            if (Volatile.Read(ref _state) != TimedOut) Pool.Return((TSelf)this);
        }
    }

    public bool TryReset()
    {
        _core.Reset();
        (_state, _grain) = (Running, null);
        Clear();
        return true;
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);
    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
