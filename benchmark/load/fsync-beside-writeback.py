#!/usr/bin/env python3
"""How long a small fdatasync takes on this disk while another file's pages are written back.

The event log commits with one fsync of the WAL per batch; a WAL checkpoint writes the database's
pages back at random offsets. On a disk where a flush waits for those writes, the commits slow down
while they run.

    benchmark/load/fsync-beside-writeback.py [directory] [MiB of random pages]

Writes 4 KiB + fdatasync every 2 ms to one file: 5 s quiet, then beside another process writing a
file of twice the given size sequentially, then beside random 4 KiB overwrites of it (as a
checkpoint does), each ended by an fsync. Prints p50/p99/max of the fdatasync. Uses twice the given
size of temporary disk in the directory (default /tmp), removed after.
"""
import os
import random
import sys
import tempfile
import multiprocessing
import time

directory = sys.argv[1] if len(sys.argv) > 1 else "/tmp"
mib = int(sys.argv[2]) if len(sys.argv) > 2 else 240
page = 4096
pages = mib * 256


def measure(fd, seconds, label):
    latencies = []
    end = time.monotonic() + seconds
    block = b"x" * page
    i = 0
    while time.monotonic() < end:
        os.pwrite(fd, block, (i % 256) * page)
        i += 1
        started = time.perf_counter()
        os.fdatasync(fd)
        latencies.append((time.perf_counter() - started) * 1000)
        time.sleep(0.002)
    latencies.sort()
    print(f"{label}: {len(latencies)} fdatasyncs, p50 {latencies[len(latencies) // 2]:.2f} ms, "
          f"p99 {latencies[int(len(latencies) * 0.99)]:.2f} ms, max {latencies[-1]:.1f} ms")


def sequential(path):
    chunk = os.urandom(1 << 20)
    with open(path, "wb") as f:
        for _ in range(mib * 2):
            f.write(chunk)
        f.flush()
        os.fsync(f.fileno())


def scattered(path):
    fd = os.open(path, os.O_WRONLY)
    try:
        block = os.urandom(page)
        for _ in range(pages):
            os.pwrite(fd, block, random.randrange(mib * 2 * 256) * page)
        os.fsync(fd)
    finally:
        os.close(fd)


with tempfile.TemporaryDirectory(dir=directory) as temp:
    log = os.open(os.path.join(temp, "log"), os.O_WRONLY | os.O_CREAT, 0o644)
    other = os.path.join(temp, "pages")
    try:
        measure(log, 5, "quiet")
        for label, work in ((f"beside {mib * 2} MiB of sequential writes", sequential),
                            (f"beside {pages} random 4 KiB page writes", scattered)):
            # Another process, as the checkpoint is another thread: no lock shared with the measurement.
            worker = multiprocessing.Process(target=work, args=(other,))
            worker.start()
            measure(log, 8, label)
            worker.join()
    finally:
        os.close(log)
