using Tailor.Core.Profiles;

namespace Tailor.Server.Grains;

/// <summary>
/// The identifiers of one profile in the identity index, stored in the index's dictionary itself: up to
/// two inline (most profiles have one or two), the rest in a list. A list per profile cost about 110
/// bytes per profile more, at a million profiles a tenth of the memory per profile.
/// </summary>
internal struct ProfileIdentifiers
{
    private Identifier _first, _second;
    private List<Identifier>? _more;

    public int Count { get; private set; }

    public void Add(Identifier identifier)
    {
        if (Count == 0) _first = identifier;
        else if (Count == 1) _second = identifier;
        else (_more ??= []).Add(identifier);
        Count++;
    }

    public void Remove(Identifier identifier)
    {
        var all = ToList();
        if (!all.Remove(identifier)) return;
        this = default;
        foreach (var kept in all) Add(kept);
    }

    public readonly List<Identifier> ToList()
    {
        var all = new List<Identifier>(Count);
        if (Count > 0) all.Add(_first);
        if (Count > 1) all.Add(_second);
        if (_more is not null) all.AddRange(_more);
        return all;
    }
}
