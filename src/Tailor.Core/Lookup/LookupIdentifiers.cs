using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Tailor.Core.Lookup;

/// <summary>
/// The identifiers of a person in a lookup request (../shared/spec/lookup-api.md), validated and
/// normalised into index keys, most specific first: email (plain or hashed), then name + postal.
/// The same functions produce the keys stored for an imported profile, so both sides agree.
/// </summary>
public static partial class LookupIdentifiers
{
    [GeneratedRegex(@"^[^@\s""(),:;<>\[\]\\]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$")]
    private static partial Regex EmailPattern();

    [GeneratedRegex("^[0-9]{5}$")]
    private static partial Regex ZipPattern();

    [GeneratedRegex("^([0-9]{5})-[0-9]{4}$")]
    private static partial Regex Zip4Pattern();

    [GeneratedRegex("^[A-Za-z]{2}$")]
    private static partial Regex StatePattern();

    /// <summary>Trimmed and lower-cased, or null when not a syntactically valid address.</summary>
    public static string? NormalizeEmail(string? email)
    {
        if (email is null) return null;
        var normalized = email.Trim().ToLowerInvariant();
        return normalized.Length is > 0 and <= 254 && EmailPattern().IsMatch(normalized) ? normalized : null;
    }

    /// <summary>Lower-case hex when the text is hex of exactly <paramref name="bytes"/> bytes (either case), else null.</summary>
    public static string? NormalizeHex(string? hex, int bytes)
    {
        if (hex is null) return null;
        var text = hex.Trim();
        if (text.Length != bytes * 2) return null;
        foreach (var c in text)
            if (!char.IsAsciiHexDigit(c)) return null;
        return text.ToLowerInvariant();
    }

    /// <summary>
    /// USPS standard abbreviations of common street suffixes and directions, so that
    /// <c>12 Oak Road</c> and <c>12 Oak Rd.</c> are the same street.
    /// </summary>
    private static readonly Dictionary<string, string> StreetWords = new(StringComparer.Ordinal)
    {
        ["street"] = "st",
        ["avenue"] = "ave",
        ["av"] = "ave",
        ["road"] = "rd",
        ["boulevard"] = "blvd",
        ["drive"] = "dr",
        ["lane"] = "ln",
        ["court"] = "ct",
        ["place"] = "pl",
        ["square"] = "sq",
        ["terrace"] = "ter",
        ["parkway"] = "pkwy",
        ["highway"] = "hwy",
        ["circle"] = "cir",
        ["trail"] = "trl",
        ["way"] = "way",
        ["suite"] = "ste",
        ["apartment"] = "apt",
        ["north"] = "n",
        ["south"] = "s",
        ["east"] = "e",
        ["west"] = "w",
        ["northeast"] = "ne",
        ["northwest"] = "nw",
        ["southeast"] = "se",
        ["southwest"] = "sw",
    };

    /// <summary>A street: <see cref="NormalizeText"/> with suffixes and directions abbreviated the USPS way.</summary>
    public static string? NormalizeStreet(string? street) =>
        NormalizeText(street) is { } text ? string.Join(' ', text.Split(' ').Select(w => StreetWords.GetValueOrDefault(w, w))) : null;

    /// <summary>Names and street parts: lower case, letters and digits only, single spaces.</summary>
    public static string? NormalizeText(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var sb = new StringBuilder(text.Length);
        var space = false;
        foreach (var c in text.Normalize(NormalizationForm.FormKC).ToLowerInvariant())
        {
            if (char.IsLetterOrDigit(c))
            {
                if (space && sb.Length > 0) sb.Append(' ');
                sb.Append(c);
                space = false;
            }
            else space = true;
        }
        return sb.Length == 0 ? null : sb.ToString();
    }

