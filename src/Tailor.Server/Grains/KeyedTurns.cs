using System.Runtime.InteropServices;

namespace Tailor.Server.Grains;

/// <summary>
/// Runs the calls for one key one at a time, in the order they arrive, inside a reentrant grain (whose
/// calls interleave wherever one awaits). Only the grain's own turns use it, so it needs no lock; a key
/// nobody waits for costs no allocation.
/// </summary>
internal sealed class KeyedTurns<TKey> where TKey : notnull
{
    /// <summary>The keys in use, each with the calls waiting for it (null while none waits).</summary>
    private readonly Dictionary<TKey, Queue<TaskCompletionSource>?> _busy = [];

    /// <summary>Completes when the caller has the key; it must call <see cref="Exit"/> once done.</summary>
    public ValueTask Enter(TKey key)
    {
        ref var waiting = ref CollectionsMarshal.GetValueRefOrAddDefault(_busy, key, out var busy);
        if (!busy) return ValueTask.CompletedTask;
        var turn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        (waiting ??= new Queue<TaskCompletionSource>()).Enqueue(turn);
        return new ValueTask(turn.Task);
    }

    /// <summary>Hands the key to the next waiting call, or frees it.</summary>
    public void Exit(TKey key)
    {
        if (_busy.TryGetValue(key, out var waiting) && waiting is { Count: > 0 })
            waiting.Dequeue().SetResult();
        else
            _busy.Remove(key);
    }

    public bool IsBusy(TKey key) => _busy.ContainsKey(key);
}
