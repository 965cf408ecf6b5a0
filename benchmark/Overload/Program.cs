// Drives closed-loop personalization calls over many connections for a while and reports, per outcome,
// how many and how fast: admitted (200), refused by a limit (429, with the codes), anything else.
//   dotnet Overload.dll URL WRITE_KEY TOKEN CONNECTIONS SECONDS
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;

var (url, key, token) = (args[0], args[1], args[2]);
var connections = int.Parse(args[3], CultureInfo.InvariantCulture);
var seconds = int.Parse(args[4], CultureInfo.InvariantCulture);
using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = connections, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
{
    BaseAddress = new Uri(url),
    Timeout = TimeSpan.FromSeconds(30),
};
var admitted = new List<double>[connections];
var refused = new List<double>[connections];
var codes = new Dictionary<string, int>[connections];
var others = new int[connections];
var stopAt = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
var started = Stopwatch.GetTimestamp();
await Task.WhenAll(Enumerable.Range(0, connections).Select(c => Task.Run(async () =>
{
    admitted[c] = [];
    refused[c] = [];
    codes[c] = [];
    var random = new Random(c);
    for (var i = 0; Stopwatch.GetTimestamp() < stopAt; i++)
    {
        var body = $$"""{"td_client_id":"visitor-{{random.Next(100_000)}}","td_path":"/retail/shoes","product_category":"women","product_name":"boots","td_title":"Boots","td_url":"https://shop.example.com/retail/shoes/boots-{{i}}","td_referrer":"https://shop.example.com/","td_language":"en-US"}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, "/demo_db/pageviews") { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = new("application/vnd.treasuredata.v1+json");
        request.Headers.TryAddWithoutValidation("Authorization", $"TD1 {key}");
        request.Headers.TryAddWithoutValidation("WP13n-Token", token);
        var t0 = Stopwatch.GetTimestamp();
        try
        {
            using var response = await http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            var ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            if (response.StatusCode == HttpStatusCode.OK) admitted[c].Add(ms);
            else if ((int)response.StatusCode == 429)
            {
                refused[c].Add(ms);
                var code = text.Contains("2003", StringComparison.Ordinal) ? "2003" : text.Contains("2013", StringComparison.Ordinal) ? "2013" : "429?";
                if (response.Headers.RetryAfter is null) code += " without Retry-After";
                codes[c][code] = codes[c].GetValueOrDefault(code) + 1;
            }
            else others[c]++;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            others[c]++;
        }
    }
}))).ConfigureAwait(false);
var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;

static string Percentiles(List<double> values)
{
    if (values.Count == 0) return "-";
    values.Sort();
    double At(double p) => values[Math.Min(values.Count - 1, (int)(p / 100 * values.Count))];
    return string.Create(CultureInfo.InvariantCulture, $"p50={At(50):F2} p99={At(99):F2} p999={At(99.9):F2}");
}

var allAdmitted = admitted.SelectMany(a => a).ToList();
var allRefused = refused.SelectMany(r => r).ToList();
var allCodes = codes.SelectMany(c => c).GroupBy(c => c.Key).Select(g => $"{g.Key}:{g.Sum(x => x.Value)}");
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"RESULT offered={(allAdmitted.Count + allRefused.Count + others.Sum()) / elapsed:F0} admitted={allAdmitted.Count / elapsed:F0} refused={allRefused.Count / elapsed:F0} other={others.Sum()} " +
    $"admitted_{Percentiles(allAdmitted).Replace(" ", " admitted_", StringComparison.Ordinal)} refused_{Percentiles(allRefused).Replace(" ", " refused_", StringComparison.Ordinal)} codes={string.Join(",", allCodes)}"));
