namespace Tailor.Server.Grains;

/// <summary>
/// A grain's bookkeeping of the calls it takes directly (<see cref="LocalGrains"/>), used on its scheduler
/// only. Orleans does not see those calls, so the grain asks Orleans to keep it active while they come
/// (it would otherwise be collected as idle under load), and its deactivation refuses new ones and
/// waits for those in flight before the activation goes.
/// </summary>
internal sealed class DirectCalls(Action<TimeSpan> delayDeactivation, TimeSpan idleTimeout)
{
    private int _inFlight;
    private bool _closing;
    private TaskCompletionSource? _drained;
    private long _keptAliveUntilMs;

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
