namespace Tailor.Core.Criteria;

internal enum TokenKind
{
    End,
    Name,
    String,
    Number,
    Duration,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    // keywords
    And,
    Or,
    Not,
    In,
    Is,
    Null,
    True,
    False,
    Contains,
    StartsWith,
    EndsWith,
    Matches,
    Within,
}

/// <summary>A token with its offset into the rule text.</summary>
internal readonly record struct Token(TokenKind Kind, int Offset, int Length, string Text, double Number = 0, TimeSpan Duration = default);