    /// <summary>The three hashes of a (normalised) email, as stored in the index.</summary>
    public static IEnumerable<LookupKey> EmailKeys(string normalizedEmail)
    {
        var bytes = Encoding.UTF8.GetBytes(normalizedEmail);
        // MD5 and SHA-1 are how clients send hashed emails (the API's contract): identifiers, not security.
#pragma warning disable CA5351, CA5350
        yield return new LookupKey(LookupKeyKind.EmailMd5, Convert.ToHexStringLower(MD5.HashData(bytes)));
        yield return new LookupKey(LookupKeyKind.EmailSha1, Convert.ToHexStringLower(SHA1.HashData(bytes)));
#pragma warning restore CA5351, CA5350
        yield return new LookupKey(LookupKeyKind.EmailSha256, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    /// <summary>Name + postal keys: first+last+street+city+state and first+last+zip, when the parts are there and valid.</summary>
    public static IEnumerable<LookupKey> NameKeys(string? first, string? last, string? street, string? city, string? state, string? zip)
    {
        var f = NormalizeText(first);
        var l = NormalizeText(last);
        if (f is null || l is null) yield break;
        var s = NormalizeStreet(street);
        var c = NormalizeText(city);
        var st = state is not null && StatePattern().IsMatch(state.Trim()) ? state.Trim().ToLowerInvariant() : null;
        if (s is not null && c is not null && st is not null) yield return new LookupKey(LookupKeyKind.NameAddress, $"{f}|{l}|{s}|{c}|{st}");
        if (NormalizeZip(zip) is { } z) yield return new LookupKey(LookupKeyKind.NameZip, $"{f}|{l}|{z}");
    }

    /// <summary>A 5-digit zip from <c>94105</c> or <c>94105-0123</c>, else null.</summary>
    public static string? NormalizeZip(string? zip)
    {
        if (zip is null) return null;
        var text = zip.Trim();
        if (ZipPattern().IsMatch(text)) return text;
        var zip4 = Zip4Pattern().Match(text);
        return zip4.Success ? zip4.Groups[1].Value : null;
    }

    /// <summary>
    /// The keys to look a person up by, most specific first. Empty when the person has no usable
    /// identifier: the answer for that record is <c>{"error_code":400,"error_msg":"Invalid identifier."}</c>.
    /// An invalid identifier beside a valid one is ignored (more identifiers raise the match rate).
    /// </summary>
    public static IReadOnlyList<LookupKey> KeysOf(Func<string, string?> field)
    {
        var keys = new List<LookupKey>(3);
        if (NormalizeEmail(field("email")) is { } email) keys.Add(EmailKeys(email).First());
        if (NormalizeHex(field("md5_email"), 16) is { } md5) keys.Add(new LookupKey(LookupKeyKind.EmailMd5, md5));
        if (NormalizeHex(field("sha1_email"), 20) is { } sha1) keys.Add(new LookupKey(LookupKeyKind.EmailSha1, sha1));
        if (NormalizeHex(field("sha256_email"), 32) is { } sha256) keys.Add(new LookupKey(LookupKeyKind.EmailSha256, sha256));
        var zip = field("zip") ?? field("zip4");
        keys.AddRange(NameKeys(field("first"), field("last"), field("street"), field("city"), field("state"), zip));
        return keys.Distinct().ToList();
    }

    /// <summary>
    /// The same keys as <see cref="KeysOf"/>, straight as index keys (<see cref="LookupKeyHash.ToIndexKey"/>),
    /// appended to <paramref name="keys"/>: the bulk lookup's path, with no strings made for hashes.
    /// </summary>
    public static void AddIndexKeys(List<UInt128> keys, string? email, string? md5, string? sha1, string? sha256,
        string? first, string? last, string? street, string? city, string? state, string? zip)
    {
        var start = keys.Count;
        if (NormalizeEmail(email) is { } normalized) AddDistinct(keys, start, LookupKeyHash.EmailMd5Key(normalized));
        if (LookupKeyHash.HexKey(md5, 16, LookupKeyKind.EmailMd5) is { } m) AddDistinct(keys, start, m);
        if (LookupKeyHash.HexKey(sha1, 20, LookupKeyKind.EmailSha1) is { } s1) AddDistinct(keys, start, s1);
        if (LookupKeyHash.HexKey(sha256, 32, LookupKeyKind.EmailSha256) is { } s256) AddDistinct(keys, start, s256);
        if (first is not null && last is not null)
            foreach (var key in NameKeys(first, last, street, city, state, zip)) AddDistinct(keys, start, key.ToIndexKey());
    }

    private static void AddDistinct(List<UInt128> keys, int start, UInt128 key)
    {
        for (var i = start; i < keys.Count; i++)
            if (keys[i] == key) return;
        keys.Add(key);
    }

    /// <summary>The keys an imported profile is indexed under.</summary>
    public static IReadOnlyList<LookupKey> IndexKeys(string? email, string? first, string? last, string? street, string? city, string? state, string? zip)
    {
        var keys = new List<LookupKey>(5);
        if (NormalizeEmail(email) is { } normalized) keys.AddRange(EmailKeys(normalized));
        keys.AddRange(NameKeys(first, last, street, city, state, zip));
        return keys;
    }
}
