#!/usr/bin/env python3
"""How late a thread that sleeps 1 ms wakes up, over the given seconds (default 10).

Run it at a real-time priority (`chrt -f 50 python3 wakeup-jitter.py 20`) to see the machine's own
stalls: the hypervisor taking the virtual CPU away, or the kernel not preempting a long system call
(a kernel built with preempt=none), which no process of the load can cause by competing for the CPU.
Prints one line, `wakeup_max=MS wakeup_over2=N wakeup_over5=N wakeup_count=N`: the worst delay
beyond the 1 ms asked for, how many sleeps came back more than 2 and 5 ms late, and how many there
were. Python's own overhead per sleep is ~0.05 ms.
"""
import sys
import time

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
end = time.monotonic() + seconds
worst = 0.0
over2 = over5 = count = 0
while time.monotonic() < end:
    asked = time.monotonic()
    time.sleep(0.001)
    late = (time.monotonic() - asked) * 1000 - 1.0
    worst = max(worst, late)
    over2 += late > 2
    over5 += late > 5
    count += 1
print(f"wakeup_max={worst:.2f} wakeup_over2={over2} wakeup_over5={over5} wakeup_count={count}")
