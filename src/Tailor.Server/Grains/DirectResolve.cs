namespace Tailor.Server.Grains;

/// <summary>A call's ID stitching run on its audience's identity grain here (<see cref="LocalGrains"/>).</summary>
internal sealed class DirectResolve : DirectCall<DirectResolve, StitchReply>
{
    private IdentityGrain _grain = null!;
    private IdentifierDto[] _identifiers = null!;
    private UInt128[] _hashes = null!;

    public static ValueTask<StitchReply?> Run(IdentityGrain grain, DirectCalls inbox, IdentifierDto[] identifiers, UInt128[] hashes)
    {
        var run = Rent();
        (run._grain, run._identifiers, run._hashes) = (grain, identifiers, hashes);
        return run.PostTo(inbox);
    }

    public override void Begin()
    {
        try
        {
            Complete(_grain.TryResolveHere(Inbox, _identifiers, _hashes));
        }
        catch (Exception error)
        {
            Fail(error);
        }
    }

    protected override void Clear() => (_grain, _identifiers, _hashes) = (null!, null!, null!);
}
