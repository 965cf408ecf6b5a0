namespace Tailor.Core.Configuration;

/// <summary>The documented limits of a configuration (../shared/spec/personalization-api.md, published figures).</summary>
public static class ConfigLimits
{
    public const int MaxAttributes = 200;
    public const int MaxTokensPerService = 50;
    public const int MaxListItems = 100;
    public const int MaxStitchingKeys = 100;
    public const int MaxKeyEvents = 64;
    public static readonly TimeSpan MaxListWindow = TimeSpan.FromDays(60);
    public static readonly TimeSpan MaxCounterWindow = TimeSpan.FromDays(366);
}
