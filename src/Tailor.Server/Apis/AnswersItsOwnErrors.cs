namespace Tailor.Server.Apis;

/// <summary>
/// Endpoint metadata: the endpoint turns every exception into its answer itself (as
/// <see cref="ApiError.ForUnexpected"/> does, and logs it), so the exception handler middleware is not
/// put around it.
/// </summary>
public sealed class AnswersItsOwnErrors
{
    public static readonly AnswersItsOwnErrors Instance = new();

    private AnswersItsOwnErrors()
    {
    }
}
