"""Splits `perf script -F comm,ip,sym,dso` output (samples with call chains, leaf first) of the Tailor
server into the parts of a call: each sample goes to the first rule that matches it, in this order.

    perf script -i perf.data -F comm,ip,sym,dso | python3 profile-split.py
"""
import collections
import re
import sys

GENERIC = {"unknown", "Optimized", "OptimizedTier1", "Tier0", "Tier1", "InstrumentedTier", "System.Private.CoreLib",
           "System.Runtime", "System.Collections", "System.Collections.Concurrent", "System.Linq", "System.Memory",
           "System.Threading"}


def classify(comm, frames):
    chain = "\n".join(frames)
    if comm.startswith("tailor-group"):
        return "event log: the writer thread (SQLite commit, WAL writes, fsync)"
    if comm.startswith("tailor-write"):
        return "write-behind thread (profile tables, their checkpoint)"
    # The log's maintenance thread (tailor-log-maintenance; perf keeps 15 characters of the name). Its
    # chains often end in SQLite's frames, which perf cannot unwind past, so the name decides.
    if comm.startswith("tailor-log-main"):
        return "event log: checkpoint (WAL into the database file, its fsync)"
    if "Server GC" in comm or "Background GC" in comm:
        return "GC threads"
    if "SqliteStore::Maintain" in chain or "__x64_sys_fsync" in chain:
        return "event log: checkpoint (WAL into the database file, its fsync)"
    if re.search(r"__x64_sys_(sendto|recvfrom|epoll_wait|sendmsg|recvmsg|writev|readv)\b", chain):
        return "HTTP: socket system calls"
    if "__x64_sys_pread64" in chain or "libe_sqlite3" in chain:
        return "activation reads (SQLite, pread)"
    # The first managed frame from the leaf that names an assembly more specific than the base library.
    for frame in frames:
        match = re.search(r"\[([A-Za-z0-9_.]+)\] ", frame)
        if not match or match.group(1) in GENERIC:
            continue
        assembly = match.group(1)
        if assembly.startswith("Orleans"):
            return "Orleans (grain calls: messages, scheduling)"
        if assembly.startswith(("Microsoft.AspNetCore", "System.Net", "System.IO.Pipelines", "Microsoft.Extensions")):
            return "HTTP: Kestrel, routing, results"
        if assembly == "System.Text.Json":
            return "JSON (System.Text.Json)"
        if assembly == "Tailor.Core":
            return "engine (Tailor.Core: event, profile, segments, offers, snapshots)"
        if assembly.startswith("Tailor.Storage") or "Sqlite" in assembly:
            return "activation reads (SQLite, pread)"
        if assembly == "Tailor.Server":
            return "grains (stitching, profile partitions)" if ".Grains." in frame else "request handler and ingest"
        if "Cryptography" in assembly:
            return "HMAC and hashing"
        return "other managed code"
    if "libcrypto" in chain:
        return "HMAC and hashing"
    if "libcoreclr" in chain:
        return "runtime, native (allocation, stubs, JIT, thread pool)"
    if "kallsyms" in chain:
        return "kernel, other (scheduling, page faults, interrupts)"
    return "other native code"


def main():
    parts = collections.Counter()
    comm, frames = None, []
    for line in sys.stdin:
        if not line.strip():
            if comm is not None:
                parts[classify(comm, frames)] += 1
            comm, frames = None, []
        elif not line.startswith("\t"):
            comm = line.strip()
        else:
            frames.append(line.strip())
    if comm is not None:
        parts[classify(comm, frames)] += 1
    total = sum(parts.values())
    if total == 0:
        sys.exit("no samples (is perf allowed to sample the process?)")
    print(f"{total} samples of the server process")
    for part, count in parts.most_common():
        print(f"{100 * count / total:5.1f}%  {part}")


main()
