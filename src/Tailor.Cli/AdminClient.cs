using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Tailor.Cli;

/// <summary>The admin API as the CLI uses it: one call per method, errors as <see cref="CliException"/>.</summary>
public sealed class AdminClient(HttpClient http, string? key, string? adminKey)
{
    public async Task<JsonElement> SendAsync(HttpMethod method, string path, HttpContent? content = null, bool admin = false, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        if (admin)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminKey ?? throw new CliException("this command needs the server administrator's key: --admin-key, TAILOR_ADMIN_KEY, or --data DIR (reads DIR/admin.key)"));
        else
            request.Headers.TryAddWithoutValidation("Authorization", $"TD1 {key ?? throw new CliException("this command needs the account's master key: --key or TAILOR_KEY")}");
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw new CliException($"cannot reach the server at {http.BaseAddress}: {ex.Message}{(ex.InnerException is { } inner ? " (" + inner.Message + ")" : "")}");
        }
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw new CliException(ErrorText(text, (int)response.StatusCode), text);
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    public async Task<string> GetTextAsync(string path, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("Authorization", $"TD1 {key ?? throw new CliException("this command needs the account's master key: --key or TAILOR_KEY")}");
        var response = await http.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return response.IsSuccessStatusCode ? text : throw new CliException(ErrorText(text, (int)response.StatusCode));
    }

    public static HttpContent Json(object body) => JsonContent.Create(body);

    public static HttpContent Text(string text, string mediaType) => new StringContent(text, Encoding.UTF8, mediaType);

    private static string ErrorText(string body, int status)
    {
        try
        {
            var json = JsonDocument.Parse(body).RootElement;
            return json.TryGetProperty("message", out var message) ? $"{message.GetString()} (HTTP {status}, code {json.GetProperty("code")})" : $"HTTP {status}: {body}";
        }
        catch (JsonException)
        {
            return $"HTTP {status}: {body}";
        }
    }
}

/// <summary>A failure to report to the user (exit code 1), never a stack trace.</summary>
public sealed class CliException(string message, string? body = null) : Exception(message)
{
    public string? Body { get; } = body;
}
