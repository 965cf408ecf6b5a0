using Tailor.Core.Lookup;

namespace Tailor.Core.Tests;

/// <summary>Lookup identifiers: normalisation, hashes in either case, name + postal, and what makes a record invalid.</summary>
public sealed class LookupIdentifierTests
{
    private static IReadOnlyList<LookupKey> Keys(params (string Name, string Value)[] fields) =>
        LookupIdentifiers.KeysOf(name => fields.FirstOrDefault(f => f.Name == name).Value);

    // md5("john.doe@example.com") and friends, computed independently.
    private const string Md5 = "8eb1b522f60d11fa897de1dc6351b7e8";

    [Theory]
    [InlineData("john.doe@example.com")]
    [InlineData("  John.Doe@Example.COM ")]
    public void An_email_is_trimmed_lower_cased_and_looked_up_by_its_md5(string email) =>
        Assert.Equal([new LookupKey(LookupKeyKind.EmailMd5, Md5)], Keys(("email", email)));

    [Fact]
    public void A_hashed_email_is_accepted_in_either_case_and_matches_the_plain_one()
    {
        Assert.Equal([new LookupKey(LookupKeyKind.EmailMd5, Md5)], Keys(("md5_email", Md5.ToUpperInvariant())));
        Assert.Equal([new LookupKey(LookupKeyKind.EmailMd5, Md5)], Keys(("email", "john.doe@example.com"), ("md5_email", Md5)));
        var stored = LookupIdentifiers.IndexKeys("John.Doe@example.com", null, null, null, null, null, null);
        Assert.Equal([LookupKeyKind.EmailMd5, LookupKeyKind.EmailSha1, LookupKeyKind.EmailSha256], stored.Select(k => k.Kind));
        Assert.Equal(Md5, stored[0].Value);
        Assert.Contains(stored[1], Keys(("sha1_email", stored[1].Value.ToUpperInvariant())));
        Assert.Contains(stored[2], Keys(("sha256_email", stored[2].Value)));
    }

    [Theory]
    [InlineData("email", "not-an-email")]
    [InlineData("email", "a@b")]
    [InlineData("email", "")]
    [InlineData("md5_email", "8eb1b522f60d11fa897de1dc6351b7e")]
    [InlineData("md5_email", "zzb1b522f60d11fa897de1dc6351b7e8")]
    [InlineData("sha1_email", "8eb1b522f60d11fa897de1dc6351b7e8")]
    [InlineData("first", "John")]
    [InlineData("zip", "94105")]
    public void A_person_with_only_an_invalid_or_partial_identifier_has_no_key(string field, string value) =>
        Assert.Empty(Keys((field, value)));

    [Fact]
    public void An_invalid_email_beside_a_valid_name_and_zip_still_finds_the_person()
    {
        var keys = Keys(("email", "broken@"), ("first", "John"), ("last", "Doe"), ("zip4", "94105-0123"));
        Assert.Equal([new LookupKey(LookupKeyKind.NameZip, "john|doe|94105")], keys);
    }

    [Fact]
    public void Name_and_postal_give_both_keys_normalised_email_first()
    {
        var keys = Keys(("email", "john.doe@example.com"), ("first", " JOHN "), ("middle", "Q"), ("last", "O'Doe"),
            ("street", "123  Main St."), ("city", "San Francisco"), ("state", "CA"), ("zip", "94105"));
        Assert.Equal(
            [
                new LookupKey(LookupKeyKind.EmailMd5, Md5),
                new LookupKey(LookupKeyKind.NameAddress, "john|o doe|123 main st|san francisco|ca"),
                new LookupKey(LookupKeyKind.NameZip, "john|o doe|94105"),
            ],
            keys);
    }

    [Theory]
    [InlineData("Cal")]
    [InlineData("C1")]
    public void A_state_must_be_two_letters(string state) =>
        Assert.DoesNotContain(Keys(("first", "a"), ("last", "b"), ("street", "1 x"), ("city", "y"), ("state", state)), k => k.Kind == LookupKeyKind.NameAddress);

    [Theory]
    [InlineData("9410", null)]
    [InlineData("94105-12", null)]
    [InlineData("94105-0123", "94105")]
    [InlineData(" 94105 ", "94105")]
    public void Zips_are_five_digits_or_zip_plus_four(string zip, string? expected) =>
        Assert.Equal(expected, LookupIdentifiers.NormalizeZip(zip));

    [Theory]
    [InlineData("email=john.doe@example.com")]
    [InlineData("email= John.Doe@EXAMPLE.com |md5_email=8EB1B522F60D11FA897DE1DC6351B7E8")]
    [InlineData("sha1_email=0123456789ABCDEF0123456789abcdef01234567|first=Jo|last=Doe|zip=94105-1234")]
    [InlineData("sha256_email=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("first=José|last=O'Neil|street=12 North Oak Road|city=San José|state=CA|zip=95112")]
    [InlineData("email=bad|md5_email=xyz|first=Al")]
    public void The_bulk_paths_index_keys_are_the_keys_of_the_identifiers(string fields)
    {
        var pairs = fields.Split('|').Select(f => f.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        string? Field(string name) => pairs.GetValueOrDefault(name);
        var fast = new List<UInt128>();
        LookupIdentifiers.AddIndexKeys(fast, Field("email"), Field("md5_email"), Field("sha1_email"), Field("sha256_email"),
            Field("first"), Field("last"), Field("street"), Field("city"), Field("state"), Field("zip"));
        Assert.Equal(LookupIdentifiers.KeysOf(Field).Select(k => k.ToIndexKey()), fast);
        // ...and an imported email is stored under the key a plain email looks up.
        if (LookupIdentifiers.NormalizeEmail(Field("email")) is { } email)
            Assert.Equal(LookupIdentifiers.EmailKeys(email).Select(k => k.ToIndexKey()),
                new[] { LookupKeyKind.EmailMd5, LookupKeyKind.EmailSha1, LookupKeyKind.EmailSha256 }.Select(kind => LookupKeyHash.EmailKey(email, kind)));
    }
}
