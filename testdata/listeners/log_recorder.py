"""A PROCESS_LOG listener written with supervisor.childutils as its docs
show: wait for an event (READY, header, payload), act on it, answer OK.
Appends the data of each PROCESS_LOG_STDOUT event to the file
argv[1].PROCESSNAME, and the event's payload header to
argv[1].PROCESSNAME.headers."""
import sys

from supervisor import childutils


def main():
    while True:
        headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)
        if headers["eventname"] == "PROCESS_LOG_STDOUT":
            pheaders, pdata = childutils.eventdata(payload)
            path = f"{sys.argv[1]}.{pheaders['processname']}"
            with open(path + ".headers", "a") as heads:
                heads.write(" ".join(f"{k}:{v}" for k, v in sorted(pheaders.items())) + "\n")
            with open(path, "a") as data:
                data.write(pdata)
        childutils.listener.ok(sys.stdout)


if __name__ == "__main__":
    main()
