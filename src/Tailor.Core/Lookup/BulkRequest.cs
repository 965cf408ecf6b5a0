using System.Text.Json;

namespace Tailor.Core.Lookup;

/// <summary>
/// A bulk lookup body (a JSON array of people, ../shared/spec/lookup-api.md) reduced to what the
/// lookup needs: per person, the index keys to try in order (none: an invalid identifier).
/// </summary>
public sealed class BulkRequest
{
    private static readonly string[] Names = ["email", "md5_email", "sha1_email", "sha256_email", "first", "middle", "last", "street", "city", "state", "zip", "zip4"];

    private readonly List<UInt128> _keys = [];
    private readonly List<(int Start, int Count)> _people = [];

    public int Count => _people.Count;

    /// <summary>The keys of person <paramref name="index"/>, most specific first.</summary>
    public ReadOnlySpan<UInt128> KeysOf(int index)
    {
        var (start, count) = _people[index];
        return System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_keys).Slice(start, count);
    }

    public enum Outcome { Ok, InvalidJson, TooMany }

    /// <summary>Parses the body; <paramref name="requested"/> is the number of elements (counted to the end even past the limit).</summary>
    public static Outcome Parse(ReadOnlySpan<byte> body, int limit, out BulkRequest request, out long requested)
    {
        request = new BulkRequest();
        requested = 0;
        var values = new string?[Names.Length];
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray) return Outcome.InvalidJson;
            while (true)
            {
                if (!reader.Read()) return Outcome.InvalidJson;
                if (reader.TokenType == JsonTokenType.EndArray) break;
                if (reader.TokenType != JsonTokenType.StartObject) return Outcome.InvalidJson;
                requested++;
                if (requested > limit)
                {
                    reader.Skip();
                    continue;
                }
                Array.Clear(values);
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var slot = Slot(ref reader);
                    reader.Read();
                    if (slot >= 0 && reader.TokenType == JsonTokenType.String) values[slot] = reader.GetString();
                    else if (slot >= 0 && reader.TokenType == JsonTokenType.Number) values[slot] = System.Text.Encoding.UTF8.GetString(reader.ValueSpan);
                    else reader.Skip();
                }
                request.Add(values);
            }
            if (reader.Read()) return Outcome.InvalidJson; // something after the array
        }
        catch (JsonException)
        {
            return Outcome.InvalidJson;
        }
        return requested > limit ? Outcome.TooMany : Outcome.Ok;
    }

    private static int Slot(ref Utf8JsonReader reader)
    {
        for (var i = 0; i < Names.Length; i++)
            if (reader.ValueTextEquals(Names[i])) return i;
        return -1;
    }

    // Slots of Names.
    private const int Email = 0, Md5 = 1, Sha1 = 2, Sha256 = 3, First = 4, Last = 6, Street = 7, City = 8, State = 9, Zip = 10, Zip4 = 11;

    private void Add(string?[] values)
    {
        var start = _keys.Count;
        LookupIdentifiers.AddIndexKeys(_keys, values[Email], values[Md5], values[Sha1], values[Sha256],
            values[First], values[Last], values[Street], values[City], values[State], values[Zip] ?? values[Zip4]);
        _people.Add((start, _keys.Count - start));
    }

    /// <summary>One person from query-string parameters (the single lookup).</summary>
    public static IReadOnlyList<UInt128> KeysOfQuery(Func<string, string?> parameter)
    {
        var keys = new List<UInt128>(3);
        LookupIdentifiers.AddIndexKeys(keys, parameter("email"), parameter("md5_email"), parameter("sha1_email"), parameter("sha256_email"),
            parameter("first"), parameter("last"), parameter("street"), parameter("city"), parameter("state"), parameter("zip") ?? parameter("zip4"));
        return keys;
    }
}
