namespace Tailor.Core.Lookup;

/// <summary>How a person can be found in the lookup index.</summary>
public enum LookupKeyKind : byte
{
    /// <summary>MD5 hex of the normalised email (a plain email is looked up by it).</summary>
    EmailMd5,
    EmailSha1,
    EmailSha256,
    /// <summary>first + last + street + city + state, normalised.</summary>
    NameAddress,
    /// <summary>first + last + 5-digit zip, normalised.</summary>
    NameZip,
}

/// <summary>One key of the lookup index: a kind and its canonical value (lower-case hex, or normalised text).</summary>
public readonly record struct LookupKey(LookupKeyKind Kind, string Value)
{
    public override string ToString() => $"{Kind}:{Value}";
}
