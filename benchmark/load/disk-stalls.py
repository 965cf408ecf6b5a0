#!/usr/bin/env python3
"""How long the disk takes to make a small write durable, over the given seconds.

`disk-stalls.py DIR SECONDS`: every 50 ms, overwrites 4 KiB of a 1 MiB file in DIR and fdatasyncs it
(a commit's smallest possible cost on that file system), then deletes the file. Its tail is the
disk's own: a virtual disk that holds its requests for 100 ms shows it here whatever the load, so a
durable server's p99.9 on this machine cannot be below it. Twenty small writes a second add nothing
measurable to a run. Prints one line, `disk_max=MS disk_p99=MS disk_count=N`.
"""
import os
import sys
import time

directory, seconds = sys.argv[1], float(sys.argv[2])
path = os.path.join(directory, f"disk-stalls.{os.getpid()}")
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
try:
    os.pwrite(fd, b"\0" * (1 << 20), 0)
    os.fsync(fd)
    block = os.urandom(4096)
    times = []
    end = time.monotonic() + seconds
    offset = 0
    while time.monotonic() < end:
        started = time.monotonic()
        os.pwrite(fd, block, offset)
        os.fdatasync(fd)
        times.append((time.monotonic() - started) * 1000)
        offset = (offset + 4096) % (1 << 20)
        time.sleep(0.05)
finally:
    os.close(fd)
    os.unlink(path)
times.sort()
p99 = times[min(len(times) - 1, int(len(times) * 0.99))] if times else 0.0
print(f"disk_max={max(times, default=0.0):.2f} disk_p99={p99:.2f} disk_count={len(times)}")
