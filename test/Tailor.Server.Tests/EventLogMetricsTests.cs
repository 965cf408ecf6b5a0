using System.Diagnostics.Metrics;
using System.Net;

namespace Tailor.Server.Tests;

/// <summary>The event log's metrics: what an operator reads to see where a call's durable write waits.</summary>
public sealed class EventLogMetricsTests
{
    [Fact]
    public async Task Every_committed_event_reports_how_long_its_append_waited()
    {
        await using var server = new TailorServerFactory();
        var account = await server.CreateAccountAsync();
        var appends = new List<double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Tailor.EventLog") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) =>
        {
            if (instrument.Name == "tailor.eventlog.append.duration") lock (appends) appends.Add(value);
        });
        listener.Start();

        for (var i = 0; i < 5; i++)
            Assert.Equal(HttpStatusCode.OK, (await account.PostEvent($$"""{"td_client_id":"metrics-{{i}}","td_path":"/retail/x"}""")).StatusCode);

        // At least one per call (other tests commit in parallel and the meter is process-wide).
        lock (appends)
        {
            Assert.True(appends.Count >= 5, $"{appends.Count} appends measured");
            Assert.All(appends, ms => Assert.True(ms >= 0));
        }
    }
}
