namespace Tailor.Server.Apis;

/// <summary>
/// A personalization call's answer: its JSON bytes, written as they are. Results.Bytes would do the
/// same, but resolves a logger from the request's services, which makes a DI scope for every call; and
/// written by the handler itself, the answer needs no result object.
/// </summary>
internal static class OffersAnswer
{
    public static ValueTask WriteAsync(HttpResponse response, byte[] json)
    {
        response.ContentType = "application/json";
        response.ContentLength = json.Length;
        var written = response.BodyWriter.WriteAsync(json);
        if (!written.IsCompletedSuccessfully) return new ValueTask(written.AsTask());
        _ = written.Result;
        return ValueTask.CompletedTask;
    }
}
