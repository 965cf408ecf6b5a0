namespace Tailor.Storage;

/// <summary>
/// The store could not do what a read needed first (the embedded store: write its pending changes
/// behind before a scan, on a full or failing disk). Nothing committed is lost; retry later.
/// </summary>
public sealed class StorageUnavailableException : Exception
{
    public StorageUnavailableException() : base("The store is unavailable.") { }
    public StorageUnavailableException(string message) : base(message) { }
    public StorageUnavailableException(string message, Exception inner) : base(message, inner) { }
}
