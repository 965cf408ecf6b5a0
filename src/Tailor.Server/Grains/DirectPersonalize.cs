using System.Runtime.CompilerServices;

namespace Tailor.Server.Grains;

/// <summary>A profile's personalization run on its partition's activation here (<see cref="LocalGrains"/>).</summary>
internal sealed class DirectPersonalize : DirectCall<DirectPersonalize, PersonalizeReply>
{
    private readonly Action _finish;
    private ProfilePartitionGrain _grain = null!;
    private Guid _id;
    private PersonalizeCall _call = null!;
    private StitchReply _stitch;
    private ConfiguredValueTaskAwaitable<PersonalizeReply>.ConfiguredValueTaskAwaiter _running;

    public DirectPersonalize() => _finish = Finish;

    public static ValueTask<PersonalizeReply?> Run(ProfilePartitionGrain grain, DirectCalls inbox, Guid id, PersonalizeCall call, StitchReply stitch)
    {
        var run = Rent();
        (run._grain, run._id, run._call, run._stitch) = (grain, id, call, stitch);
        return run.PostTo(inbox);
    }

    public override void Begin()
    {
        if (!Inbox.TryEnter())
        {
            Complete(null);
            return;
        }
        try
        {
            // Consumed once: its awaiter's result is read in Finish.
#pragma warning disable CA2012
            _running = _grain.Personalize(_id, _call, _stitch).ConfigureAwait(false).GetAwaiter();
#pragma warning restore CA2012
        }
        catch (Exception error)
        {
            Inbox.Exit();
            Fail(error);
            return;
        }
        if (_running.IsCompleted) Finish();
        // Finishes where the grain's call completes: in its last turn, on the grain's scheduler (each of its
        // awaits resumes there). Without ConfigureAwait(false) the awaiter would queue one more task on that
        // scheduler to get there.
        else _running.UnsafeOnCompleted(_finish);
    }

    private void Finish()
    {
        Inbox.Exit();
        try
        {
            Complete(_running.GetResult());
        }
        catch (Exception error)
        {
            Fail(error);
        }
    }

    protected override void Clear() => (_grain, _call, _stitch, _running) = (null!, null!, default, default);
}
