namespace Tailor.Server.Apis;

/// <summary>
/// A personalization call's answer: its JSON bytes, written as they are. Results.Bytes would do the
/// same, but resolves a logger from the request's services, which makes a DI scope for every call.
/// </summary>
internal sealed class OffersResult(byte[] json) : IResult
{
    public Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.ContentType = "application/json";
        response.ContentLength = json.Length;
        var written = response.BodyWriter.WriteAsync(json);
        return written.IsCompletedSuccessfully ? Task.CompletedTask : written.AsTask();
    }
}
