namespace Tailor.Core.Criteria;

/// <summary>
/// Recursive-descent parser. Grammar (lowest precedence first):
/// <code>
/// rule      := or
/// or        := and ("or" and)*
/// and       := not ("and" not)*
/// not       := "not" not | predicate
/// predicate := operand [ ("=="|"!="|"&lt;"|"&lt;="|"&gt;"|"&gt;=") operand
///                      | ["not"] "in" list | "contains" operand | "starts_with" operand
///                      | "ends_with" operand | "matches" string | "is" ["not"] "null" | "within" duration ]
/// operand   := literal | list | name | name "(" [operand ("," operand)*] ")" | "(" or ")"
/// </code>
/// </summary>
internal sealed class Parser
{
    private readonly List<Token> _tokens;
    private int _position;

    private Parser(List<Token> tokens) => _tokens = tokens;

    /// <summary>Parses a rule, or throws <see cref="RuleSyntaxException"/> at the first syntax error.</summary>
    public static Expr Parse(string text)
    {
        var parser = new Parser(Lexer.Tokenize(text));
        if (parser.Current.Kind == TokenKind.End) throw new RuleSyntaxException(0, "the rule is empty; expected a condition such as `views.7d >= 3`");
        var expr = parser.ParseOr();
        if (parser.Current.Kind != TokenKind.End)
            throw new RuleSyntaxException(parser.Current.Offset, $"unexpected {Describe(parser.Current)}; expected `and`, `or` or the end of the rule");
        return expr;
    }

    private Token Current => _tokens[_position];

    private Token Advance() => _tokens[_position++];

    private bool Accept(TokenKind kind)
    {
        if (Current.Kind != kind) return false;
        _position++;
        return true;
    }

    private Token Expect(TokenKind kind, string expected)
    {
        if (Current.Kind != kind) throw new RuleSyntaxException(Current.Offset, $"expected {expected}, found {Describe(Current)}");
        return Advance();
    }

    private Expr ParseOr()
    {
        var left = ParseAnd();
        while (Current.Kind == TokenKind.Or)
        {
            Advance();
            left = new OrExpr(left.Offset, left, ParseAnd());
        }
        return left;
    }

    private Expr ParseAnd()
    {
        var left = ParseNot();
        while (Current.Kind == TokenKind.And)
        {
            Advance();
            left = new AndExpr(left.Offset, left, ParseNot());
        }
        return left;
    }

    private Expr ParseNot()
    {
        if (Current.Kind == TokenKind.Not)
        {
            var offset = Advance().Offset;
            return new NotExpr(offset, ParseNot());
        }
        return ParsePredicate();
    }

    private Expr ParsePredicate()
    {
        var left = ParseOperand();
        var op = Current;
        switch (op.Kind)
        {
            case TokenKind.Eq or TokenKind.NotEq or TokenKind.Lt or TokenKind.LtEq or TokenKind.Gt or TokenKind.GtEq:
                Advance();
                return new CompareExpr(op.Offset, ToCompareOp(op.Kind), left, ParseOperand());
            case TokenKind.In:
                Advance();
                return new InExpr(op.Offset, left, ParseList(), false);
            case TokenKind.Not:
                Advance();
                Expect(TokenKind.In, "`in` after `not` (as in `x not in [\"a\"]`)");
                return new InExpr(op.Offset, left, ParseList(), true);
            case TokenKind.Contains or TokenKind.StartsWith or TokenKind.EndsWith:
                Advance();
                return new TextExpr(op.Offset, op.Kind switch { TokenKind.Contains => TextOp.Contains, TokenKind.StartsWith => TextOp.StartsWith, _ => TextOp.EndsWith }, left, ParseOperand());
            case TokenKind.Matches:
                Advance();
                var pattern = Expect(TokenKind.String, "a regular expression in quotes after `matches`");
                return new TextExpr(op.Offset, TextOp.Matches, left, new LiteralExpr(pattern.Offset, Value.FromString(pattern.Text)));
            case TokenKind.Is:
                Advance();
                var negated = Accept(TokenKind.Not);
                Expect(TokenKind.Null, negated ? "`null` after `is not`" : "`null` or `not null` after `is`");
                return new IsNullExpr(op.Offset, left, negated);
            case TokenKind.Within:
                Advance();
                var period = Expect(TokenKind.Duration, "a duration such as 7d after `within`");
                return new WithinExpr(op.Offset, left, period.Duration);
            default:
                return left;
        }
    }

    private Expr ParseOperand()
    {
        var token = Current;
        switch (token.Kind)
        {
            case TokenKind.String: Advance(); return new LiteralExpr(token.Offset, Value.FromString(token.Text));
            case TokenKind.Number: Advance(); return new LiteralExpr(token.Offset, Value.FromNumber(token.Number));
            case TokenKind.Duration: Advance(); return new LiteralExpr(token.Offset, Value.FromNumber(token.Duration.TotalSeconds));
            case TokenKind.True: Advance(); return new LiteralExpr(token.Offset, Value.True);
            case TokenKind.False: Advance(); return new LiteralExpr(token.Offset, Value.False);
            case TokenKind.Null: Advance(); return new LiteralExpr(token.Offset, Value.Null);
            case TokenKind.LBracket: return ParseList();
            case TokenKind.LParen:
                Advance();
                var inner = ParseOr();
                Expect(TokenKind.RParen, "`)`");
                return inner;
            case TokenKind.Name:
                Advance();
                if (!Accept(TokenKind.LParen)) return new NameExpr(token.Offset, token.Text);
                var arguments = new List<Expr>();
                if (!Accept(TokenKind.RParen))
                {
                    do arguments.Add(ParseOperand());
                    while (Accept(TokenKind.Comma));
                    Expect(TokenKind.RParen, "`,` or `)` in the argument list");
                }
                return new CallExpr(token.Offset, token.Text, arguments);
            default:
                throw new RuleSyntaxException(token.Offset, $"expected a value, a name or `(`, found {Describe(token)}");
        }
    }

    private ListExpr ParseList()
    {
        var open = Expect(TokenKind.LBracket, "a list such as [\"a\", \"b\"]");
        var items = new List<LiteralExpr>();
        if (!Accept(TokenKind.RBracket))
        {
            do
            {
                var item = ParseOperand();
                if (item is not LiteralExpr literal)
                    throw new RuleSyntaxException(item.Offset, "list items must be literal values (text, numbers, true, false)");
                items.Add(literal);
            }
            while (Accept(TokenKind.Comma));
            Expect(TokenKind.RBracket, "`,` or `]` in the list");
        }
        return new ListExpr(open.Offset, items);
    }

    private static CompareOp ToCompareOp(TokenKind kind) => kind switch
    {
        TokenKind.Eq => CompareOp.Eq,
        TokenKind.NotEq => CompareOp.NotEq,
        TokenKind.Lt => CompareOp.Lt,
        TokenKind.LtEq => CompareOp.LtEq,
        TokenKind.Gt => CompareOp.Gt,
        _ => CompareOp.GtEq,
    };

    private static string Describe(Token token) => token.Kind switch
    {
        TokenKind.End => "the end of the rule",
        TokenKind.String => $"text \"{token.Text}\"",
        TokenKind.Name => $"name `{token.Text}`",
        _ => $"`{token.Text}`",
    };
}
