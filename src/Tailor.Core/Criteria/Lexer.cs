using System.Globalization;
using System.Text;

namespace Tailor.Core.Criteria;

/// <summary>Hand-written lexer for the criteria language.</summary>
internal static class Lexer
{
    private static readonly Dictionary<string, TokenKind> Keywords = new(StringComparer.Ordinal)
    {
        ["and"] = TokenKind.And,
        ["or"] = TokenKind.Or,
        ["not"] = TokenKind.Not,
        ["in"] = TokenKind.In,
        ["is"] = TokenKind.Is,
        ["null"] = TokenKind.Null,
        ["true"] = TokenKind.True,
        ["false"] = TokenKind.False,
        ["contains"] = TokenKind.Contains,
        ["starts_with"] = TokenKind.StartsWith,
        ["ends_with"] = TokenKind.EndsWith,
        ["matches"] = TokenKind.Matches,
        ["within"] = TokenKind.Within,
    };

    public static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (true)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
            if (i >= text.Length)
            {
                tokens.Add(new Token(TokenKind.End, text.Length, 0, ""));
                return tokens;
            }
            var start = i;
            var c = text[i];
            switch (c)
            {
                case '(': tokens.Add(new Token(TokenKind.LParen, i++, 1, "(")); continue;
                case ')': tokens.Add(new Token(TokenKind.RParen, i++, 1, ")")); continue;
                case '[': tokens.Add(new Token(TokenKind.LBracket, i++, 1, "[")); continue;
                case ']': tokens.Add(new Token(TokenKind.RBracket, i++, 1, "]")); continue;
                case ',': tokens.Add(new Token(TokenKind.Comma, i++, 1, ",")); continue;
                case '=':
                    if (Peek(text, i + 1) == '=') { tokens.Add(new Token(TokenKind.Eq, i, 2, "==")); i += 2; continue; }
                    throw new RuleSyntaxException(i, "expected `==` (a single `=` is not an operator)");
                case '!':
                    if (Peek(text, i + 1) == '=') { tokens.Add(new Token(TokenKind.NotEq, i, 2, "!=")); i += 2; continue; }
                    throw new RuleSyntaxException(i, "expected `!=`; write `not` for negation");
                case '<':
                    if (Peek(text, i + 1) == '=') { tokens.Add(new Token(TokenKind.LtEq, i, 2, "<=")); i += 2; continue; }
                    tokens.Add(new Token(TokenKind.Lt, i++, 1, "<")); continue;
                case '>':
                    if (Peek(text, i + 1) == '=') { tokens.Add(new Token(TokenKind.GtEq, i, 2, ">=")); i += 2; continue; }
                    tokens.Add(new Token(TokenKind.Gt, i++, 1, ">")); continue;
                case '"' or '\'':
                    tokens.Add(ReadString(text, ref i));
                    continue;
            }
            if (char.IsAsciiDigit(c) || (c == '-' && char.IsAsciiDigit(Peek(text, i + 1))))
            {
                tokens.Add(ReadNumberOrDuration(text, ref i));
                continue;
            }
            if (char.IsAsciiLetter(c) || c == '_')
            {
                i++;
                while (i < text.Length && (IsNameChar(text[i]) || (text[i] == '.' && i + 1 < text.Length && IsNameChar(text[i + 1])))) i++;
                var word = text[start..i];
                tokens.Add(Keywords.TryGetValue(word, out var kind) ? new Token(kind, start, i - start, word) : new Token(TokenKind.Name, start, i - start, word));
                continue;
            }
            throw new RuleSyntaxException(i, $"unexpected character `{c}`");
        }
    }

    private static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';

    private static char Peek(string text, int i) => i < text.Length ? text[i] : '\0';

    private static Token ReadString(string text, ref int i)
    {
        var start = i;
        var quote = text[i++];
        var sb = new StringBuilder();
        while (true)
        {
            if (i >= text.Length) throw new RuleSyntaxException(start, "unterminated string: expected a closing " + (quote == '"' ? "`\"`" : "`'`"));
            var c = text[i++];
            if (c == quote) break;
            if (c == '\\')
            {
                if (i >= text.Length) throw new RuleSyntaxException(i - 1, "unterminated escape sequence");
                var e = text[i++];
                sb.Append(e switch
                {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    '\\' or '"' or '\'' => e,
                    _ => throw new RuleSyntaxException(i - 2, $"unknown escape `\\{e}`; expected \\\" \\' \\\\ \\n \\t or \\r"),
                });
                continue;
            }
            sb.Append(c);
        }
        return new Token(TokenKind.String, start, i - start, sb.ToString());
    }

    private static Token ReadNumberOrDuration(string text, ref int i)
    {
        var start = i;
        if (text[i] == '-') i++;
        while (i < text.Length && char.IsAsciiDigit(text[i])) i++;
        var isInteger = true;
        if (i < text.Length && text[i] == '.' && i + 1 < text.Length && char.IsAsciiDigit(text[i + 1]))
        {
            isInteger = false;
            i++;
            while (i < text.Length && char.IsAsciiDigit(text[i])) i++;
        }
        if (i < text.Length && (text[i] is 'e' or 'E'))
        {
            var save = i++;
            if (i < text.Length && text[i] is '+' or '-') i++;
            if (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                isInteger = false;
                while (i < text.Length && char.IsAsciiDigit(text[i])) i++;
            }
            else i = save;
        }
        if (i < text.Length && char.IsAsciiLetter(text[i]))
        {
            var unitStart = i;
            while (i < text.Length && IsNameChar(text[i])) i++;
            var written = text[start..i];
            if (isInteger && i - unitStart == 1 && Configuration.Duration.TryParse(written, out var duration))
                return new Token(TokenKind.Duration, start, i - start, written, Duration: duration);
            throw new RuleSyntaxException(start, $"`{written}` is neither a number nor a duration; durations are a positive whole number and one of s, m, h, d, w (e.g. 15m, 7d)");
        }
        var textValue = text[start..i];
        var number = double.Parse(textValue, NumberStyles.Float, CultureInfo.InvariantCulture);
        if (double.IsInfinity(number)) throw new RuleSyntaxException(start, $"number `{textValue}` is too large");
        return new Token(TokenKind.Number, start, i - start, textValue, number);
    }
}
