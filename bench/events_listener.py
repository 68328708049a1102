"""The PROCESS_LOG listener of measurement 13, written with
supervisor.childutils as its docs show: wait for an event, count it,
answer OK. Every 0.1 s (at the first event after) it appends
`NS EVENTS LINES` to the file argv[1]: CLOCK_MONOTONIC, the PROCESS_LOG
events and the lines in them so far."""
import sys
import time

from supervisor import childutils


def main():
    report = open(sys.argv[1], "a", buffering=1)
    events = lines = 0
    last = 0
    while True:
        headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)
        if headers["eventname"].startswith("PROCESS_LOG"):
            events += 1
            # The payload: its own header line, then the data.
            lines += payload.count("\n") - 1
        childutils.listener.ok(sys.stdout)
        now = time.monotonic_ns()
        if now - last >= 100_000_000:
            report.write(f"{now} {events} {lines}\n")
            last = now


if __name__ == "__main__":
    main()
