using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using Microsoft.Extensions.ObjectPool;

namespace Tailor.Server.Threading;

/// <summary>
/// An async method builder for <see cref="ValueTask{TResult}"/> methods whose state machines, once a
/// method awaits, live in boxes taken from a pool shared by all threads and returned when the caller has
/// read the result. The runtime's <see cref="PoolingAsyncValueTaskMethodBuilder{TResult}"/> does the same
/// with one box per thread and one per core: a personalization call waits for its group commit, and a
/// commit answers tens of calls at once, so most of their boxes found those slots full and were
/// dropped, and the next calls allocated new ones (docs/performance.md, "3 December, seventh session").
/// Semantics are the runtime builder's: the caller's execution context flows into the continuation,
/// the result is read once (await it once, or AsTask once), an exception thrown before the first await
/// is carried by the returned ValueTask.
/// </summary>
public struct PooledValueTaskMethodBuilder<TResult>
{
    /// <summary>Boxes kept per state machine type: more than the calls that wait at once in a loaded server.</summary>
    internal const int PoolSize = 1024;

    private PooledBox<TResult>? _box;
    private TResult _result;
    private Exception? _error;

    public static PooledValueTaskMethodBuilder<TResult> Create() => default;

    public void Start<TStateMachine>(ref TStateMachine stateMachine) where TStateMachine : IAsyncStateMachine =>
        // Stateless: the runtime's start, which restores the caller's contexts after the first step.
        default(AsyncValueTaskMethodBuilder<TResult>).Start(ref stateMachine);

    public void SetStateMachine(IAsyncStateMachine stateMachine)
    {
    }

    public ValueTask<TResult> Task =>
        _box is { } box ? new ValueTask<TResult>(box, box.Version)
        : _error is { } error ? ValueTask.FromException<TResult>(error)
        : new ValueTask<TResult>(_result);

    public void SetResult(TResult result)
    {
        if (_box is { } box) box.SetResult(result);
        else _result = result;
    }

    public void SetException(Exception exception)
    {
        if (_box is { } box) box.SetException(exception);
        else _error = exception;
    }

    public void AwaitOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : INotifyCompletion where TStateMachine : IAsyncStateMachine =>
        awaiter.OnCompleted(Box(ref stateMachine).MoveNextAction);

    public void AwaitUnsafeOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : ICriticalNotifyCompletion where TStateMachine : IAsyncStateMachine =>
        awaiter.UnsafeOnCompleted(Box(ref stateMachine).MoveNextAction);

    /// <summary>The method's box, taken from the pool at its first await (the state machine moves into it) and kept for the rest of the call.</summary>
    private PooledBox<TResult> Box<TStateMachine>(ref TStateMachine stateMachine) where TStateMachine : IAsyncStateMachine
    {
        var context = ExecutionContext.Capture();
        if (_box is StateMachineBox<TResult, TStateMachine> running)
        {
            running.Context = context;
            return running;
        }
        var box = StateMachineBox<TResult, TStateMachine>.Rent();
        // The builder is a field of the state machine: it knows its box before the machine is copied into it.
        _box = box;
        box.StateMachine = stateMachine;
        box.Context = context;
        return box;
    }
}

/// <summary>The awaitable part of a <see cref="PooledValueTaskMethodBuilder{TResult}"/> box: the result, read once, after which the box is reused.</summary>
public abstract class PooledBox<TResult> : IValueTaskSource<TResult>
{
    private ManualResetValueTaskSourceCore<TResult> _core;

    /// <summary>Resumes the state machine (the continuation of each await).</summary>
    public Action MoveNextAction { get; protected init; } = null!;

    public short Version => _core.Version;

    public void SetResult(TResult result) => _core.SetResult(result);

    public void SetException(Exception error) => _core.SetException(error);

    public TResult GetResult(short token)
    {
        // Read too early, the box must not go back to the pool under a state machine that will still run.
        if (_core.GetStatus(token) == ValueTaskSourceStatus.Pending) throw new InvalidOperationException("The async method has not completed.");
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            _core.Reset();
            Return();
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    /// <summary>Drops the finished state machine and puts the box back in its pool.</summary>
    protected abstract void Return();
}

internal sealed class StateMachineBox<TResult, TStateMachine> : PooledBox<TResult>, IResettable
    where TStateMachine : IAsyncStateMachine
{
    private static readonly ObjectPool<StateMachineBox<TResult, TStateMachine>> Pool =
        new DefaultObjectPool<StateMachineBox<TResult, TStateMachine>>(
            new DefaultPooledObjectPolicy<StateMachineBox<TResult, TStateMachine>>(), PooledValueTaskMethodBuilder<TResult>.PoolSize);

    private static readonly ContextCallback MoveNextInContext = static box => ((StateMachineBox<TResult, TStateMachine>)box!).StateMachine!.MoveNext();

    public TStateMachine? StateMachine;
    public ExecutionContext? Context;

    public StateMachineBox() => MoveNextAction = MoveNext;

    public static StateMachineBox<TResult, TStateMachine> Rent() => Pool.Get();

    private void MoveNext()
    {
        if (Context is { } context) ExecutionContext.Run(context, MoveNextInContext, this);
        else StateMachine!.MoveNext();
    }

    protected override void Return() => Pool.Return(this);

    public bool TryReset()
    {
        StateMachine = default;
        Context = null;
        return true;
    }
}
