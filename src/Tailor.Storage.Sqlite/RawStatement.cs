using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Tailor.Storage.Sqlite;

/// <summary>
/// A statement prepared once on a connection and run through SQLite's C API, for the statements every
/// personalization call runs. Microsoft.Data.Sqlite allocates a binder per parameter and a reader per
/// execution, boxes every number and re-encodes every string; here binding a value allocates nothing
/// (text is encoded into a buffer of the statement's, which SQLite copies). Not thread-safe: one
/// statement belongs to the thread that uses its connection. Runs inside whatever transaction the
/// connection has open.
/// </summary>
internal sealed class RawStatement : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;
    private byte[] _text = new byte[256];

    public RawStatement(SqliteConnection connection, string sql)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("The connection is not open.");
        Check(raw.sqlite3_prepare_v2(_db, sql, out _statement));
    }

    public RawStatement Bind(int index, long value)
    {
        Check(raw.sqlite3_bind_int64(_statement, index, value));
        return this;
    }

    /// <summary>A GUID as the 16 big-endian bytes the tables store ids in.</summary>
    public RawStatement Bind(int index, Guid id)
    {
        Span<byte> bytes = stackalloc byte[16];
        id.TryWriteBytes(bytes, bigEndian: true, out _);
        return BindBlob(index, bytes);
    }

    public RawStatement Bind(int index, string text)
    {
        var length = Encoding.UTF8.GetMaxByteCount(text.Length);
        if (length > _text.Length) _text = new byte[Math.Max(length, _text.Length * 2)];
        return BindText(index, _text.AsSpan(0, Encoding.UTF8.GetBytes(text, _text)));
    }

    /// <summary>UTF-8 bytes stored as TEXT.</summary>
    public RawStatement BindText(int index, ReadOnlySpan<byte> utf8)
    {
        // An empty span has no address, and SQLite binds a null pointer as NULL.
        Check(utf8.IsEmpty ? raw.sqlite3_bind_text(_statement, index, "") : raw.sqlite3_bind_text(_statement, index, utf8));
        return this;
    }

    public RawStatement BindBlob(int index, ReadOnlySpan<byte> bytes)
    {
        Check(bytes.IsEmpty ? raw.sqlite3_bind_zeroblob(_statement, index, 0) : raw.sqlite3_bind_blob(_statement, index, bytes));
        return this;
    }

    public RawStatement BindNull(int index)
    {
        Check(raw.sqlite3_bind_null(_statement, index));
        return this;
    }

    /// <summary>Runs a statement that returns no rows.</summary>
    public void Run()
    {
        var result = raw.sqlite3_step(_statement);
        raw.sqlite3_reset(_statement);
        if (result is not (raw.SQLITE_DONE or raw.SQLITE_ROW)) SqliteException.ThrowExceptionForRC(result, _db);
    }

    /// <summary>Runs a query for its first row and maps it (null when there is none).</summary>
    public T? First<T>(Func<RawStatement, T> map)
    {
        try
        {
            var result = raw.sqlite3_step(_statement);
            if (result == raw.SQLITE_ROW) return map(this);
            if (result != raw.SQLITE_DONE) SqliteException.ThrowExceptionForRC(result, _db);
            return default;
        }
        finally
        {
            raw.sqlite3_reset(_statement);
        }
    }

    /// <summary>Runs a query for its first row and hands that row's blob column to <paramref name="read"/> in SQLite's own memory (false when there is no row).</summary>
    public bool TryFirstBlob<TArg>(int column, TArg arg, System.Buffers.ReadOnlySpanAction<byte, TArg> read)
    {
        try
        {
            var result = raw.sqlite3_step(_statement);
            if (result == raw.SQLITE_ROW)
            {
                read(raw.sqlite3_column_blob(_statement, column), arg);
                return true;
            }
            if (result != raw.SQLITE_DONE) SqliteException.ThrowExceptionForRC(result, _db);
            return false;
        }
        finally
        {
            raw.sqlite3_reset(_statement);
        }
    }

    /// <summary>Runs a query and hands each row to <paramref name="row"/> (read its columns from the statement during that call).</summary>
    public void ForEach<TArg>(TArg arg, Action<RawStatement, TArg> row)
    {
        try
        {
            int result;
            while ((result = raw.sqlite3_step(_statement)) == raw.SQLITE_ROW) row(this, arg);
            if (result != raw.SQLITE_DONE) SqliteException.ThrowExceptionForRC(result, _db);
        }
        finally
        {
            raw.sqlite3_reset(_statement);
        }
    }

    public long Int64(int column) => raw.sqlite3_column_int64(_statement, column);

    /// <summary>A blob or text column as SQLite holds it (valid until the statement moves on).</summary>
    public ReadOnlySpan<byte> Span(int column) => raw.sqlite3_column_blob(_statement, column);

    public byte[] Blob(int column) => raw.sqlite3_column_blob(_statement, column).ToArray();

    public Guid Id(int column) => new(raw.sqlite3_column_blob(_statement, column), bigEndian: true);

    private void Check(int result)
    {
        if (result != raw.SQLITE_OK) SqliteException.ThrowExceptionForRC(result, _db);
    }

    public void Dispose() => _statement.Dispose();
}
