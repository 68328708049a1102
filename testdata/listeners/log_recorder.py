"""A PROCESS_LOG listener written with supervisor.childutils as its docs
show: wait for an event (READY, header, payload), act on it, answer OK.
Appends the data of each PROCESS_LOG_STDOUT event to the file argv[1],
and the event's header line to argv[1].headers."""
import sys

from supervisor import childutils


def main():
    data = open(sys.argv[1], "a")
    heads = open(sys.argv[1] + ".headers", "a")
    while True:
        headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)
        if headers["eventname"] == "PROCESS_LOG_STDOUT":
            pheaders, pdata = childutils.eventdata(payload)
            heads.write(" ".join(f"{k}:{v}" for k, v in sorted(pheaders.items())) + "\n")
            heads.flush()
            data.write(pdata)
            data.flush()
        childutils.listener.ok(sys.stdout)


if __name__ == "__main__":
    main()
